#!/usr/bin/env bash
# Runs NetApp Trident's ontap-nas driver (a Go module dependency, never copied here) against ontap-sim.
#
#   bash tests/trident/run.sh
#
# Builds the simulator if needed, downloads the Go modules, then runs `go test ./...` in this
# directory, so the last line is go test's. Fails loudly (non-zero, with the reason) when Go, cargo,
# the simulator build or a module download is missing: it never skips.
#
# Environment: ONTAP_SIM_BIN (default <repo>/target/debug/ontap-sim), GO_TEST_FLAGS (e.g. "-v -run X").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# Trident v26.06.0 release commit. Release tags are not valid Go module versions (no /v26 suffix),
# so the module is pinned by this commit as a pseudo-version in go.mod.
TRIDENT_MODULE=github.com/netapp/trident
TRIDENT_COMMIT=fe88a3ac

die() { echo "run.sh: FAIL: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "Go toolchain not found on PATH (need Go >= 1.26)"
echo "run.sh: $(go version)"

bin="${ONTAP_SIM_BIN:-$repo/target/debug/ontap-sim}"
if [ -z "${ONTAP_SIM_BIN:-}" ]; then
    command -v cargo >/dev/null 2>&1 || die "cargo not found: cannot build the simulator"
    echo "run.sh: cargo build (ontap-sim)"
    (cd "$repo" && cargo build --quiet --bin ontap-sim) || die "cargo build of ontap-sim failed"
fi
[ -x "$bin" ] || die "ontap-sim binary not found at $bin"
export ONTAP_SIM_BIN="$bin"

cd "$here"
echo "run.sh: go mod download"
go mod download || die "go mod download failed (is the Go module proxy reachable?)"

# Trident itself must come from the module proxy; a missing module is a failure, never a skip.
if ! grep -q "^[[:space:]]*$TRIDENT_MODULE " go.mod && ! grep -q "^require $TRIDENT_MODULE " go.mod; then
    echo "run.sh: $TRIDENT_MODULE is not yet pinned in go.mod; resolving $TRIDENT_COMMIT through the module proxy"
    if ! out="$(go list -m -json "$TRIDENT_MODULE@$TRIDENT_COMMIT" 2>&1)"; then
        die "cannot download Trident ($TRIDENT_MODULE@$TRIDENT_COMMIT) from the Go module proxy:
$out"
    fi
    die "Trident resolves ($out) but go.mod does not pin it: run 'go get $TRIDENT_MODULE@$TRIDENT_COMMIT' here and commit go.mod/go.sum"
fi

echo "run.sh: go test ./..."
# shellcheck disable=SC2086
exec go test ${GO_TEST_FLAGS:-} -count=1 ./...
