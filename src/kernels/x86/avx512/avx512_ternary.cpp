// AVX-512 VNNI ternary GEMM/GEMV over the TR16 layout (kernels/table.h). Compiled with AVX-512
// flags for this file only; called only when the CPU reports F/BW/VL/DQ/VNNI.
//
// One zmm of unpacked codes is 16 rows x 4 consecutive columns (one 32-bit lane per row), so
// vpdpbusd takes the codes as its unsigned operand and the 4 matching int8 activations of a
// token broadcast to every lane; accumulators hold 16 rows of one token and are stored as is.
//
// Decode (one token) is bound by memory bandwidth, so it skips the shifts: (v & (3 << 2s)) is
// code * 4^s, vpdpbusd accumulates it into a per-s accumulator, and the exact total is
// acc0 + acc1/4 + acc2/16 + acc3/64 (each acc_s is a multiple of 4^s; |4^s code q| <= 16384, so
// no lane can overflow for any K this engine sees). Four independent accumulators per group
// also hide vpdpbusd's latency.
//
// Batched decoding (2-4 tokens) uses the GEMV's single-group, shift-free loop with NT tokens.
// Prefill tiles 2 groups (32 rows) x 8 tokens: 16 accumulators, 8 unpacked code registers,
// each 64-byte weight load feeds 64 vpdpbusd.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/table.h"
#include "kernels/x86/avx512/avx512_common.h"

namespace tern::avx512 {
namespace {

template <int NG>
void gemv_tile(const uint8_t* codes, int64_t k_pad, const int8_t* q, int32_t* out) {
  const int64_t gb = tr_group_bytes(k_pad);
  const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c);
  const __m512i m2 = _mm512_set1_epi8(0x30), m3 = _mm512_set1_epi8(static_cast<char>(0xc0));
  __m512i acc[NG][4];
  for (int g = 0; g < NG; ++g) {
    for (int s = 0; s < 4; ++s) acc[g][s] = _mm512_setzero_si512();
  }
  const int64_t n_blocks = k_pad / kTrBlockCols;
  for (int64_t b = 0; b < n_blocks; ++b) {
    const int8_t* a = q + b * kTrBlockCols;
    const __m512i a0 = bcast4(a), a1 = bcast4(a + 4), a2 = bcast4(a + 8), a3 = bcast4(a + 12);
    for (int g = 0; g < NG; ++g) {
      _mm_prefetch(reinterpret_cast<const char*>(codes + g * gb + b * 64 + kPrefetch), _MM_HINT_T0);
      const __m512i v = _mm512_loadu_si512(codes + g * gb + b * 64);
      acc[g][0] = _mm512_dpbusd_epi32(acc[g][0], _mm512_and_si512(v, m0), a0);
      acc[g][1] = _mm512_dpbusd_epi32(acc[g][1], _mm512_and_si512(v, m1), a1);
      acc[g][2] = _mm512_dpbusd_epi32(acc[g][2], _mm512_and_si512(v, m2), a2);
      acc[g][3] = _mm512_dpbusd_epi32(acc[g][3], _mm512_and_si512(v, m3), a3);
    }
  }
  for (int g = 0; g < NG; ++g) {
    __m512i r = _mm512_add_epi32(acc[g][0], _mm512_srai_epi32(acc[g][1], 2));
    r = _mm512_add_epi32(r, _mm512_srai_epi32(acc[g][2], 4));
    r = _mm512_add_epi32(r, _mm512_srai_epi32(acc[g][3], 6));
    _mm512_storeu_si512(out + g * kTrRows, r);
  }
}

// Batched decoding (2-4 tokens): one group, one sequential stream, shift-free like the GEMV;
// each code vector serves NT tokens.
template <int NT>
void gemv_tokens(const uint8_t* codes, int64_t k_pad, const int8_t* q, int64_t q_stride, int32_t* out,
                 int64_t out_stride) {
  const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c);
  const __m512i m2 = _mm512_set1_epi8(0x30), m3 = _mm512_set1_epi8(static_cast<char>(0xc0));
  __m512i acc[NT][4];
  for (int t = 0; t < NT; ++t) {
    for (int s = 0; s < 4; ++s) acc[t][s] = _mm512_setzero_si512();
  }
  const int64_t n_blocks = k_pad / kTrBlockCols;
  for (int64_t b = 0; b < n_blocks; ++b) {
    const __m512i v = _mm512_loadu_si512(codes + b * 64);
    const __m512i c0 = _mm512_and_si512(v, m0), c1 = _mm512_and_si512(v, m1);
    const __m512i c2 = _mm512_and_si512(v, m2), c3 = _mm512_and_si512(v, m3);
    for (int t = 0; t < NT; ++t) {
      const int8_t* a = q + t * q_stride + b * kTrBlockCols;
      acc[t][0] = _mm512_dpbusd_epi32(acc[t][0], c0, bcast4(a));
      acc[t][1] = _mm512_dpbusd_epi32(acc[t][1], c1, bcast4(a + 4));
      acc[t][2] = _mm512_dpbusd_epi32(acc[t][2], c2, bcast4(a + 8));
      acc[t][3] = _mm512_dpbusd_epi32(acc[t][3], c3, bcast4(a + 12));
    }
  }
  for (int t = 0; t < NT; ++t) {
    __m512i r = _mm512_add_epi32(acc[t][0], _mm512_srai_epi32(acc[t][1], 2));
    r = _mm512_add_epi32(r, _mm512_srai_epi32(acc[t][2], 4));
    r = _mm512_add_epi32(r, _mm512_srai_epi32(acc[t][3], 6));
    _mm512_storeu_si512(out + t * out_stride, r);
  }
}

