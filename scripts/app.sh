#!/usr/bin/env bash
# Sets everything up and opens Dream Writer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
cargo run --locked --release -p dream-writer "$@"
