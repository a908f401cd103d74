#!/usr/bin/env bash
# Sets everything up and opens Dream Writer.
# GPU support is picked for this machine: CUDA when it has an NVIDIA GPU and the CUDA toolkit
# (nvcc), Metal on macOS. DREAM_WRITER_FEATURES overrides it ("" for CPU only, "cuda", "metal").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="$PATH:/usr/local/cuda/bin"
if [ -z "${DREAM_WRITER_FEATURES+set}" ]; then
  DREAM_WRITER_FEATURES=""
  if [ "$(uname)" = Darwin ]; then
    DREAM_WRITER_FEATURES=metal
  elif nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    if command -v nvcc >/dev/null; then
      DREAM_WRITER_FEATURES=cuda
    else
      echo "An NVIDIA GPU is present but the CUDA toolkit (nvcc) is not: building for the CPU." >&2
      echo "Install the CUDA toolkit and run this again to use the GPU." >&2
    fi
  fi
fi
cargo run --locked --release -p dream-writer ${DREAM_WRITER_FEATURES:+--features "$DREAM_WRITER_FEATURES"} "$@"
