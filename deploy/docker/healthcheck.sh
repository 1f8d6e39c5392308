#!/bin/bash
# Docker HEALTHCHECK and Kubernetes probe: GET /healthz (or the path given, e.g. /readyz) on the
# control API at $ONTAP_SIM_ADMIN (default http://127.0.0.1:8081, the address the ontap-sim CLI
# uses too), with the bearer token when ONTAP_SIM_ADMIN_TOKEN is set. Exits 0 on HTTP 200.
# Plain bash (/dev/tcp): the runtime image carries no HTTP client.
set -euo pipefail

path=${1:-/healthz}
base=${ONTAP_SIM_ADMIN:-http://127.0.0.1:8081}
hostport=${base#http://}
hostport=${hostport%%/*}
host=${hostport%:*}
port=${hostport##*:}
host=${host#[}
host=${host%]}

exec 3<>"/dev/tcp/$host/$port"
auth=""
if [ -n "${ONTAP_SIM_ADMIN_TOKEN:-}" ]; then
    auth="Authorization: Bearer $ONTAP_SIM_ADMIN_TOKEN"$'\r\n'
fi
printf 'GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n' "$path" "$hostport" "$auth" >&3
status=""
IFS= read -r -t 5 status <&3 || true
exec 3<&-
case $status in
    "HTTP/1."[01]" 200"*) exit 0 ;;
    *)
        echo "ontap-sim-healthcheck: GET $path on $base: ${status:-no answer}" >&2
        exit 1
        ;;
esac
