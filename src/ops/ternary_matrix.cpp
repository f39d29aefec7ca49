#include "ops/ternary_matrix.h"

#include <cstring>

#include "core/error.h"
#include "kernels/table.h"

namespace tern {

void TernaryMatrix::allocate(int64_t n_rows, int64_t n_cols) {
  TERN_ASSERT(n_rows > 0 && n_cols > 0);
  rows = n_rows;
  cols = n_cols;
  k_pad = round_up_t2(n_cols);
  codes.resize(static_cast<size_t>(rows * k_pad / 4));
  std::memset(codes.data(), 0x55, codes.size());  // every code 1: weight 0
  row_scale.resize(static_cast<size_t>(rows));
}

void TernaryMatrix::set_row(int64_t r, const int8_t* trits, float scale) {
  TERN_ASSERT(r >= 0 && r < rows);
  uint8_t* dst = codes.data() + r * (k_pad / 4);
  for (int64_t c = 0; c < k_pad; c += kT2Chunk) {
    for (int j = 0; j < 32; ++j) {
      uint8_t b = 0;
      for (int s = 0; s < 4; ++s) {
        const int64_t col = c + j + 32 * s;
        const int code = col < cols ? trits[col] + 1 : 1;
        TERN_ASSERT(code >= 0 && code <= 2);
        b |= static_cast<uint8_t>(code << (2 * s));
      }
      dst[c / 4 + j] = b;
    }
  }
  row_scale[static_cast<size_t>(r)] = scale;
}

void TernaryMatrix::get_row(int64_t r, int8_t* trits) const {
  TERN_ASSERT(r >= 0 && r < rows);
  const uint8_t* src = codes.data() + r * (k_pad / 4);
  for (int64_t col = 0; col < cols; ++col) {
    const int64_t c = col / kT2Chunk * kT2Chunk, within = col - c;
    const uint8_t b = src[c / 4 + within % 32];
    trits[col] = static_cast<int8_t>(((b >> (2 * (within / 32))) & 3) - 1);
  }
}

}  // namespace tern
