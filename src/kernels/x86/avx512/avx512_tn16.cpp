// AVX-512 kernels over TN16 (kernels/table.h): the decode GEMV (1-4 tokens) and the rewrite to
// TR16 that prefill runs before its GEMM tiles. They use vpermb (VBMI); the table points at
// them only when the CPU has it (avx512_kernels.cpp).
//
// A 64-byte load of nibbles is 2 x 64 triples. Per half: the 4-bit index plus 16 where the sign
// bit is set (one masked add) indexes a 32-entry table per code position p, whose upper half
// holds 2 - code, so one vpermb yields 16 rows x 4 consecutive columns of codes, the operand
// tr16's vpdpbusd takes. ~8.5 vector ops per 192 weights against TR16's 6, for 5/6 of the bytes:
// measured at parity on one thread and ahead wherever a core's share of bandwidth is below
// ~20 GB/s (docs/PERFORMANCE.md).
#include <immintrin.h>

#include <cstring>

#include "kernels/table.h"
#include "kernels/x86/avx512/avx512_common.h"

namespace tern::avx512 {
namespace {

inline __mmask64 load_mask(const uint8_t* p) {
  uint64_t m;
  std::memcpy(&m, p, 8);
  return static_cast<__mmask64>(m);
}

// Lookup tables: entry x < 16 is the code at position p of nibble x, entry 16 + x its flip.
struct TnTables {
  __m512i t[3];
  TnTables() {
    alignas(64) int8_t b[3][64];
    for (int p = 0; p < 3; ++p) {
      for (int x = 0; x < 64; ++x) {
        const int n = x & 15;
        b[p][x] = static_cast<int8_t>(n < 14 ? tn16_code(n, (x >> 4) & 1, p) : 0);
      }
      t[p] = _mm512_load_si512(b[p]);
    }
  }
};

// The two index registers (sign folded in) of superblock sb's 64-byte chunk j.
inline void tn_indices(const uint8_t* sb, int j, __m512i* lo, __m512i* hi) {
  const __m512i nib = _mm512_set1_epi8(15), sixteen = _mm512_set1_epi8(16);
  const __m512i v = _mm512_loadu_si512(sb + 64 * j);
  const __m512i l = _mm512_and_si512(v, nib), h = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
  *lo = _mm512_mask_add_epi8(l, load_mask(sb + 256 + 16 * j), l, sixteen);
  *hi = _mm512_mask_add_epi8(h, load_mask(sb + 256 + 16 * j + 8), h, sixteen);
}

// One group x NT tokens. NT == 1 keeps 6 accumulators (one per code register of a chunk) to
// hide vpdpbusd's latency; more tokens share the work between theirs.
template <int NT>
void tn_group(const uint8_t* grp, int64_t k_pad, const TnTables& tb, const int8_t* q, int64_t q_stride,
              int32_t* out, int64_t out_stride) {
  constexpr int NA = NT == 1 ? 6 : 2;
  __m512i acc[NT][NA];
  for (int t = 0; t < NT; ++t) {
    for (int a = 0; a < NA; ++a) acc[t][a] = _mm512_setzero_si512();
  }
  const int64_t n_super = tn_supers(k_pad);
  for (int64_t s = 0; s < n_super; ++s) {
    const uint8_t* sb = grp + s * kTnSuperBytes;
    for (int64_t off = 0; off < kTnSuperBytes; off += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(sb + kPrefetch + off), _MM_HINT_T0);
    }
    for (int j = 0; j < 4; ++j) {
      __m512i idx[2];
      tn_indices(sb, j, &idx[0], &idx[1]);
      for (int h = 0; h < 2; ++h) {
        for (int p = 0; p < 3; ++p) {
          const __m512i c = _mm512_permutexvar_epi8(idx[h], tb.t[p]);
          const int64_t col = s * kTnSuperCols + 24 * j + 12 * h + 4 * p;
          const int a = NA == 6 ? 3 * h + p : h;
          for (int t = 0; t < NT; ++t) acc[t][a] = _mm512_dpbusd_epi32(acc[t][a], c, bcast4(q + t * q_stride + col));
        }
      }
    }
  }
  // The TR16 tail (0, 2 or 4 blocks).
  const uint8_t* tail = grp + n_super * kTnSuperBytes;
  const __m512i m3 = _mm512_set1_epi8(3);
  for (int64_t col = n_super * kTnSuperCols, b = 0; col < k_pad; col += kTrBlockCols, ++b) {
    const __m512i v = _mm512_loadu_si512(tail + 64 * b);
    for (int s = 0; s < 4; ++s) {
      const __m512i c = _mm512_and_si512(_mm512_srli_epi16(v, 2 * s), m3);
      for (int t = 0; t < NT; ++t) acc[t][0] = _mm512_dpbusd_epi32(acc[t][0], c, bcast4(q + t * q_stride + col + 4 * s));
    }
  }
  for (int t = 0; t < NT; ++t) {
    __m512i r = acc[t][0];
    for (int a = 1; a < NA; ++a) r = _mm512_add_epi32(r, acc[t][a]);
    _mm512_storeu_si512(out + t * out_stride, r);
  }
}

}  // namespace

