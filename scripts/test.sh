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
