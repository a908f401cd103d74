#!/usr/bin/env bash
# Sets everything up and opens Dream Writer.
# GPU support is picked for this machine: CUDA when it has an NVIDIA GPU and the CUDA toolkit
# (nvcc: installed, or the one setup.sh --tests fetches from PyPI; see env.sh), Metal on macOS. DREAM_WRITER_FEATURES overrides it ("" for CPU only, "cuda", "metal").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
. scripts/platform.sh
[ -n "${DREAM_WRITER_FEATURES+set}" ] || DREAM_WRITER_FEATURES=$(dw_gpu_features "$(dw_platform)")
cargo run --locked --release -p dream-writer ${DREAM_WRITER_FEATURES:+--features "$DREAM_WRITER_FEATURES"} "$@"
