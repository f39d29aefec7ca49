#include "ops/ternary_matrix.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/table.h"

namespace tern {

bool tn16_layout_wanted() {
  const char* e = std::getenv("TERN_LAYOUT");
  if (!e || !*e) return kernels().prefers_tn16;
  const std::string v = e;
  if (v == "tr16") return false;
  if (v == "tn16") return true;
  fail("TERN_LAYOUT='", v, "' is not a weight layout: use tr16 or tn16 (or leave it unset)");
}

namespace {
int64_t layout_group_bytes(int64_t k_pad, bool tn16) { return tn16 ? tn_group_bytes(k_pad) : tr_group_bytes(k_pad); }
}  // namespace

int64_t TernaryMatrix::group_bytes() const { return layout_group_bytes(k_pad, tn16); }

size_t TernaryMatrix::code_bytes(int64_t n_rows, int64_t n_cols, bool as_tn16) {
  return static_cast<size_t>(round_up_rows(n_rows) / kTrRows * layout_group_bytes(round_up_k(n_cols), as_tn16));
}

void TernaryMatrix::allocate(int64_t n_rows, int64_t n_cols, bool as_tn16, uint8_t* place) {
  TERN_ASSERT(n_rows > 0 && n_cols > 0);
  TERN_ASSERT(reinterpret_cast<uintptr_t>(place) % kAlign == 0);
  rows = n_rows;
  cols = n_cols;
  rows_pad = round_up_rows(n_rows);
  k_pad = round_up_k(n_cols);
  tn16 = as_tn16;
  const size_t n = code_bytes(n_rows, n_cols, as_tn16);
  if (place) {
    own_codes_ = AlignedBuffer<uint8_t>();
    codes = {place, n};
  } else {
    own_codes_.resize(n);
    codes = {own_codes_.data(), n};
  }
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

namespace {
// 4 consecutive codes as the bytes of a word, the first in the low byte (set_row's sign bits
// rely on that order).
static_assert(std::endian::native == std::endian::little, "TernaryMatrix::set_row assumes little-endian words");
inline uint32_t load4(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
}  // namespace

void TernaryMatrix::set_row(int64_t r, const int8_t* trits, float scale) {
  TERN_ASSERT(r >= 0 && r < rows);
  // The row's codes (trit + 1) over k_pad columns, padding 1 (weight 0), checked once. Both
  // layouts take 4 consecutive columns at a time (one row's 4 bytes of a chunk) as a word, one
  // code per byte: loading 2B-4T packs ~2 G weights.
  thread_local std::vector<uint8_t> codes_buf;
  codes_buf.resize(static_cast<size_t>(k_pad));
  uint8_t* cb = codes_buf.data();
  int8_t lo = 0, hi = 0;
  for (int64_t col = 0; col < cols; ++col) {
    lo = std::min(lo, trits[col]);
    hi = std::max(hi, trits[col]);
    cb[col] = static_cast<uint8_t>(trits[col] + 1);
  }
  TERN_ASSERT(lo >= -1 && hi <= 1);
  std::memset(cb + cols, 1, static_cast<size_t>(k_pad - cols));
  const int64_t g = r / kTrRows, lane = r % kTrRows;
  int64_t tr_from = 0;  // first column stored as TR16
  if (tn16) {
    // Per (superblock, j, h) the row has 4 triples (i = 0..3): codes x = 9 c0 + 3 c1 + c2 per
    // byte (<= 26, no carries), the sign where x >= 14 (x + 114 reaches bit 7), n = x or 26 - x.
    // The row owns its nibble bytes but shares each sign byte with its neighbour row (lanes 2m
    // and 2m + 1 hold bits 0-3 and 4-7), so its 4 bits are merged with a compare-and-swap: rows
    // may load on several threads. Laid out as in table.h.
    uint8_t* grp = codes.data() + g * group_bytes();
    const int sign_shift = static_cast<int>(lane % 2) * 4;
    const uint8_t sign_keep = static_cast<uint8_t>(~(15 << sign_shift));
    for (int64_t sb_i = 0; sb_i < tn_supers(k_pad); ++sb_i) {
      uint8_t* sb = grp + sb_i * kTnSuperBytes;
      for (int64_t j = 0; j < 4; ++j) {
        uint32_t nib = 0;
        for (int h = 0; h < 2; ++h) {
          const uint8_t* c = cb + sb_i * kTnSuperCols + 24 * j + 12 * h;
          const uint32_t x = 9 * load4(c) + 3 * load4(c + 4) + load4(c + 8);
          const uint32_t neg = ((x + 0x72727272u) & 0x80808080u) >> 7;  // 1 per byte with x >= 14
          const uint32_t n = x ^ ((x ^ (0x1a1a1a1au - x)) & (neg * 0xffu));
          nib |= n << (4 * h);
          const int bits = static_cast<int>((neg & 1) | (neg >> 7 & 2) | (neg >> 14 & 4) | (neg >> 21 & 8));
          std::atomic_ref<uint8_t> sign(sb[256 + 16 * j + 8 * h + lane / 2]);
          uint8_t old = sign.load(std::memory_order_relaxed);
          while (!sign.compare_exchange_weak(old, static_cast<uint8_t>((old & sign_keep) | bits << sign_shift),
                                             std::memory_order_relaxed)) {
          }
        }
        std::memcpy(sb + 64 * j + lane * 4, &nib, 4);
      }
    }
    tr_from = tn_supers(k_pad) * kTnSuperCols;
  }
  // TR16 (the whole row, or TN16's tail): a row owns 4 whole bytes per block (one 32-bit lane);
  // byte j holds columns j, j + 4, j + 8, j + 12 of the block at bits 1:0, 3:2, 5:4, 7:6.
  uint8_t* blocks = codes.data() + g * group_bytes() + (tn16 ? tn_supers(k_pad) * kTnSuperBytes : 0);
  for (int64_t b = 0; b < (k_pad - tr_from) / kTrBlockCols; ++b) {
    const uint8_t* c = cb + tr_from + b * kTrBlockCols;
    const uint32_t v = load4(c) | load4(c + 4) << 2 | load4(c + 8) << 4 | load4(c + 12) << 6;
    std::memcpy(blocks + b * 64 + lane * 4, &v, 4);
  }
  row_scale[static_cast<size_t>(r)] = scale;
}

void TernaryMatrix::get_row(int64_t r, int8_t* trits) const {
  TERN_ASSERT(r >= 0 && r < rows);
  const int64_t lane = r % kTrRows;
  const uint8_t* grp = codes.data() + r / kTrRows * group_bytes();
  for (int64_t col = 0; col < cols; ++col) {
    const int code = tn16 ? tn16_code_at(grp, k_pad, lane, col) : tr16_code_at(grp, lane, col);
    trits[col] = static_cast<int8_t>(code - 1);
  }
}

}  // namespace tern
