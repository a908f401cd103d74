#!/usr/bin/env bash
# The engine beside the official Dream code on this machine, in one run: f32 on the CPU, 2
# threads each, one random Qwen2.5-0.5B-shaped checkpoint loaded by both (its weights scaled by
# the peaked recipe, so parallel reveal has confident tokens to write), runs interleaved,
# medians of 3 quiet runs; prints same-run ratios (and the CPU it ran on).
#
# Usage: scripts/bench-vs-official.sh OFFICIAL_DIR
#   OFFICIAL_DIR holds configuration_dream.py, generation_utils.py and modeling_dream.py from
#   dllm/pipelines/dream/models of github.com/ZHZisZZ/dllm at commit
#   ca176752fbceec49c6b4777a2c18ae88e4eb10ed (never copy them into this repository).
# Env: SHAPE (qwen2.5-0.5b; tiny for a quick check), REPS (3), CACHE_REFRESH (32: span-local
#   decoding's refresh interval in revealed tokens), WORK (a scratch folder that
#   keeps the checkpoint between runs), DREAM_BENCH_VENV (the Python environment),
#   LLAMA_CPP_WORK (opt-in: the folder scripts/llama-cpp-interop.sh built llama.cpp in; then
#   llama.cpp converts the checkpoint to GGUF, makes Q4_K_M and Q8_0 of it, and
#   llama-diffusion-cli is timed beside the engine on those files), CPU_LEVEL (avx2: run both
#   sides restricted to AVX2 and FMA, as on a CPU without AVX-512: the engine built without its
#   `avx512` feature, torch with ATEN_CPU_CAPABILITY=avx2 and MKL_ENABLE_INSTRUCTIONS=AVX2; the
#   llama.cpp comparison is then left out).
set -euo pipefail
cd "$(dirname "$0")/.."
official=$(realpath "${1:?usage: $0 OFFICIAL_DIR}")
for f in configuration_dream.py generation_utils.py modeling_dream.py; do
  [ -f "$official/$f" ] || { echo "$official lacks $f" >&2; exit 2; }
done
. scripts/env.sh
# DREAM_BENCH_VENV: a Python environment with torch and transformers 4.46.2, used as it is (its
# torch version is printed with the figures); otherwise one is made with torch 2.5.1.
venv="${DREAM_BENCH_VENV:-$HOME/.cache/dream-writer/bench-venv}"
if [ -z "${DREAM_BENCH_VENV:-}" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import torch, transformers; assert torch.__version__.startswith("2.5.1") and transformers.__version__ == "4.46.2"' 2>/dev/null ||
    "$venv/bin/pip" install -q "torch==2.5.1" "transformers==4.46.2" "tokenizers==0.20.3"
fi
level=()
if [ "${CPU_LEVEL:-}" = avx2 ]; then
  cargo build --locked --release -p dream-engine --bin dream --no-default-features --features cli \
    --target-dir "$CARGO_TARGET_DIR/avx2"
  dream="$CARGO_TARGET_DIR/avx2/release/dream"
  export ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
  level=(--cpu-level avx2)
  unset LLAMA_CPP_WORK
elif [ -n "${CPU_LEVEL:-}" ]; then
  echo "CPU_LEVEL is avx2 or unset, not $CPU_LEVEL" >&2
  exit 2
else
  cargo build --locked --release -p dream-engine --bin dream
  dream="$CARGO_TARGET_DIR/release/dream"
fi
work="${WORK:-$HOME/.cache/dream-writer/bench-vs-official}"
shape="${SHAPE:-qwen2.5-0.5b}"
ckpt="$work/$shape-peaked"
[ -f "$ckpt/generation_config.json" ] || "$dream" bench --random-shape "$shape" --recipe peaked --device cpu --save "$ckpt"
llama=()
if [ -n "${LLAMA_CPP_WORK:-}" ]; then
  src=$(ls -d "$LLAMA_CPP_WORK"/llama_cpp_python-*/vendor/llama.cpp | tail -1)
  [ -x "$src/build/bin/llama-diffusion-cli" ] || { echo "no llama.cpp build in $LLAMA_CPP_WORK: run scripts/llama-cpp-interop.sh first" >&2; exit 2; }
  gguf="$ckpt-gguf"
  if [ ! -f "$gguf/q8_0.gguf" ]; then
    # The converter reads the tokenizer from the folder: the real Qwen2.5 files the interop
    # script's checkpoint carries, beside links to this checkpoint's weights.
    mkdir -p "$gguf/src"
    for f in config.json generation_config.json model.safetensors; do ln -sf "$ckpt/$f" "$gguf/src/$f"; done
    for f in vocab.json merges.txt tokenizer_config.json; do cp "$LLAMA_CPP_WORK/ckpt/$f" "$gguf/src/"; done
    "$LLAMA_CPP_WORK/venv/bin/python" "$src/convert_hf_to_gguf.py" "$gguf/src" --outtype f16 --outfile "$gguf/f16.gguf"
    for t in Q4_K_M Q8_0; do
      "$src/build/bin/llama-quantize" "$gguf/f16.gguf" "$gguf/$(echo "$t" | tr 'A-Z' 'a-z').gguf" "$t" >/dev/null
    done
  fi
  llama=(--llama-bin "$src/build/bin" --gguf "$gguf")
fi
OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 "$venv/bin/python" scripts/bench_vs_official.py \
  --official "$official" --model "$ckpt" --dream "$dream" --reps "${REPS:-3}" --threads 2 \
  --cache-refresh "${CACHE_REFRESH:-32}" "${llama[@]}" "${level[@]}"
