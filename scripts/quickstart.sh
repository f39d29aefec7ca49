#!/usr/bin/env bash
# Set up, build, and generate text with the bundled model (assets/models, trained here; see
# docs/MODEL.md). Pass a prompt as the first argument to change it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERN_BUILD_TESTS=OFF
cmake --build build -j "$(nproc)" --target tern_cli
./build/tern run -p "${1:-And the LORD said unto Moses,}" -n 64 -temp 0.7 -s 1