// The prefill tile's K loop: NG groups (16 NG rows) x NT tokens of sums in registers, handed
// to store (the integer sums, or BitLinear's epilogue) without leaving them.
template <int NG, int NT, class Store>
[[gnu::always_inline]] inline void gemm_tile_core(const uint8_t* codes, int64_t k_pad, const int8_t* q,
                                                  int64_t q_stride, Store&& store) {
  const int64_t gb = tr_group_bytes(k_pad);
  const __m512i m3 = _mm512_set1_epi8(3);
  __m512i acc[NG][NT];
  for (int g = 0; g < NG; ++g) {
    for (int t = 0; t < NT; ++t) acc[g][t] = _mm512_setzero_si512();
  }
  const int64_t n_blocks = k_pad / kTrBlockCols;
  for (int64_t b = 0; b < n_blocks; ++b) {
    __m512i c[NG][4];
    for (int g = 0; g < NG; ++g) {
      const __m512i v = _mm512_loadu_si512(codes + g * gb + b * 64);
      c[g][0] = _mm512_and_si512(v, m3);
      c[g][1] = _mm512_and_si512(_mm512_srli_epi16(v, 2), m3);
      c[g][2] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m3);
      c[g][3] = _mm512_and_si512(_mm512_srli_epi16(v, 6), m3);
    }
    const int8_t* a = q + b * kTrBlockCols;
    for (int s = 0; s < 4; ++s) {
      for (int t = 0; t < NT; ++t) {
        const __m512i av = bcast4(a + t * q_stride + 4 * s);
        for (int g = 0; g < NG; ++g) acc[g][t] = _mm512_dpbusd_epi32(acc[g][t], c[g][s], av);
      }
    }
  }
  store(acc);
}

template <int NG, int NT>
void gemm_tile(const uint8_t* codes, int64_t k_pad, const int8_t* q, int64_t q_stride, int32_t* out,
               int64_t out_stride) {
  gemm_tile_core<NG, NT>(codes, k_pad, q, q_stride, [&](const __m512i (&acc)[NG][NT]) {
    for (int t = 0; t < NT; ++t) {
      for (int g = 0; g < NG; ++g) _mm512_storeu_si512(out + t * out_stride + g * kTrRows, acc[g][t]);
    }
  });
}

inline __mmask16 first_n(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
}

// BitLinear's epilogue on the tile's registers (TrEpilogue in kernels/table.h): the same
// operations in the same order as bitlinear_out and relu_sqr_mul, so bit-identical to them.
// tok / row: the tile's first token and row within the tr16_bitlinear call; y is the call's.
template <int NG, int NT>
void bitlinear_tile(const uint8_t* codes, int64_t k_pad, const int8_t* q, int64_t q_stride, const TrEpilogue& ep,
                    int64_t tok, int64_t row, float* y, int64_t y_stride) {
  gemm_tile_core<NG, NT>(codes, k_pad, q, q_stride, [&](const __m512i (&acc)[NG][NT]) {
    __m512 rs[NG];
    for (int g = 0; g < NG; ++g) rs[g] = _mm512_loadu_ps(ep.row_scale + row + g * kTrRows);
    if constexpr (NG == 2) {
      if (ep.act == TrAct::kReluSqr) {
        const int64_t j = row / 2;
        const __mmask16 mk = first_n(ep.n_out - j);
        const __m512 zero = _mm512_setzero_ps();
        for (int t = 0; t < NT; ++t) {
          const __m512i qs = _mm512_set1_epi32(ep.qsum[tok + t]);
          const __m512 is = _mm512_set1_ps(ep.inv_scale[tok + t]);
          const __m512 gv = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[0][t], qs)), is), rs[0]);
          const __m512 uv = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[1][t], qs)), is), rs[1]);
          const __m512 r = _mm512_max_ps(gv, zero);  // a NaN gate gives 0, as relu_sqr_mul
          _mm512_mask_storeu_ps(y + (tok + t) * y_stride + j, mk, _mm512_mul_ps(_mm512_mul_ps(r, r), uv));
        }
        return;
      }
    }
    __mmask16 mk[NG];
    for (int g = 0; g < NG; ++g) mk[g] = first_n(ep.n_out - row - g * kTrRows);
    for (int t = 0; t < NT; ++t) {
      const __m512i qs = _mm512_set1_epi32(ep.qsum[tok + t]);
      const __m512 is = _mm512_set1_ps(ep.inv_scale[tok + t]);
      float* yt = y + (tok + t) * y_stride + row;
      for (int g = 0; g < NG; ++g) {
        const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[g][t], qs));
        _mm512_mask_storeu_ps(yt + g * kTrRows, mk[g], _mm512_mul_ps(_mm512_mul_ps(v, is), rs[g]));
      }
    }
  });
}

