#!/usr/bin/env bash
# Every test ontap-sim has, from a fresh machine: installs what it needs (a Python venv with the
# pinned client libraries), checks formatting and lints, then runs the Rust suites and the tests
# that drive the simulator through real third-party clients (netapp-lib, Ansible, a Go ZAPI client).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step() { printf '\n== %s\n' "$*"; }

step "Python venv (.venv) with netapp-lib, Ansible and pytest"
req=tests/python/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi

step "libnfs-utils (nfs-ls, nfs-cp, nfs-cat: the NFS client the NFS tests drive)"
if ! command -v nfs-cp >/dev/null || ! command -v nfs-cat >/dev/null || ! command -v nfs-ls >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnfs-utils >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnfs-utils >/dev/null
  fi
fi
command -v nfs-cp >/dev/null || { echo "libnfs-utils could not be installed: the NFS tests cannot run" >&2; exit 1; }

step "QEMU, busybox-static and gcc (the kernel-client test's guest)"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v busybox >/dev/null || ! command -v gcc >/dev/null \
    || [ -z "$(apt-cache policy linux-image-cloud-amd64 2>/dev/null | awk '/Candidate:/ && $2 != "(none)"')" ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-system-x86 busybox-static gcc libc6-dev >/dev/null
fi
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86 could not be installed: the kernel-client test cannot run" >&2; exit 1; }
step "chromium (the headless browser the console tests drive with Playwright from .venv)"
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
command -v chromium >/dev/null || { echo "chromium could not be installed: the console's browser tests cannot run" >&2; exit 1; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings

step "cargo test"
cargo test --quiet

step "pytest tests/python (netapp-lib, Ansible and the console in Chromium against the simulator)"
cargo build --quiet
ONTAP_SIM_BIN="$root/target/debug/ontap-sim" ANSIBLE_VENV="$root/.venv" \
  .venv/bin/python -m pytest -q tests/python

step "go test tests/trident (a Go ZAPI client: TLS verification, client certificates)"
command -v go >/dev/null || { echo "Go is not installed: the Go client tests cannot run" >&2; exit 1; }
(cd tests/trident && ONTAP_SIM_BIN="$root/target/debug/ontap-sim" go test -count=1 ./...)

step "kernel NFS client in a QEMU guest (tests/vm: mounts, data, snapshots, NLM locks)"
# The guest's kernel asks the portmapper on port 111 of the server: the simulator needs it.
[ "$(id -u)" = 0 ] || { echo "the kernel-client test needs root (the simulator's portmapper on port 111)" >&2; exit 1; }
bash tests/vm/build.sh target/vm
python3 tests/vm/run.py --bin "$root/target/debug/ontap-sim" --guest target/vm
