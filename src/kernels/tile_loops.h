// Loops the TR16 kernels of several ISAs share. Included by files built with different
// instruction-set flags, so everything here has internal linkage.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/table.h"

namespace tern {
namespace {

// tr16_gemm's outer loops for kernels that take up to 4 tokens against one group: tokens 4 at
// a time, each quad against every group in turn. Calls group(NT, codes of the group,
// activations of the quad's first token, out at that token and group), NT an integral_constant
// (1..4).
template <class Group>
void tr16_token_quads(Group&& group, const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                      int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  const int64_t gb = tr_group_bytes(k_pad);
  constexpr int64_t kTok = 4;
  for (int64_t t0 = 0; t0 < n_tok; t0 += kTok) {
    const int64_t nt = n_tok - t0 < kTok ? n_tok - t0 : kTok;
    const int8_t* qt = q + t0 * q_stride;
    for (int64_t g = 0; g < n_groups; ++g) {
      const uint8_t* w = codes + g * gb;
      int32_t* o = out + t0 * out_stride + g * kTrRows;
      switch (nt) {
        case 1: group(std::integral_constant<int, 1>{}, w, qt, o); break;
        case 2: group(std::integral_constant<int, 2>{}, w, qt, o); break;
        case 3: group(std::integral_constant<int, 3>{}, w, qt, o); break;
        default: group(std::integral_constant<int, 4>{}, w, qt, o); break;
      }
    }
  }
}

}  // namespace
}  // namespace tern
