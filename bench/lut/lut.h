// Lookup-table ternary GEMV (T-MAC / bitnet.cpp TL2 idea) for the LUT-vs-multiply-add
// measurement in docs/PERFORMANCE.md. Bench-only: not part of the engine's kernel table.
//
// Format "LT3" (1.67 bits/weight, like TL2): columns are padded to K3 (K rounded up to 12) and
// cut into groups of 3; a group of 3 ternary weights (w0, w1, w2) is one of 27 patterns, stored
// as a sign bit and a 4-bit magnitude index m in 0..13 (the pattern with its first nonzero
// weight made +1; m = 0 is all zero). 4 + 1 bits per 3 weights.
//
// Per token a table holds, for each group and each m, the partial sum of the pattern times the
// group's 3 activations. To keep it exact with bytes, each int8 activation q is split as
// q = 16 h + l (l = q & 15 in 0..15, h = q >> 4 in -8..7) and the table has two byte planes:
//   lo[m] = kBiasLo + sum_i w_i(m) l_i   in 3..93        hi[m] = kBiasHi + sum_i w_i(m) h_i  in 0..48
// so sum_i w_i q_i = (lo[m] - kBiasLo) + 16 (hi[m] - kBiasHi), and with the sign s = +-1 of each
// group, a row's dot product is
//   sum_g s_g (lo[m_g] + 16 hi[m_g]) - (kBiasLo + 16 kBiasHi) * sum_g s_g
// where sum_g s_g is fixed per row (stored in the matrix as a per-row correction). bitnet.cpp's
// TL2 likewise keeps int16 table entries as two byte planes (utils/codegen_tl2.py,
// three_lut_ctor); the bias lets the table bytes be unsigned, so the sign can be the signed
// operand of vpdpbusd.
//
// Table layout, per quad of 4 groups (12 columns), 128 bytes: byte 16 j + m = lo of group j,
// byte 64 + 16 j + m = hi (m = 14, 15 unused). Built per token, shared by every matrix that reads
// the same activations.
//
// Weight layouts (one sequential stream per row tile):
//   AVX-512 (vpermb, VBMI): tiles of 128 rows; per quad 320 bytes: 4 chunks x 64 bytes of nibbles,
//     then 4 x 16 bytes of sign bits. In chunk c, byte p: low nibble = m of (row 32c + p/4, group
//     p%4), high nibble = m of (row 32c + 16 + p/4, group p%4); sign word 2c (64 bits, bit p) for
//     the low nibbles, 2c+1 for the high. So one vpermb over the quad's 64-byte table gives
//     16 rows x 4 groups with each 32-bit lane one row: vpdpbusd(acc, lookup, sign) sums it.
//   AVX2 (vpshufb): tiles of 64 rows; per group 40 bytes: 32 bytes of nibbles (byte r: low
//     nibble = row r, high nibble = row 32 + r), then two 32-bit sign words (rows 0-31, 32-63).
//     vpshufb has one 16-byte table per 128-bit lane, so a register is 32 rows of one group.
#pragma once

#include <cstdint>
#include <vector>

#include "core/aligned.h"

namespace tern::lut {

inline constexpr int kBiasLo = 48;
inline constexpr int kBiasHi = 24;
inline constexpr int64_t kQuadCols = 12;
inline constexpr int64_t kTableQuadBytes = 128;
inline constexpr int64_t kTileRows512 = 128;
inline constexpr int64_t kQuadBytes512 = 320;  // per 128-row tile
inline constexpr int64_t kTileRows2 = 64;
inline constexpr int64_t kGroupBytes2 = 40;  // per 64-row tile

inline constexpr int64_t round_up_k3(int64_t k) { return (k + kQuadCols - 1) / kQuadCols * kQuadCols; }

// Weight pattern of magnitude index m (0..13): w_i(m) in {-1, 0, 1}.
int pattern_weight(int m, int i);

struct Lt3Matrix {
  int64_t rows = 0, k = 0, k3 = 0;
  AlignedBuffer<uint8_t> data;  // one copy; layout per ISA (above)
  std::vector<int32_t> corr;    // [rows]: (kBiasLo + 16 kBiasHi) * sum_g s_g
  int64_t bytes() const { return static_cast<int64_t>(data.size()); }
};

// w: [rows x k] ternary weights (-1, 0, 1), row-major. rows must be a multiple of the tile.
Lt3Matrix pack_lt3_avx512(const int8_t* w, int64_t rows, int64_t k);
Lt3Matrix pack_lt3_avx2(const int8_t* w, int64_t rows, int64_t k);

// Tables for one token: q has k3 values (zero-padded) plus 16 readable bytes; tab gets
// k3 / 12 * 128 bytes.
void build_tables_ref(const int8_t* q, int64_t k3, uint8_t* tab);

// out[r] = sum_k w(r, k) q[k] (true ternary dot product, not TR16's code sum).
void lt3_gemv_ref_avx512_layout(const Lt3Matrix& m, const uint8_t* data, const uint8_t* tab, int32_t* out);

namespace avx512 {
void build_tables(const int8_t* q, int64_t k3, uint8_t* tab);
void lt3_gemv(const Lt3Matrix& m, const uint8_t* data, const uint8_t* tab, int32_t* out);
// Cost bound for a lossy single-plane (int8) table: the same kernel without the hi plane.
// Its output is NOT the dot product; it only times what bitnet.cpp-style int8 tables would cost.
void lt3_gemv_lo_only(const Lt3Matrix& m, const uint8_t* data, const uint8_t* tab, int32_t* out);
// n_tok tokens at once (tabs: n_tok tables of k3/12*128 bytes each, back to back);
// out[t * rows + r].
void lt3_gemm(const Lt3Matrix& m, const uint8_t* data, const uint8_t* tabs, int64_t n_tok, int32_t* out);
}  // namespace avx512

namespace avx2 {
void build_tables(const int8_t* q, int64_t k3, uint8_t* tab);
void lt3_gemv(const Lt3Matrix& m, const uint8_t* data, const uint8_t* tab, int32_t* out);
}  // namespace avx2

}  // namespace tern::lut