// Calls f with std::integral_constant<int, nt> for nt in 1..8 (the tile's token count).
template <class F>
void with_tokens(int64_t nt, F&& f) {
  switch (nt) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    case 4: f(std::integral_constant<int, 4>{}); break;
    case 5: f(std::integral_constant<int, 5>{}); break;
    case 6: f(std::integral_constant<int, 6>{}); break;
    case 7: f(std::integral_constant<int, 7>{}); break;
    default: f(std::integral_constant<int, 8>{}); break;
  }
}

template <int NG>
void gemm_tokens(const uint8_t* codes, int64_t k_pad, const int8_t* q, int64_t q_stride,
                 int64_t nt, int32_t* out, int64_t out_stride) {
  with_tokens(nt, [&](auto NT) { gemm_tile<NG, NT()>(codes, k_pad, q, q_stride, out, out_stride); });
}

constexpr int64_t kTok = 8;  // prefill tile: 8 tokens x 2 groups (16 accumulators)

}  // namespace

void tr16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
               int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  const int64_t gb = tr_group_bytes(k_pad);
  if (n_tok == 1) {
    // One group (one sequential stream) at a time: with weights coming from DRAM, two
    // interleaved group streams measured ~30% slower (BM_tr16_gemm/avx512_dram), though faster from L3.
    // The steady-state prefetch runs kPrefetch ahead; the stream's first kPrefetch bytes are
    // requested at once rather than missed one line at a time.
    const int64_t head = std::min(kPrefetch, n_groups * gb);
    for (int64_t off = 0; off < head; off += 64) _mm_prefetch(reinterpret_cast<const char*>(codes + off), _MM_HINT_T0);
    for (int64_t g = 0; g < n_groups; ++g) gemv_tile<1>(codes + g * gb, k_pad, q, out + g * kTrRows);
    return;
  }
  if (n_tok <= 4) {
    // Batched decoding: one group (one stream) at a time. The 2-group GEMM tile below read
    // 13824x2560 from DRAM at 14 GB/s with 2 tokens, this at 25.5 (memory-bound, as 1 token);
    // with 4 tokens 10 -> 13.3 GB/s, 91% of VNNI peak (BM_tr16_gemm/avx512_dram).
    for (int64_t g = 0; g < n_groups; ++g) {
      const uint8_t* cg = codes + g * gb;
      int32_t* og = out + g * kTrRows;
      switch (n_tok) {
        case 2: gemv_tokens<2>(cg, k_pad, q, q_stride, og, out_stride); break;
        case 3: gemv_tokens<3>(cg, k_pad, q, q_stride, og, out_stride); break;
        default: gemv_tokens<4>(cg, k_pad, q, q_stride, og, out_stride); break;
      }
    }
    return;
  }
  for (int64_t t0 = 0; t0 < n_tok; t0 += kTok) {
    const int64_t nt = n_tok - t0 < kTok ? n_tok - t0 : kTok;
    const int8_t* qt = q + t0 * q_stride;
    int32_t* ot = out + t0 * out_stride;
    int64_t g = 0;
    for (; g + 2 <= n_groups; g += 2) gemm_tokens<2>(codes + g * gb, k_pad, qt, q_stride, nt, ot + g * kTrRows, out_stride);
    if (g < n_groups) gemm_tokens<1>(codes + g * gb, k_pad, qt, q_stride, nt, ot + g * kTrRows, out_stride);
  }
}

// tr16_bitlinear for 5+ tokens (avx512_kernels.cpp sends decode and SiLU elsewhere): the
// prefill tiles of tr16_gemm with the epilogue applied in registers. A GLU call has an even
// group count, so every 2-group tile holds one gate/up pair.
void tr16_bitlinear_tiles(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                          int64_t q_stride, int64_t n_tok, const TrEpilogue& ep, float* y, int64_t y_stride) {
  const int64_t gb = tr_group_bytes(k_pad);
  for (int64_t t0 = 0; t0 < n_tok; t0 += kTok) {
    const int64_t nt = n_tok - t0 < kTok ? n_tok - t0 : kTok;
    const int8_t* qt = q + t0 * q_stride;
    int64_t g = 0;
    for (; g + 2 <= n_groups; g += 2) {
      with_tokens(nt, [&](auto NT) {
        bitlinear_tile<2, NT()>(codes + g * gb, k_pad, qt, q_stride, ep, t0, g * kTrRows, y, y_stride);
      });
    }
    if (g < n_groups) {
      with_tokens(nt, [&](auto NT) {
        bitlinear_tile<1, NT()>(codes + g * gb, k_pad, qt, q_stride, ep, t0, g * kTrRows, y, y_stride);
      });
    }
  }
}

}  // namespace tern::avx512