void tn16_gemm_vbmi(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q, int64_t q_stride,
               int64_t n_tok, int32_t* out, int64_t out_stride) {
  static const TnTables tb;
  const int64_t gb = tn_group_bytes(k_pad);
  const int64_t head = n_groups * gb < kPrefetch ? n_groups * gb : kPrefetch;
  for (int64_t off = 0; off < head; off += 64) _mm_prefetch(reinterpret_cast<const char*>(codes + off), _MM_HINT_T0);
  // More than 4 tokens (not the engine's use: ops rewrites to TR16 first) go 4 at a time.
  for (int64_t t0 = 0; t0 < n_tok; t0 += 4) {
    const int64_t nt = n_tok - t0 < 4 ? n_tok - t0 : 4;
    const int8_t* qt = q + t0 * q_stride;
    int32_t* ot = out + t0 * out_stride;
    for (int64_t g = 0; g < n_groups; ++g) {
      const uint8_t* grp = codes + g * gb;
      int32_t* og = ot + g * kTrRows;
      switch (nt) {
        case 1: tn_group<1>(grp, k_pad, tb, qt, q_stride, og, out_stride); break;
        case 2: tn_group<2>(grp, k_pad, tb, qt, q_stride, og, out_stride); break;
        case 3: tn_group<3>(grp, k_pad, tb, qt, q_stride, og, out_stride); break;
        default: tn_group<4>(grp, k_pad, tb, qt, q_stride, og, out_stride); break;
      }
    }
  }
}

void tn16_to_tr16_vbmi(const uint8_t* tn, int64_t n_groups, int64_t k_pad, uint8_t* tr) {
  static const TnTables tb;
  const int64_t n_super = tn_supers(k_pad), tail_bytes = tn_group_bytes(k_pad) - n_super * kTnSuperBytes;
  for (int64_t g = 0; g < n_groups; ++g) {
    const uint8_t* grp = tn + g * tn_group_bytes(k_pad);
    uint8_t* out = tr + g * tr_group_bytes(k_pad);
    for (int64_t s = 0; s < n_super; ++s) {
      const uint8_t* sb = grp + s * kTnSuperBytes;
      // The superblock's 24 code registers in column order (unit u = 6 j + 3 h + p covers
      // columns 4 u .. 4 u + 3), four per TR16 block.
      __m512i c[24];
      for (int j = 0; j < 4; ++j) {
        __m512i idx[2];
        tn_indices(sb, j, &idx[0], &idx[1]);
        for (int h = 0; h < 2; ++h) {
          for (int p = 0; p < 3; ++p) c[6 * j + 3 * h + p] = _mm512_permutexvar_epi8(idx[h], tb.t[p]);
        }
      }
      for (int b = 0; b < 6; ++b) {
        // Codes are <= 2, so 16-bit shifts never carry into the next byte.
        const __m512i v = _mm512_ternarylogic_epi32(c[4 * b], _mm512_slli_epi16(c[4 * b + 1], 2),
                                                    _mm512_slli_epi16(c[4 * b + 2], 4), 0xfe);
        _mm512_storeu_si512(out + (6 * s + b) * 64, _mm512_or_si512(v, _mm512_slli_epi16(c[4 * b + 3], 6)));
      }
    }
    std::memcpy(out + n_super * 6 * 64, grp + n_super * kTnSuperBytes, static_cast<size_t>(tail_bytes));
  }
}

}  // namespace tern::avx512
