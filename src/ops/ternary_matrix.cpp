#include "ops/ternary_matrix.h"

#include <cstring>

#include "core/error.h"
#include "kernels/table.h"

namespace tern {
namespace {

// Byte and bit shift holding the code of (row r, column c) in TR16 (kernels/table.h).
inline void tr16_locate(int64_t k_pad, int64_t r, int64_t c, int64_t* byte, int* shift) {
  const int64_t g = r / kTrRows, lane = r % kTrRows, b = c / kTrBlockCols, w = c % kTrBlockCols;
  *byte = g * tr_group_bytes(k_pad) + b * 64 + lane * 4 + (w % 4);
  *shift = static_cast<int>(2 * (w / 4));
}

}  // namespace

void TernaryMatrix::allocate(int64_t n_rows, int64_t n_cols) {
  TERN_ASSERT(n_rows > 0 && n_cols > 0);
  rows = n_rows;
  cols = n_cols;
  rows_pad = round_up_rows(n_rows);
  k_pad = round_up_k(n_cols);
  codes.resize(static_cast<size_t>(rows_pad / kTrRows * tr_group_bytes(k_pad)));
  std::memset(codes.data(), 0x55, codes.size());  // every code 1: weight 0
  row_scale.resize(static_cast<size_t>(rows_pad));
  std::memset(row_scale.data(), 0, row_scale.size() * sizeof(float));
}

void TernaryMatrix::set_row(int64_t r, const int8_t* trits, float scale) {
  TERN_ASSERT(r >= 0 && r < rows);
  // A row owns 4 whole bytes per block (one 32-bit lane), so rows written by different threads
  // never share a byte.
  for (int64_t b = 0; b < k_pad / kTrBlockCols; ++b) {
    int64_t base;
    int unused;
    tr16_locate(k_pad, r, b * kTrBlockCols, &base, &unused);
    for (int j = 0; j < 4; ++j) {
      uint8_t v = 0;
      for (int s = 0; s < 4; ++s) {
        const int64_t col = b * kTrBlockCols + 4 * s + j;
        const int code = col < cols ? trits[col] + 1 : 1;
        TERN_ASSERT(code >= 0 && code <= 2);
        v |= static_cast<uint8_t>(code << (2 * s));
      }
      codes[static_cast<size_t>(base + j)] = v;
    }
  }
  row_scale[static_cast<size_t>(r)] = scale;
}

void TernaryMatrix::get_row(int64_t r, int8_t* trits) const {
  TERN_ASSERT(r >= 0 && r < rows);
  for (int64_t col = 0; col < cols; ++col) {
    int64_t byte;
    int shift;
    tr16_locate(k_pad, r, col, &byte, &shift);
    trits[col] = static_cast<int8_t>(((codes[static_cast<size_t>(byte)] >> shift) & 3) - 1);
  }
}

}  // namespace tern
