#!/usr/bin/env bash
# The setup scripts on machines this one is not: macOS, Fedora, Arch, another Linux, Windows.
# Each case runs with a PATH of its own, holding only the basic tools and stubs for `uname`,
# the package managers and what a machine has or lacks, so what scripts/platform.sh decides
# (and that setup.sh stops, naming what to install, before it installs anything) is checked
# here. Prints TAP with "# pass N" / "# fail N" lines, as node:test does.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0

# A machine: a bin folder with the basic tools, `uname -s` answering $1, and a log of every
# call to a tool that installs or fetches something.
machine() {
  local bin="$work/$1-$RANDOM"
  mkdir -p "$bin"
  for t in bash env cat grep sed mktemp dirname id rm mkdir head tr getconf; do
    ln -s "$(command -v "$t")" "$bin/$t"
  done
  stub "$bin" uname "echo '$2'"
  for t in sudo apt-get curl brew rustup npm-install; do
    stub "$bin" "$t" "echo $t \"\$@\" >> '$bin/installs.log'"
  done
  echo "$bin"
}

# A tool `$2` in bin folder `$1` that runs the shell line `$3`.
stub() {
  printf '#!%s\n%s\n' "$(command -v bash)" "$3" >"$1/$2"
  chmod +x "$1/$2"
}

# Runs the shell line `$2` on machine `$1` (sourcing platform.sh first); its output and
# status in $out and $status.
on() {
  out=$(cd "$root" && PATH="$1" HOME="$work/home" bash -c ". scripts/platform.sh; $2" 2>&1)
  status=$?
}

check() {
  local what=$1
  shift
  if "$@"; then
    pass=$((pass + 1))
    echo "ok $((pass + fail)) - $what"
  else
    fail=$((fail + 1))
    echo "not ok $((pass + fail)) - $what"
    echo "  # status $status, output: $out"
  fi
}

has() { [[ $out == *"$1"* ]]; }
a_number() { [[ $out =~ ^[0-9]+$ ]]; }
nothing_installed() { [ ! -s "$1/installs.log" ]; }

# macOS with nothing yet: setup stops at once, naming the command line tools and Node.
mac=$(machine mac Darwin)
on "$mac" "bash scripts/setup.sh"
check "macOS without the command line tools: setup names xcode-select --install and stops" has "xcode-select --install"
check "macOS without Node: setup names where to get it" has "https://nodejs.org"
check "macOS: setup exits with a failure" [ "$status" -ne 0 ]
check "macOS: nothing was installed (no apt-get, sudo or curl)" nothing_installed "$mac"
on "$mac" "dw_platform"
check "macOS is told apart" [ "$out" = macos ]
on "$mac" "dw_gpu_features macos"
check "macOS builds with Metal" [ "$out" = metal ]

# macOS with everything: nothing is missing, and the test command says where it runs.
stub "$mac" xcode-select "echo /Library/Developer/CommandLineTools"
stub "$mac" node "exit 0"
stub "$mac" npm "exit 0"
stub "$mac" python3 "exit 0"
on "$mac" "dw_missing macos"
check "macOS with the tools, Node and Python: nothing is missing" [ -z "$out" ]
on "$mac" "bash scripts/setup.sh --tests"
check "macOS: the test command's setup says it runs on Debian or Ubuntu" has "run it on Debian or Ubuntu"
check "macOS --tests: nothing was installed" nothing_installed "$mac"
on "$mac" ". scripts/env.sh; echo \$CARGO_BUILD_JOBS"
check "env.sh counts the cores without nproc (macOS has none)" a_number

# Fedora and Arch without WebKitGTK: their own install line, and no install attempted.
fedora=$(machine fedora Linux)
stub "$fedora" dnf "exit 0"
stub "$fedora" pkg-config "exit 1"
on "$fedora" "bash scripts/setup.sh"
check "Fedora: setup names the dnf line" has "sudo dnf install webkit2gtk4.1-devel"
check "Fedora: setup stops with a failure" [ "$status" -ne 0 ]
check "Fedora: nothing was installed" nothing_installed "$fedora"
arch=$(machine arch Linux)
stub "$arch" pacman "exit 0"
on "$arch" "bash scripts/setup.sh"
check "Arch: setup names the pacman line" has "sudo pacman -S --needed webkit2gtk-4.1"
check "Arch: nothing was installed" nothing_installed "$arch"

# Another Linux: the libraries named, with what exactly is lacking.
other=$(machine other Linux)
on "$other" "bash scripts/setup.sh"
check "another Linux: setup names WebKitGTK 4.1 and what is lacking" has "lacking: webkit2gtk-4.1 gtk+-3.0 librsvg-2.0 openssl cc node pip"
check "another Linux: nothing was installed" nothing_installed "$other"

# Debian is what setup.sh installs for.
debian=$(machine debian Linux)
stub "$debian" apt-get "exit 0"
stub "$debian" dpkg-query "exit 0"
on "$debian" "dw_platform"
check "Debian (apt-get and dpkg-query) is told apart" [ "$out" = debian ]

# Windows shells: pointed to the README's way.
windows=$(machine windows MINGW64_NT-10.0)
on "$windows" "dw_missing \$(dw_platform)"
check "Windows (Git Bash): told to build from PowerShell as the README says" has "PowerShell"

# An NVIDIA GPU: CUDA with the compiler; the CPU, said why, without it.
gpu=$(machine gpu Linux)
stub "$gpu" nvidia-smi "echo 'GPU 0: NVIDIA GeForce RTX 4070 Laptop GPU (UUID: GPU-1)'"
on "$gpu" "dw_gpu_features linux"
check "an NVIDIA GPU without nvcc builds for the CPU and says why" has "CUDA toolkit (nvcc) is not"
stub "$gpu" nvcc "exit 0"
on "$gpu" "dw_gpu_features linux"
check "an NVIDIA GPU with nvcc builds with CUDA" [ "$out" = cuda ]

echo "1..$((pass + fail))"
echo "# pass $pass"
echo "# fail $fail"
[ "$fail" = 0 ]
