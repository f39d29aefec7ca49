#!/bin/sh
# Cross-builds the NEON kernels and their parity check for AArch64 (static) and runs it under
# qemu-user. Exits 77 (CTest: skipped) when the cross compiler or qemu is missing.
# Usage: run_neon_parity.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
out=$2/neon_parity
cxx=${TERN_AARCH64_CXX:-aarch64-linux-gnu-g++}
qemu=${TERN_QEMU_AARCH64:-qemu-aarch64}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "SKIP: $cxx not found (Debian: apt-get install g++-aarch64-linux-gnu qemu-user)"
  exit 77
fi
if ! command -v "$qemu" >/dev/null 2>&1; then
  echo "SKIP: $qemu not found (Debian: apt-get install qemu-user)"
  exit 77
fi
mkdir -p "$out"
flags="-std=c++20 -O2 -Wall -Wextra -Werror -I$src/src -I$src/include"
# ISA flags per file, as in src/kernels/CMakeLists.txt: only the NEON file gets +dotprod.
"$cxx" $flags -march=armv8.2-a+dotprod+fp16 -c "$src/src/kernels/arm/neon/neon_kernels.cpp" -o "$out/neon_kernels.o"
"$cxx" $flags -c "$src/src/kernels/ref/ref_kernels.cpp" -o "$out/ref_kernels.o"
"$cxx" $flags -c "$src/tests/kernels/cross/neon_parity.cpp" -o "$out/neon_parity.o"
"$cxx" -static "$out/neon_parity.o" "$out/neon_kernels.o" "$out/ref_kernels.o" -o "$out/neon_parity"
exec "$qemu" -cpu max "$out/neon_parity"
