// A ternary weight matrix repacked for the kernels: tern's TR16 layout, or TN16 where the kernel
// table prefers it (kernels/table.h, docs/PERFORMANCE.md), plus one float scale per output row, so
// out[r] = row_scale[r] * sum_k t(r,k) x(k). Per-tensor scales (I2_S, BitNet) are the common case
// and simply repeat; per-row scales come from fusing several tensors (q|k|v) or from files with
// per-row block scales.
#pragma once

#include <cstdint>

#include "core/aligned.h"

namespace tern {

// A matrix's code bytes: its own buffer, or a slice of a block shared by a model's matrices
// (TernaryMatrix::allocate's `place`).
struct CodeBytes {
  uint8_t* p = nullptr;
  size_t n = 0;
  uint8_t* data() { return p; }
  const uint8_t* data() const { return p; }
  size_t size() const { return n; }
};

struct TernaryMatrix {
  int64_t rows = 0;      // output features
  int64_t cols = 0;      // input features (K)
  int64_t rows_pad = 0;  // rows rounded up to 16; padding rows have zero weights
  int64_t k_pad = 0;     // K rounded up to 128; padding codes are 1 (zero weight)
  bool tn16 = false;     // layout of codes: TN16 or TR16
  CodeBytes codes;                  // [rows_pad / 16 groups][group_bytes()]
  AlignedBuffer<float> row_scale;   // [rows_pad] (0 on padding rows)

  // Sizes the matrix (all weights 0). The codes go to `place` when given (code_bytes(...) bytes,
  // 64-byte aligned, owned by the caller and outliving the matrix), else to a buffer of its own.
  void allocate(int64_t n_rows, int64_t n_cols, bool as_tn16 = false, uint8_t* place = nullptr);
  static size_t code_bytes(int64_t n_rows, int64_t n_cols, bool as_tn16);
  // The room a matrix takes in a shared block: code_bytes rounded up to 4 KiB, so every matrix
  // placed at a multiple of it starts on a page (the model loader's layout).
  static size_t slot_bytes(int64_t n_rows, int64_t n_cols, bool as_tn16) {
    return (code_bytes(n_rows, n_cols, as_tn16) + 4095) / 4096 * 4096;
  }
  // Writes row r from trits in {-1, 0, 1} (cols values). Rows may be set from several threads
  // at once (in TN16 neighbour rows share sign bytes, merged atomically).
  void set_row(int64_t r, const int8_t* trits, float scale);
  // Reads row r back into trits (cols values); for tests and debugging.
  void get_row(int64_t r, int8_t* trits) const;
  int64_t n_groups() const { return rows_pad / 16; }
  int64_t group_bytes() const;
  size_t bytes() const { return codes.size() + row_scale.size() * sizeof(float); }

 private:
  AlignedBuffer<uint8_t> own_codes_;  // codes when no place was given
};

// The layout weights load as: TN16 where the kernel table prefers it, else TR16.
// TERN_LAYOUT=tr16|tn16 overrides (A/B measurements; tn16 on any path runs the reference's TN16
// kernels, for tests); any other value is an error.
bool tn16_layout_wanted();

}  // namespace tern
