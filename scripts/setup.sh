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
  curl chromium                                  # server tests with real clients (curl, the web page)
  g++-aarch64-linux-gnu qemu-user                # NEON kernels: cross-built and tested under qemu
)
case "${1:-}" in
  --fixtures) pkgs+=(python3-torch python3-numpy python3-sentencepiece bible-kjv bible-kjv-text fortunes libopenblas0-serial) ;;  # tools/ scripts
  --fuzz) pkgs+=(clang-19 libclang-rt-19-dev) ;;                                           # fuzz/ (libFuzzer)
esac

# The full-vocabulary LLaMA-3 tokenizer test compares against the npm package
# llama3-tokenizer-js (it ships the real vocabulary). Best effort: without node the test skips.
# The server tests drive tern serve with the official openai npm package and Chromium
# (playwright-core, no browser download). Both from the npm registry, pinned by package-lock.
npm_reference() {
  command -v npm >/dev/null 2>&1 || { echo "setup: npm missing; npm-based tests will skip"; return 0; }
  local d
  for d in tools/tokenizer tests/server_js; do
    [ -d "$d/node_modules" ] && continue
    npm ci --prefix "$d" --no-audit --no-fund --loglevel=error >/dev/null 2>&1 \
      && echo "setup: npm packages installed in $d" \
      || echo "setup: npm ci failed in $d; its tests will skip"
  done
}
cd "$(dirname "$0")/.."

# Node.js runs the npm-based tests (openai client, tokenizer reference). Many images ship their
# own node; install Debian's only when there is none, so the two never conflict.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)

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
