#!/usr/bin/env bash
# Opt-in: Dream Writer and llama.cpp read each other's Dream GGUF files.
#
#   bash scripts/llama-cpp-interop.sh [WORKDIR]     (default ~/.cache/dream-writer/llama-cpp)
#
# Builds llama.cpp from the source vendored in PyPI's llama-cpp-python sdist (cmake and ninja
# from PyPI, -DLLAMA_CURL=OFF; targets llama-diffusion-cli and llama-quantize), writes a random
# real-vocabulary checkpoint, converts it with llama.cpp's convert_hf_to_gguf.py (F16), makes
# Q8_0, Q4_0, Q4_K_M, Q5_K_M and Q6_K with llama-quantize, loads every one with the engine
# (engine/tests/llama_cpp.rs), runs llama-diffusion-cli on the GGUF files `dream quantize`
# writes, and drives the real app (under Xvfb, as the test command does) to load the
# checkpoint, make a Q8_0 copy of it, and write with llama.cpp's Q4_K_M. Needs about 4 GB of disk (torch for the converter) and 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
WORK="${1:-$HOME/.cache/dream-writer/llama-cpp}"
WORK="$(mkdir -p "$WORK" && cd "$WORK" && pwd)"
LLAMA_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"

# Python for the converter and the build tools.
[ -x "$WORK/venv/bin/python" ] || python3 -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
"$PY" -m pip install -q torch "transformers==4.46.2" numpy sentencepiece safetensors cmake ninja

# llama.cpp's source, from the sdist.
SRC="$WORK/llama_cpp_python-$LLAMA_VERSION/vendor/llama.cpp"
if [ ! -d "$SRC" ]; then
  "$PY" -m pip download -q --no-deps --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_VERSION" -d "$WORK"
  tar -xzf "$WORK/llama_cpp_python-$LLAMA_VERSION.tar.gz" -C "$WORK"
fi
BIN="$SRC/build/bin"
build_llama() {
  "$WORK/venv/bin/cmake" -S "$SRC" -B "$SRC/build" -G Ninja -DCMAKE_MAKE_PROGRAM="$WORK/venv/bin/ninja" \
    -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF "$@" ${LLAMA_CMAKE_FLAGS:-}
  "$WORK/venv/bin/ninja" -C "$SRC/build" llama-diffusion-cli llama-quantize
}
if [ ! -x "$BIN/llama-diffusion-cli" ] || [ ! -x "$BIN/llama-quantize" ]; then
  build_llama
fi

export DREAM_LLAMA_CPP_DIR="$WORK"
echo "== the checkpoint and our GGUF copies"
cargo test --locked -p dream-engine --test llama_cpp -- --ignored --exact interop_prepare

echo "== llama.cpp's GGUF files"
mkdir -p "$WORK/llama"
"$PY" "$SRC/convert_hf_to_gguf.py" "$WORK/ckpt" --outtype f16 --outfile "$WORK/llama/f16.gguf"
quantize_all() {
  for t in Q8_0 Q4_0 Q4_K_M Q5_K_M Q6_K; do
    "$BIN/llama-quantize" "$WORK/llama/f16.gguf" "$WORK/llama/$(echo "$t" | tr 'A-Z' 'a-z').gguf" "$t" >/dev/null 2>&1
  done
}
quantize_all
# A native build uses every instruction set the CPU reports. Some VMs report AMX and fault on it
# (llama.cpp then dies by SIGILL or SIGSEGV in ggml_backend_amx_mul_mat, on its quantized
# types): build again with the CPU's AVX features named one by one and AMX left out.
if ! "$BIN/llama-diffusion-cli" -m "$WORK/llama/q4_0.gguf" -p "The lighthouse keeper" -n 8 --diffusion-steps 2 \
    --diffusion-eps 0.001 -t 2 >/dev/null 2>&1; then
  echo "llama.cpp's native build cannot run on this CPU: building it with its AVX features named, without AMX"
  flags=(-DGGML_NATIVE=OFF)
  for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx512f:AVX512 avx512vbmi:AVX512_VBMI \
      avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
    grep -qw "${pair%%:*}" /proc/cpuinfo && flags+=("-DGGML_${pair#*:}=ON")
  done
  build_llama "${flags[@]}"
  quantize_all
fi
ls -l "$WORK/llama"
cargo test --locked -p dream-engine --test llama_cpp -- --ignored --exact interop_llama_cpp_files_load --nocapture

echo "== our GGUF files in llama-diffusion-cli"
for f in "$WORK"/ours/*.gguf; do
  out=$("$BIN/llama-diffusion-cli" -m "$f" -p "The lighthouse keeper" -n 24 --diffusion-steps 8 --diffusion-eps 0.001 -t 2 2>&1) || {
    echo "$out" | tail -20
    echo "llama-diffusion-cli could not run $f"
    exit 1
  }
  echo "$(basename "$f"): llama-diffusion-cli ran ($(echo "$out" | grep -c . ) lines of output)"
done
echo "== the real app: the checkpoint, its copy made in the app, llama.cpp's Q4_K_M writing"
cargo build --locked -p dream-writer
DREAM_REAL_SIZE_DIR="$WORK" xvfb-run -a tests/e2e/run-e2e.sh "$CARGO_TARGET_DIR/debug/dream-writer" real-size.e2e.mjs
echo "interop: all passed (screenshot: tests/e2e/artifacts/real-size-llama-q4_k_m.png)"
