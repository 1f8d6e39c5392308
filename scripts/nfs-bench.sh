#!/usr/bin/env bash
# The NFS benchmark with its peer: installs nfs-ganesha (VFS FSAL) and rpcbind from Debian's
# packages when missing, builds the release binary and runs examples/nfs_bench.rs, which starts
# ganesha beside ontap-sim on loopback ports and prints both figures and their ratio per row.
# Run by hand (not in CI): it needs root (ganesha's VFS FSAL) and starts `rpcbind -f` for the run
# when no portmapper answers on port 111. Arguments go to the bench (--size-mib, --files, --ops,
# --rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
have() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
vfs() { [ -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ] || [ -e /usr/lib/ganesha/libfsalvfs.so ]; }
if ! have ganesha.nfsd || ! vfs || ! have rpcbind || ! have nfs-cp; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils >/dev/null
fi
cargo build --release --bin ontap-sim --example nfs_bench
exec target/release/examples/nfs_bench "$@"
