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
  libcurl4-openssl-dev libssl-dev                # tern pull: HTTPS downloads, SHA-256 checks
  libcpp-httplib-dev                             # HTTP server (tern serve) and test servers
)
case "${1:-}" in
  --fixtures) pkgs+=(python3-torch python3-numpy python3-sentencepiece bible-kjv-text) ;;  # tools/ scripts
  --fuzz) pkgs+=(clang-19 libclang-rt-19-dev) ;;                                           # fuzz/ (libFuzzer)
esac

# The full-vocabulary LLaMA-3 tokenizer test compares against the npm package
# llama3-tokenizer-js (it ships the real vocabulary). Best effort: without node the test skips.
npm_reference() {
  if command -v npm >/dev/null 2>&1 && [ ! -d tools/tokenizer/node_modules/llama3-tokenizer-js ]; then
    npm ci --prefix tools/tokenizer --no-audit --no-fund --loglevel=error >/dev/null 2>&1 \
      && echo "setup: npm reference tokenizer installed" \
      || echo "setup: npm unavailable; the full-vocabulary tokenizer test will skip"
  fi
}
cd "$(dirname "$0")/.."

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages present"
  npm_reference
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_reference
echo "setup: done"
