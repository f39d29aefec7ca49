#!/bin/bash
# Checks the kernels library's per-ISA objects (each compiled with its own instruction-set flags):
# 1. No weak symbol of tern's own. An inline function or template with external linkage that
#    such a file emits out of line is shared by the linker with every caller: if it keeps the
#    AVX-512 file's copy, the AVX2 and reference paths run AVX-512 code (SIGILL on CPUs without).
# 2. The AVX2 objects and the VEX AVX-VNNI object hold no EVEX-encoded (AVX-512) instruction: a
#    flag or intrinsic from a wider ISA leaking into them would break AVX2-only CPUs, which the
#    test suite on an AVX-512 host cannot notice by running them.
# Usage: check_isa_objects.sh <libtern_kernels.a>
set -euo pipefail
lib=$(realpath "${1:?usage: check_isa_objects.sh libtern_kernels.a}")
isa_re='(avx2|avx512|avxvnni|neon)[a-z0-9_]*\.cpp\.o:'
bad=$(nm -C -A "$lib" | grep -E "$isa_re" | awk '$2 ~ /^[WVu]$/' | grep -E ' tern::' || true)
if [ -n "$bad" ]; then
  echo "weak (shared) tern symbols defined in ISA-specific objects; give them internal linkage:" >&2
  echo "$bad" >&2
  exit 1
fi
n=$(nm -A "$lib" | grep -cE "$isa_re" || true)
[ "$n" -gt 0 ] || { echo "no ISA-specific objects found in $lib" >&2; exit 1; }
echo "ok: $n symbols in ISA-specific objects, none shared with other paths"

members=$(ar t "$lib" | grep -E '^(avx2_[a-z0-9_]*|avxvnni_ternary)\.cpp\.o$' || true)
[ -z "$members" ] && { echo "ok: no x86 AVX2 objects in this build"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && ar x "$lib" $members)
for m in $members; do
  # objdump lines: "addr:<TAB>bytes<TAB>mnemonic"; in 64-bit mode a first byte of 0x62 is EVEX.
  evex=$(objdump -d "$tmp/$m" | awk -F'\t' 'NF >= 3 && $2 ~ /^62 / {c++; if (c <= 5) print}')
  if [ -n "$evex" ]; then
    echo "$m: EVEX-encoded (AVX-512) instructions in an AVX2-class object:" >&2
    echo "$evex" >&2
    exit 1
  fi
  total=$(objdump -d "$tmp/$m" | awk -F'\t' 'NF >= 3' | wc -l)
  [ "$total" -gt 50 ] || { echo "$m: only $total instructions disassembled" >&2; exit 1; }
done
echo "ok: $(echo $members | wc -w) AVX2-class objects hold no EVEX-encoded instruction"
