# What this machine is and what Dream Writer needs on it, for setup.sh and app.sh (sourced,
# not run). Debian and Ubuntu get their packages installed by setup.sh; on macOS and on other
# Linux distributions nothing is installed behind the writer's back: what is missing is named
# with the command that installs it, before anything else happens. tests/scripts/platform.sh
# checks these functions with `uname` and the package tools stubbed (no Mac is at hand here).

# macos, debian (apt), fedora (dnf), arch (pacman), opensuse (zypper), linux (another
# distribution), windows (Git Bash, MSYS) or unknown.
dw_platform() {
  case "$(uname -s)" in
    Darwin) echo macos ;;
    Linux)
      if command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
        echo debian
      elif command -v dnf >/dev/null; then
        echo fedora
      elif command -v pacman >/dev/null; then
        echo arch
      elif command -v zypper >/dev/null; then
        echo opensuse
      else
        echo linux
      fi
      ;;
    MINGW* | MSYS* | CYGWIN*) echo windows ;;
    *) echo unknown ;;
  esac
}

# The libraries the app links on Linux, as pkg-config names them (WebKitGTK 4.1 for Tauri 2).
DW_LINUX_LIBRARIES=(webkit2gtk-4.1 gtk+-3.0 librsvg-2.0 openssl)

# One line per missing prerequisite on `$1` (a dw_platform name), each with how to get it;
# nothing when everything is there. Debian's are installed by setup.sh instead.
dw_missing() {
  local platform=$1 missing=() lib
  case "$platform" in
    debian) return 0 ;;
    macos)
      xcode-select -p >/dev/null 2>&1 || echo "the Xcode command line tools (a C compiler, git, Python 3): xcode-select --install"
      command -v node >/dev/null && command -v npm >/dev/null ||
        echo "Node.js 20 or later with npm: the installer from https://nodejs.org, or brew install node"
      python3 -m pip --version >/dev/null 2>&1 || echo "Python 3 with pip (it comes with the Xcode command line tools)"
      return 0
      ;;
    windows | unknown)
      echo "this script runs on macOS and Linux; on Windows, build from PowerShell with Rust (rustup), Node.js 20 and the WebView2 runtime as the README's install section says"
      return 0
      ;;
  esac
  # Another Linux: the system libraries, compiler and tools, named in its package manager's words.
  for lib in "${DW_LINUX_LIBRARIES[@]}"; do
    command -v pkg-config >/dev/null && pkg-config --exists "$lib" 2>/dev/null || missing+=("$lib")
  done
  command -v cc >/dev/null || missing+=(cc)
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(node)
  python3 -m pip --version >/dev/null 2>&1 || missing+=(pip)
  [ ${#missing[@]} -eq 0 ] && return 0
  case "$platform" in
    fedora)
      echo "sudo dnf install webkit2gtk4.1-devel openssl-devel libappindicator-gtk3-devel librsvg2-devel libxdo-devel curl file nodejs npm python3-pip && sudo dnf group install c-development"
      ;;
    arch)
      echo "sudo pacman -S --needed webkit2gtk-4.1 base-devel openssl libappindicator-gtk3 librsvg xdotool curl file nodejs npm python-pip"
      ;;
    opensuse)
      echo "sudo zypper in webkit2gtk3-devel libopenssl-devel libappindicator3-1 librsvg-devel curl file nodejs npm python3-pip && sudo zypper in -t pattern devel_basis"
      ;;
    *)
      echo "the development files of WebKitGTK 4.1, GTK 3, librsvg and OpenSSL, a C compiler, pkg-config, Node.js 20 with npm, and Python 3 with pip (lacking: ${missing[*]}; see https://v2.tauri.app/start/prerequisites/)"
      ;;
  esac
}

# The cargo features app.sh builds the app with on `$1`: Metal on macOS; CUDA where an NVIDIA
# GPU and the CUDA compiler are both there (saying so on stderr when only the GPU is).
dw_gpu_features() {
  if [ "$1" = macos ]; then
    echo metal
  elif nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    if command -v nvcc >/dev/null; then
      echo cuda
    else
      echo "An NVIDIA GPU is present but the CUDA toolkit (nvcc) is not: building for the CPU." >&2
      echo "Install the CUDA toolkit and run this again to use the GPU." >&2
    fi
  fi
}
