#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU, the CUDA toolkit (nvcc) and Rust: builds with
# `--features cuda`, runs the fixture parity tests on the GPU (f32 to the CPU's 1e-4, bf16, and
# GGUF in bf16 and f16, to their stated tolerances), then times bf16 at 512 and 1024 tokens
# (full steps, span-local decoding, cancel) on random weights of the Qwen2.5-0.5B and Dream 7B
# shapes, and a Q4_K copy of the 0.5B shape. Logs go to $OUT (default ./gpu-check).
set -uo pipefail
cd "$(dirname "$0")/.."
# env.sh finds nvcc: installed, in /usr/local/cuda, or setup.sh --tests' copy from PyPI.
. scripts/env.sh
out="${OUT:-$PWD/gpu-check}"
mkdir -p "$out"
failed=0

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
nvcc --version | tail -2 | tee -a "$out/gpu.txt"

DREAM_TEST_DEVICE=cuda cargo test --locked --release -p dream-engine --features cuda \
  --test parity_forward --test parity_sampler --test parity_bf16 --test fast_decoding --test gguf \
  -- --nocapture 2>&1 | tee "$out/parity.log" || failed=1

cargo build --locked --release -p dream-engine --features cuda --bin dream 2>&1 | tail -1
dream="$CARGO_TARGET_DIR/release/dream"
for shape in qwen2.5-0.5b dream-7b; do
  "$dream" bench --device cuda --dtype bf16 --random-shape "$shape" \
    --seq-len 512,1024 --masked 64 --reps 5 2>&1 | tee "$out/bench-$shape.txt" || failed=1
done
# A whole 64-token infill in the middle of 1024 tokens with span-local decoding and parallel
# reveal, on peaked weights (so that reveal has sure tokens), against exact decoding.
"$dream" bench --device cuda --dtype bf16 --random-shape qwen2.5-0.5b --recipe peaked --seq-len 1024 \
  --masked 64 --middle --reps 3 --whole-infill --compare-exact 2>&1 | tee "$out/bench-infill.txt" || failed=1
# A Q4_K copy in bf16 (random 0.5B-shaped weights saved, then quantized).
tmp=$(mktemp -d)
"$dream" bench --random-shape qwen2.5-0.5b --device cpu --save "$tmp/ckpt" > /dev/null &&
  "$dream" quantize --model "$tmp/ckpt" --out "$tmp/q4k.gguf" --type q4_k > /dev/null &&
  "$dream" bench --device cuda --dtype bf16 --model "$tmp/q4k.gguf" --seq-len 512,1024 --masked 64 --reps 5 \
    2>&1 | tee "$out/bench-q4k.txt" || failed=1
rm -rf "$tmp"
exit $failed
