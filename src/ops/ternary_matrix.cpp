#include "ops/ternary_matrix.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "kernels/table.h"

namespace tern {

bool tn16_layout_wanted() {
  const char* e = std::getenv("TERN_LAYOUT");
  if (!e || !*e) return kernels().prefers_tn16;
  const std::string v = e;
  if (v == "tr16") return false;
  if (v == "tn16") return true;
  throw Error("TERN_LAYOUT='" + v + "' is not a weight layout: use tr16 or tn16 (or leave it unset)");
}

int64_t TernaryMatrix::group_bytes() const { return tn16 ? tn_group_bytes(k_pad) : tr_group_bytes(k_pad); }

void TernaryMatrix::allocate(int64_t n_rows, int64_t n_cols, bool as_tn16) {
  TERN_ASSERT(n_rows > 0 && n_cols > 0);
  rows = n_rows;
  cols = n_cols;
  rows_pad = round_up_rows(n_rows);
  k_pad = round_up_k(n_cols);
  tn16 = as_tn16;
  codes.resize(static_cast<size_t>(n_groups() * group_bytes()));
  // Every code 1 (weight 0): TR16 bytes 0x55; in TN16 the triple (1, 1, 1) is nibble 13, sign 0.
  std::memset(codes.data(), 0x55, codes.size());
  if (tn16) {
    for (int64_t g = 0; g < n_groups(); ++g) {
      for (int64_t s = 0; s < tn_supers(k_pad); ++s) {
        uint8_t* sb = codes.data() + g * group_bytes() + s * kTnSuperBytes;
        std::memset(sb, 0xdd, 256);
        std::memset(sb + 256, 0, kTnSuperBytes - 256);
      }
    }
  }
  row_scale.resize(static_cast<size_t>(rows_pad));
  std::memset(row_scale.data(), 0, row_scale.size() * sizeof(float));
}

void TernaryMatrix::set_row(int64_t r, const int8_t* trits, float scale) {
  TERN_ASSERT(r >= 0 && r < rows);
  auto code_at = [&](int64_t col) {
    const int code = col < cols ? trits[col] + 1 : 1;
    TERN_ASSERT(code >= 0 && code <= 2);
    return code;
  };
  const int64_t g = r / kTrRows, lane = r % kTrRows;
  int64_t tr_from = 0;  // first column stored as TR16
  if (tn16) {
    // A row owns its nibbles (4 bytes per chunk) but shares sign bytes with the next row
    // (8 triples per byte), so those bits are set atomically: rows may load on several threads.
    uint8_t* grp = codes.data() + g * group_bytes();
    for (int64_t c = 0; c < tn_supers(k_pad) * kTnSuperCols; c += kTnSuperCols) {
      for (int64_t j = 0; j < 4; ++j) {
        for (int64_t h = 0; h < 2; ++h) {
          for (int64_t i = 0; i < 4; ++i) {
            const int64_t c0 = c + 24 * j + 12 * h + i;
            const int x = 9 * code_at(c0) + 3 * code_at(c0 + 4) + code_at(c0 + 8);
            const TnSpot at = tn16_locate(lane, c0);
            const int n = x <= 13 ? x : 26 - x;
            grp[at.byte] = static_cast<uint8_t>((grp[at.byte] & ~(15 << at.shift)) | (n << at.shift));
            std::atomic_ref<uint8_t> sign(grp[at.sign_byte]);
            const uint8_t bit = static_cast<uint8_t>(1u << at.sign_bit);
            if (x > 13) {
              sign.fetch_or(bit, std::memory_order_relaxed);
            } else {
              sign.fetch_and(static_cast<uint8_t>(~bit), std::memory_order_relaxed);
            }
          }
        }
      }
    }
    tr_from = tn_supers(k_pad) * kTnSuperCols;
  }
  // TR16 (the whole row, or TN16's tail): a row owns 4 whole bytes per block (one 32-bit lane).
  uint8_t* blocks = codes.data() + g * group_bytes() + (tn16 ? tn_supers(k_pad) * kTnSuperBytes : 0);
  for (int64_t b = 0; b < (k_pad - tr_from) / kTrBlockCols; ++b) {
    for (int j = 0; j < 4; ++j) {
      uint8_t v = 0;
      for (int s = 0; s < 4; ++s) v |= static_cast<uint8_t>(code_at(tr_from + b * kTrBlockCols + 4 * s + j) << (2 * s));
      blocks[b * 64 + lane * 4 + j] = v;
    }
  }
  row_scale[static_cast<size_t>(r)] = scale;
}

void TernaryMatrix::get_row(int64_t r, int8_t* trits) const {
  TERN_ASSERT(r >= 0 && r < rows);
  const int64_t g = r / kTrRows, lane = r % kTrRows;
  const uint8_t* grp = codes.data() + g * group_bytes();
  const int64_t tr_from = tn16 ? tn_supers(k_pad) * kTnSuperCols : 0;
  for (int64_t col = 0; col < cols; ++col) {
    int code;
    if (col < tr_from) {
      const TnSpot at = tn16_locate(lane, col);
      code = tn16_code((grp[at.byte] >> at.shift) & 15, (grp[at.sign_byte] >> at.sign_bit) & 1, at.p);
    } else {
      const int64_t w = col - tr_from;
      const uint8_t* blocks = grp + (tn16 ? tn_supers(k_pad) * kTnSuperBytes : 0);
      code = (blocks[w / kTrBlockCols * 64 + lane * 4 + w % 4] >> (2 * ((w % kTrBlockCols) / 4))) & 3;
    }
    trits[col] = static_cast<int8_t>(code - 1);
  }
}

}  // namespace tern
