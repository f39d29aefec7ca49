#!/usr/bin/env bash
# Installs every Debian package that building and testing tern needs.
# Usage: scripts/setup.sh [--fixtures]   (--fixtures adds python3-torch for tools/golden)
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config   # toolchain
  libgtest-dev libgmock-dev                      # unit tests (GoogleTest)
  libbenchmark-dev                               # micro-benchmarks under bench/
  libcli11-dev                                   # command-line parsing for the tern CLI
  nlohmann-json3-dev                             # JSON (tokenizer files, bench output, server)
  libpcre2-dev                                   # Unicode regex for the LLaMA-3 pre-tokenizer
)
if [ "${1:-}" = "--fixtures" ]; then
  pkgs+=(python3-torch python3-numpy python3-sentencepiece)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
