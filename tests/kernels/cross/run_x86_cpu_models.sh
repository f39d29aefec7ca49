#!/bin/sh
# The release binaries on CPUs unlike the build host, emulated by qemu-user: an AVX2-only CPU
# (Haswell: AVX2, FMA, F16C, no AVX-512) and one without AVX (qemu64). On each, tern must pick
# the best path that CPU has (avx2, ref) and pass the kernel parity tests and the golden model
# tests there: no AVX-512 instruction may run where it does not exist. Exits 77 (CTest:
# skipped) when qemu-x86_64 is missing.
# Usage: run_x86_cpu_models.sh TERN_BIN KERNEL_TESTS MODEL_TESTS WORK_DIR
set -eu
tern=$1 kernel_tests=$2 model_tests=$3 work=$4
qemu=${TERN_QEMU_X86_64:-qemu-x86_64}
if ! command -v "$qemu" >/dev/null 2>&1; then
  echo "SKIP: $qemu not found (Debian: apt-get install qemu-user)"
  exit 77
fi
mkdir -p "$work"
model=$work/tiny.gguf
[ -f "$model" ] || "$tern" dummy --layout tiny --seed 4 -o "$model" >/dev/null
for pair in Haswell-v4:avx2 qemu64:ref; do
  cpu=${pair%%:*} want=${pair#*:}
  # TCG warns about CPUID bits it does not emulate (pcid, x2apic, ...); they do not matter here.
  got=$("$qemu" -cpu "$cpu" "$tern" bench -m "$model" -p 8 -n 2 -r 1 -t 1 -o json 2>/dev/null |
    sed -n 's/.*"isa": *"\([a-z0-9]*\)".*/\1/p' | head -1)
  if [ "$got" != "$want" ]; then
    echo "FAIL: on -cpu $cpu tern chose '$got', expected '$want'"
    exit 1
  fi
  echo "-cpu $cpu: tern chose $got"
  for t in "$kernel_tests" "$model_tests --gtest_filter=*Golden*"; do
    # shellcheck disable=SC2086  # $t holds the binary and its filter
    if ! "$qemu" -cpu "$cpu" $t --gtest_brief=1 >"$work/out.txt" 2>&1; then
      grep -v "TCG doesn't support" "$work/out.txt"
      echo "FAIL: $t on -cpu $cpu"
      exit 1
    fi
    grep -v "TCG doesn't support" "$work/out.txt" | tail -1
  done
done
