// The same 256-bit VNNI ternary GEMM/GEMV as avxvnni_ternary.cpp with the EVEX-encoded
// vpdpbusd (AVX-512 VL + VNNI), for CPUs that have AVX-512 VNNI but not AVX-VNNI (Ice Lake,
// Zen 4): the "avxvnni" path runs this there, which is also how the tests run that path's code
// on such hosts. Compiled with -mavx2 -mavx512vl -mavx512vnni for this file only.
#include "kernels/x86/avx2/ymm_tr16.h"

namespace tern::avxvnni {
namespace {

struct EvexDp {
  static __m256i dp(__m256i acc, __m256i u8, __m256i s8) { return _mm256_dpbusd_epi32(acc, u8, s8); }
};

}  // namespace

void tr16_gemm_evex(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                    int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  ymm_tr16_gemm<VnniDot<EvexDp>>(codes, n_groups, k_pad, q, q_stride, n_tok, out, out_stride);
}

}  // namespace tern::avxvnni
