// LT3 packing, scalar table construction and a scalar LT3 GEMV (lut.h), used to validate the
// SIMD kernels (which are in turn checked against tern's TR16 reference in bench_lut.cpp).
#include <cassert>
#include <cstring>

#include "lut.h"

namespace tern::lut {
namespace {

// (w0, w1, w2) -> (magnitude index m, sign): base-3 value v = 9(w0+1) + 3(w1+1) + (w2+1); v = 13
// is all zero, v > 13 are the patterns whose first nonzero weight is +1 (m = v - 13), and
// negating a pattern maps v to 26 - v.
void encode(const int8_t* w3, int* m, int* s) {
  const int v = 9 * (w3[0] + 1) + 3 * (w3[1] + 1) + (w3[2] + 1);
  *s = v < 13;
  *m = v < 13 ? 13 - v : v - 13;
}

// The 3 weights of group g of row r (zero past k).
void group_weights(const int8_t* w, int64_t k, int64_t r, int64_t g, int8_t* w3) {
  for (int i = 0; i < 3; ++i) w3[i] = 3 * g + i < k ? w[r * k + 3 * g + i] : 0;
}

Lt3Matrix alloc(int64_t rows, int64_t k, int64_t tile) {
  assert(rows % tile == 0);
  Lt3Matrix m;
  m.rows = rows;
  m.k = k;
  m.k3 = round_up_k3(k);
  m.data.resize(static_cast<size_t>(rows * m.k3 / 3 * 5 / 8));
  m.corr.assign(static_cast<size_t>(rows), 0);
  return m;
}

}  // namespace

int pattern_weight(int m, int i) {
  const int v = m + 13;
  const int d[3] = {v / 9, v / 3 % 3, v % 3};
  return d[i] - 1;
}

Lt3Matrix pack_lt3_avx512(const int8_t* w, int64_t rows, int64_t k) {
  Lt3Matrix mat = alloc(rows, k, kTileRows512);
  const int64_t n_quads = mat.k3 / kQuadCols;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t tile = r / kTileRows512, rt = r % kTileRows512;
    const int64_t c = rt / 32, half = rt % 32 / 16, row16 = rt % 16;
    int32_t ssum = 0;
    for (int64_t qd = 0; qd < n_quads; ++qd) {
      uint8_t* blk = mat.data.data() + (tile * n_quads + qd) * kQuadBytes512;
      for (int j = 0; j < 4; ++j) {
        int8_t w3[3];
        int m, s;
        group_weights(w, k, r, 4 * qd + j, w3);
        encode(w3, &m, &s);
        ssum += s ? -1 : 1;
        const int p = static_cast<int>(4 * row16 + j);
        blk[64 * c + p] |= static_cast<uint8_t>(m << (4 * half));
        blk[256 + 16 * c + 8 * half + p / 8] |= static_cast<uint8_t>(s << (p % 8));
      }
    }
    mat.corr[static_cast<size_t>(r)] = (kBiasLo + 16 * kBiasHi) * ssum;
  }
  return mat;
}

Lt3Matrix pack_lt3_avx2(const int8_t* w, int64_t rows, int64_t k) {
  Lt3Matrix mat = alloc(rows, k, kTileRows2);
  const int64_t n_groups = mat.k3 / 3;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t tile = r / kTileRows2, rt = r % kTileRows2;
    int32_t ssum = 0;
    for (int64_t g = 0; g < n_groups; ++g) {
      uint8_t* blk = mat.data.data() + (tile * n_groups + g) * kGroupBytes2;
      int8_t w3[3];
      int m, s;
      group_weights(w, k, r, g, w3);
      encode(w3, &m, &s);
      ssum += s ? -1 : 1;
      blk[rt % 32] |= static_cast<uint8_t>(m << (4 * (rt / 32)));
      blk[32 + rt / 8] |= static_cast<uint8_t>(s << (rt % 8));
    }
    mat.corr[static_cast<size_t>(r)] = (kBiasLo + 16 * kBiasHi) * ssum;
  }
  return mat;
}

void build_tables_ref(const int8_t* q, int64_t k3, uint8_t* tab) {
  for (int64_t g = 0; g < k3 / 3; ++g) {
    uint8_t* t = tab + g / 4 * kTableQuadBytes + 16 * (g % 4);
    for (int m = 0; m < 16; ++m) {
      int lo = kBiasLo, hi = kBiasHi;
      for (int i = 0; m < 14 && i < 3; ++i) {
        const int qi = q[3 * g + i];
        lo += pattern_weight(m, i) * (qi & 15);
        hi += pattern_weight(m, i) * (qi >> 4);
      }
      t[m] = static_cast<uint8_t>(lo);
      t[64 + m] = static_cast<uint8_t>(hi);
    }
  }
}

void lt3_gemv_ref_avx512_layout(const Lt3Matrix& mat, const uint8_t* data, const uint8_t* tab, int32_t* out) {
  const int64_t n_quads = mat.k3 / kQuadCols;
  for (int64_t r = 0; r < mat.rows; ++r) {
    const int64_t tile = r / kTileRows512, rt = r % kTileRows512;
    const int64_t c = rt / 32, half = rt % 32 / 16, row16 = rt % 16;
    int32_t acc = 0;
    for (int64_t qd = 0; qd < n_quads; ++qd) {
      const uint8_t* blk = data + (tile * n_quads + qd) * kQuadBytes512;
      const uint8_t* t = tab + qd * kTableQuadBytes;
      for (int j = 0; j < 4; ++j) {
        const int p = static_cast<int>(4 * row16 + j);
        const int m = blk[64 * c + p] >> (4 * half) & 15;
        const int s = blk[256 + 16 * c + 8 * half + p / 8] >> (p % 8) & 1;
        acc += (s ? -1 : 1) * (t[16 * j + m] + 16 * t[64 + 16 * j + m]);
      }
    }
    out[r] = acc - mat.corr[static_cast<size_t>(r)];
  }
}

}  // namespace tern::lut
