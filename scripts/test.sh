#!/usr/bin/env bash
# Every test ontap-sim has, from a fresh machine: installs what it needs (a Python venv with the
# pinned client libraries), checks formatting and lints, then runs the Rust suites and the tests
# that drive the simulator through real third-party clients.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step() { printf '\n== %s\n' "$*"; }

step "Python venv (.venv) with netapp-lib and pytest"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import netapp_lib, pytest' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings

step "cargo test"
cargo test --quiet 2>&1 | tee /tmp/ontap-sim-cargo-test.log

step "pytest tests/python (netapp-lib against the simulator)"
cargo build --quiet
ONTAP_SIM_BIN="$root/target/debug/ontap-sim" .venv/bin/python -m pytest -q tests/python
