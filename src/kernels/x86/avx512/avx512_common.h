// Helpers shared by the AVX-512 kernel files (included only by files built with AVX-512 flags).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace tern::avx512 {

// The 4 int8 activations at p in every 32-bit lane: vpdpbusd's operand for 4 columns of a row.
inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Software prefetch distance for the decode streams (64 blocks ahead; 1 KB measured ~2% slower
// in the decode sequence with two threads, docs/PERFORMANCE.md).
inline constexpr int64_t kPrefetch = 4096;

}  // namespace tern::avx512
