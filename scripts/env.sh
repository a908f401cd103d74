# Sourced by the scripts: a build folder outside the clone that survives fresh checkouts.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dream-writer/target}"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
# getconf, not nproc: macOS has no nproc.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-$(getconf _NPROCESSORS_ONLN)}"
# The real Qwen2.5 tokenizer the engine's tests use, cached outside the clone by setup.sh --tests.
export DREAM_QWEN_TOKENIZER="${DREAM_QWEN_TOKENIZER:-$HOME/.cache/dream-writer/qwen2.5-tokenizer.json}"
# The built-in demo's base model (fetched by scripts/fetch-demo-base.sh).
export DREAM_DEMO_BASE="${DREAM_DEMO_BASE:-$HOME/.cache/dream-writer/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}"
# A CUDA compiler from PyPI (setup.sh --tests installs it; cudarc 0.19 knows CUDA up to 13.4),
# used where no CUDA toolkit is installed: the test command type-checks the CUDA build with it,
# and app.sh and gpu-check.sh find it too.
DREAM_CUDA_VENV="${DREAM_CUDA_VENV:-$HOME/.cache/dream-writer/cuda}"
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="$PATH:/usr/local/cuda/bin"
elif ! command -v nvcc >/dev/null; then
  for cuda in "$DREAM_CUDA_VENV"/lib/python3*/site-packages/nvidia/cu13; do
    if [ -x "$cuda/bin/nvcc" ]; then
      export PATH="$cuda/bin:$PATH" CUDA_HOME="$cuda" CUDA_PATH="$cuda" CUDA_ROOT="$cuda"
    fi
  done
fi
