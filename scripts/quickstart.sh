#!/usr/bin/env bash
# Set up, build, and generate text with the default model.
# Until the bundled trained model lands (issue #5) the default model is a random-weight
# 2B-4T-layout model made by `tern dummy`: it prints gibberish, at real 2B-4T speed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERN_BUILD_TESTS=OFF
cmake --build build -j "$(nproc)" --target tern_cli
model=models/dummy-2B-4T.i2_s.gguf
if [ ! -f "$model" ]; then
  mkdir -p models
  ./build/tern dummy --layout 2B-4T --type i2_s -o "$model"
fi
./build/tern run -m "$model" -p "${1:-The capital of France is}" -n 64 -temp 0.7
