// The AVX-VNNI ternary GEMM/GEMV (Alder Lake and later, Zen 5): the 256-bit kernel of
// ymm_tr16.h with the VEX-encoded vpdpbusd. Compiled with -mavx2 -mavxvnni for this file only.
#include "kernels/x86/avx2/ymm_tr16.h"

namespace tern::avxvnni {
namespace {

struct VexDp {
  static __m256i dp(__m256i acc, __m256i u8, __m256i s8) { return _mm256_dpbusd_avx_epi32(acc, u8, s8); }
};

}  // namespace

void tr16_gemm_vex(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                   int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  ymm_tr16_gemm<VnniDot<VexDp>>(codes, n_groups, k_pad, q, q_stride, n_tok, out, out_stride);
}

}  // namespace tern::avxvnni
