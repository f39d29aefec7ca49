// AVX2 ternary GEMM/GEMV over the TR16 layout: the 256-bit kernel of ymm_tr16.h with maddubs.
// Compiled with -mavx2 for this file only.
#include "kernels/x86/avx2/ymm_tr16.h"

namespace tern::avx2 {

void tr16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
               int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  ymm_tr16_gemm<MaddubsDot>(codes, n_groups, k_pad, q, q_stride, n_tok, out, out_stride);
}

}  // namespace tern::avx2
