#!/bin/sh
# Cross-builds the NEON kernels and their parity check for AArch64 (static) and runs it under
# qemu-user, as a CPU with the dot-product extension and as one without. Exits 77 (CTest:
# skipped) when the cross compiler or qemu is missing.
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
# ISA flags per file, as in src/kernels/CMakeLists.txt: only the dot-product GEMM gets +dotprod.
"$cxx" $flags -march=armv8.2-a+dotprod -c "$src/src/kernels/arm/neon/neon_ternary_dot.cpp" -o "$out/neon_ternary_dot.o"
for f in src/kernels/arm/neon/neon_kernels src/kernels/arm/neon/neon_ternary_base src/kernels/ref/ref_kernels \
         src/core/cpu tests/kernels/cross/neon_parity; do
  "$cxx" $flags -c "$src/$f.cpp" -o "$out/$(basename "$f").o"
done
"$cxx" -static "$out/neon_parity.o" "$out/neon_kernels.o" "$out/neon_ternary_dot.o" "$out/neon_ternary_base.o" \
  "$out/ref_kernels.o" "$out/cpu.o" -o "$out/neon_parity"
# A CPU with the dot-product extension (qemu's max) and one without (Cortex-A72, Raspberry Pi 4).
for cpu in max cortex-a72; do
  echo "qemu-aarch64 -cpu $cpu:"
  "$qemu" -cpu "$cpu" "$out/neon_parity" || exit 1
done
