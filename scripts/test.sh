#!/usr/bin/env bash
# Sets everything up and runs every test: formatting and lints (rustfmt, clippy, Prettier,
# ESLint with typescript-eslint), the engine (parity with the official Dream code, tokenizer,
# requests, CLI) and the app crate with `cargo test`, the UI's unit tests (Vitest), the built
# UI in headless Chromium with the IPC mocked (Playwright), and the real app under Xvfb through
# WebDriver.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
. scripts/env.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The engine's documentation, private items too: every link resolves.
RUSTDOCFLAGS="-D warnings" cargo doc -p dream-engine --no-deps --document-private-items --locked
(cd ui && npx prettier --check src test index.html && npm run --silent lint)

echo "== the setup scripts on other platforms (uname and package tools stubbed)"
bash tests/scripts/platforms.sh 2>&1 | tee -a "$log"

echo "== the Mac and Windows builds"
# Type-checked from here, so a change that breaks them fails: Apple Silicon with Metal (clang
# compiles objc2's one Objective-C helper, which needs no SDK headers), and Windows (MSVC).
echo "aarch64-apple-darwin, metal: the engine with its CLI, and the app"
CC_aarch64_apple_darwin=clang cargo check --locked --target aarch64-apple-darwin -p dream-engine --features metal
CC_aarch64_apple_darwin=clang cargo check --locked --target aarch64-apple-darwin -p dream-writer --features metal
echo "x86_64-pc-windows-msvc: the engine with its CLI, and the app"
cargo check --locked --target x86_64-pc-windows-msvc -p dream-engine -p dream-writer

echo "== the CUDA build"
# candle's CUDA kernels are compiled by nvcc (setup.sh installs one from PyPI where no toolkit
# is); with no GPU here, for compute capability 8.0. One invocation for the engine with its CLI
# and the app, so the kernels are compiled once (about 9 minutes on 2 cores).
nvcc --version | tail -1
CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-80}" cargo check --locked -p dream-engine -p dream-writer \
  --features dream-engine/cuda,dream-writer/cuda

echo "== cargo test"
cargo test --workspace --locked 2>&1 | tee -a "$log"
echo "== UI unit tests"
(cd ui && npx vitest run) 2>&1 | tee -a "$log"
echo "== UI in Chromium"
(cd ui && timeout 600 npm run --silent test:browser) 2>&1 | tee -a "$log"
echo "== the app end to end"
cargo build --locked -p dream-writer
timeout 600 xvfb-run -a tests/e2e/run-e2e.sh "$CARGO_TARGET_DIR/debug/dream-writer" 2>&1 | tee -a "$log"

# One closing line for the whole run (cargo prints one per test binary, Vitest and node:test
# their own).
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /^test result:/ { p += $4; f += $6 }
  /^ *Tests +[0-9]+ passed/ { p += $2 }
  /^ *Tests +[0-9]+ failed/ { f += $2 }
  /^# pass / { p += $3 }
  /^# fail / { f += $3 }
  END { printf "all: %d passed, %d failed\n", p, f }'
