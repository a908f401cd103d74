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
#   keeps the checkpoint between runs), DREAM_BENCH_VENV (the Python environment).
set -euo pipefail
cd "$(dirname "$0")/.."
official=$(realpath "${1:?usage: $0 OFFICIAL_DIR}")
for f in configuration_dream.py generation_utils.py modeling_dream.py; do
  [ -f "$official/$f" ] || { echo "$official lacks $f" >&2; exit 2; }
done
. scripts/env.sh
venv="${DREAM_BENCH_VENV:-$HOME/.cache/dream-writer/bench-venv}"
[ -x "$venv/bin/python" ] || python3.11 -m venv "$venv"
"$venv/bin/python" -c 'import torch, transformers, tokenizers; assert (torch.__version__.startswith("2.5.1"), transformers.__version__, tokenizers.__version__) == (True, "4.46.2", "0.20.3")' 2>/dev/null ||
  "$venv/bin/pip" install -q "torch==2.5.1" "transformers==4.46.2" "tokenizers==0.20.3"
cargo build --locked --release -p dream-engine --bin dream
dream="$CARGO_TARGET_DIR/release/dream"
work="${WORK:-$HOME/.cache/dream-writer/bench-vs-official}"
shape="${SHAPE:-qwen2.5-0.5b}"
ckpt="$work/$shape-peaked"
[ -f "$ckpt/generation_config.json" ] || "$dream" bench --random-shape "$shape" --recipe peaked --device cpu --save "$ckpt"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 "$venv/bin/python" scripts/bench_vs_official.py \
  --official "$official" --model "$ckpt" --dream "$dream" --reps "${REPS:-3}" --threads 2 \
  --cache-refresh "${CACHE_REFRESH:-32}"
