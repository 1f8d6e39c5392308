#!/usr/bin/env bash
# Write the fuzz targets' seed corpora (fuzz/corpus/<target>/) from api-fixtures/ and the
# hand-built REST and RPC calls of tests/decoder_mutations.rs, then, given a run count, run every
# target that long: `bash fuzz/seed.sh 1000000` (needs nightly and `cargo install cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."
ONTAP_SIM_WRITE_SEEDS="$PWD/fuzz/corpus" cargo test --quiet --test decoder_mutations >/dev/null
ls fuzz/corpus
if [ -n "${1:-}" ]; then
  for t in zapi_xml zapi_request rest_request rest_query rpc_record rpc_stream; do
    cargo +nightly fuzz run --sanitizer none "$t" "fuzz/corpus/$t" -- -runs="$1" -rss_limit_mb=4096 2>&1 |
      grep -E '^(Done|#[0-9]+ +DONE)|SUMMARY|panicked' || true
  done
fi
