#!/bin/sh
# The container's entrypoint. `serve` (the default command) starts the simulator with the
# container's settings; any other subcommand (`fault`, `listener`, `backend-json`, ...) runs as is.
#
# Settings, each an environment variable (a flag given after `serve` wins over it):
#   ONTAP_SIM_LISTEN          management (ZAPI, HTTPS)   default 0.0.0.0:8443
#   ONTAP_SIM_NFS_LISTEN      NFS v3 and MOUNT v3        default <the container's IP>:2049
#                             (data LIFs without an address take this IP, and NFS clients are
#                             accepted on a data LIF's address only, so 0.0.0.0 would not do)
#   ONTAP_SIM_PORTMAP_LISTEN  portmapper                 default 0.0.0.0:111; empty: none
#   ONTAP_SIM_ADMIN_LISTEN    control API                default 127.0.0.1:8081, or 0.0.0.0:8081
#                             when ONTAP_SIM_ADMIN_TOKEN is set; only loopback without a token
#   ONTAP_SIM_STATE_DIR       state dir (the volume)     default /var/lib/ontap-sim
#   ONTAP_SIM_CONFIG          topology file              default /etc/ontap-sim/topology.toml
#                             when it exists, else the built-in topology
#   ONTAP_SIM_ENTRYPOINT_DRY_RUN=1 prints the command, one argument a line, instead of running it.
set -eu

if [ "$#" -eq 0 ]; then
    set -- serve
fi
if [ "$1" != serve ]; then
    exec ontap-sim "$@"
fi
shift

# The flags given on the command line (without their values), and --admin-listen's value.
given=" "
admin_flag=""
prev=""
for arg in "$@"; do
    case $arg in
        --admin-listen=*) admin_flag=${arg#*=} ;;
    esac
    if [ "$prev" = --admin-listen ]; then
        admin_flag=$arg
    fi
    case $arg in
        --*) given="$given${arg%%=*} " ;;
    esac
    prev=$arg
done
is_given() {
    case $given in
        *" $1 "*) return 0 ;;
        *) return 1 ;;
    esac
}

# The container's own IPv4 address, as its host name resolves (Docker and Kubernetes both map
# the host name to the container's address in /etc/hosts).
container_ip() {
    name=$(cat /proc/sys/kernel/hostname 2>/dev/null || true)
    if [ -n "$name" ]; then
        for addr in $(getent ahostsv4 "$name" 2>/dev/null | cut -d' ' -f1); do
            case $addr in
                127.*) ;;
                *) echo "$addr"; return 0 ;;
            esac
        done
    fi
    echo "ontap-sim-entrypoint: cannot tell this container's address; NFS listens on 127.0.0.1 (set ONTAP_SIM_NFS_LISTEN)" >&2
    echo 127.0.0.1
}

token=${ONTAP_SIM_ADMIN_TOKEN:-}
if [ -n "$token" ]; then
    admin_default=0.0.0.0:8081
else
    admin_default=127.0.0.1:8081
fi
admin=${ONTAP_SIM_ADMIN_LISTEN:-$admin_default}
case ${admin_flag:-$admin} in
    127.*|\[::1\]:*|localhost:*) ;;
    *)
        if [ -z "$token" ]; then
            echo "ontap-sim-entrypoint: the control API would listen on ${admin_flag:-$admin} without a token: set ONTAP_SIM_ADMIN_TOKEN" >&2
            exit 64
        fi
        ;;
esac
config=${ONTAP_SIM_CONFIG:-}
if [ -z "$config" ] && [ -f /etc/ontap-sim/topology.toml ]; then
    config=/etc/ontap-sim/topology.toml
fi
portmap=${ONTAP_SIM_PORTMAP_LISTEN-0.0.0.0:111}

# Prepend each default the command line does not give (last added comes first).
if [ -n "$config" ] && ! is_given --config; then
    set -- --config "$config" "$@"
fi
if ! is_given --state-dir && ! is_given --ephemeral; then
    set -- --state-dir "${ONTAP_SIM_STATE_DIR:-/var/lib/ontap-sim}" "$@"
fi
if ! is_given --admin-listen; then
    set -- --admin-listen "$admin" "$@"
fi
if [ -n "$portmap" ] && ! is_given --portmap-listen; then
    set -- --portmap-listen "$portmap" "$@"
fi
if ! is_given --nfs-listen; then
    nfs=${ONTAP_SIM_NFS_LISTEN:-}
    if [ -z "$nfs" ]; then
        nfs="$(container_ip):2049"
    fi
    set -- --nfs-listen "$nfs" "$@"
fi
if ! is_given --listen; then
    set -- --listen "${ONTAP_SIM_LISTEN:-0.0.0.0:8443}" "$@"
fi
set -- serve "$@"

if [ "${ONTAP_SIM_ENTRYPOINT_DRY_RUN:-}" = 1 ]; then
    printf '%s\n' ontap-sim "$@"
    exit 0
fi
exec ontap-sim "$@"
