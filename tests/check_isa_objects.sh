#!/bin/bash
# Each ISA's kernels are compiled with their own instruction-set flags. An inline function or
# template with external linkage that such a file emits out of line is a weak symbol, and the
# linker keeps one copy for every caller: if it keeps the AVX-512 file's copy, the AVX2 and
# reference paths run AVX-512 code and die with SIGILL on CPUs without it. This fails if any
# ISA-flagged object in the kernels library defines a weak symbol of tern's own.
# Usage: check_isa_objects.sh <libtern_kernels.a>
set -euo pipefail
lib=${1:?usage: check_isa_objects.sh libtern_kernels.a}
bad=$(nm -C -A "$lib" | grep -E '(avx2|avx512|avxvnni|neon)[a-z0-9_]*\.cpp\.o:' |
  awk '$2 ~ /^[WVu]$/' | grep -E ' tern::' || true)
if [ -n "$bad" ]; then
  echo "weak (shared) tern symbols defined in ISA-specific objects; give them internal linkage:" >&2
  echo "$bad" >&2
  exit 1
fi
n=$(nm -A "$lib" | grep -cE '(avx2|avx512|avxvnni|neon)[a-z0-9_]*\.cpp\.o:' || true)
[ "$n" -gt 0 ] || { echo "no ISA-specific objects found in $lib" >&2; exit 1; }
echo "ok: $n symbols in ISA-specific objects, none shared with other paths"
