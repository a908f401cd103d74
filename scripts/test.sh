#!/usr/bin/env bash
# Sets everything up and runs every test: the engine (parity with the official Dream code,
# tokenizer, requests, CLI), the app crate, and the doc examples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6 } END { printf "cargo: %d passed, %d failed\n", p, f }' "$log"
