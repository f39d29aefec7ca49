// K-quants Q4_K (ggml type 12) and Q6_K (ggml type 14): 256-element super-blocks.
// Layouts and decoding: llama.cpp ggml/src/ggml-common.h (block_q4_K, block_q6_K) and
// ggml/src/ggml-quants.c (dequantize_row_q4_K, get_scale_min_k4, dequantize_row_q6_K).
// Decoding matches ggml exactly, including float evaluation order. The quantizers are a plain
// round-to-nearest fit (no importance weights, no scale search): llama-quantize writes
// different bytes for the same floats, but any Q4_K/Q6_K reader decodes ours correctly.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "formats/blocks.h"
#include "formats/rows.h"

namespace tern::formats {
namespace {

// Q4_K sub-block j's 6-bit scale and min from the 12 packed bytes: j < 4 keep them in the
// low 6 bits of bytes j and j+4; j >= 4 keep their low 4 bits in byte j+4 (scale low nibble,
// min high nibble) and their top 2 bits in the top bits of bytes j-4 (scale) and j (min).
void get_scale_min_q4_k(int j, const uint8_t* q, int& sc, int& m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

void set_scale_min_q4_k(int j, uint8_t* q, int sc, int m) {
  TERN_ASSERT(sc >= 0 && sc < 64 && m >= 0 && m < 64);
  if (j < 4) {
    q[j] = uint8_t((q[j] & 0xc0) | sc);
    q[j + 4] = uint8_t((q[j + 4] & 0xc0) | m);
  } else {
    q[j + 4] = uint8_t((sc & 0x0f) | ((m & 0x0f) << 4));
    q[j - 4] = uint8_t((q[j - 4] & 0x3f) | ((sc >> 4) << 6));
    q[j] = uint8_t((q[j] & 0x3f) | ((m >> 4) << 6));
  }
}

// Round half to even (the default FP environment), clamped to [lo, hi].
int round_clamp(float v, int lo, int hi) {
  const float r = std::nearbyint(v);
  return r < float(lo) ? lo : r > float(hi) ? hi : int(r);
}

}  // namespace

void dequantize_row_q4_k(const uint8_t* src, int64_t n, float* dst) {
  TERN_ASSERT(n % kQK_K == 0);
  for (int64_t ib = 0; ib < n / kQK_K; ++ib) {
    const auto b = load_block<BlockQ4_K>(src, ib);
    const float d = load_fp16(b.d);
    const float dmin = load_fp16(b.dmin);
    float* y = dst + ib * kQK_K;
    // 64 elements per 32 qs bytes: sub-block 2c in the low nibbles, 2c+1 in the high ones.
    for (int c = 0; c < 4; ++c) {
      int sc = 0, m = 0;
      get_scale_min_q4_k(2 * c, b.scales, sc, m);
      const float d1 = d * float(sc), m1 = dmin * float(m);
      get_scale_min_q4_k(2 * c + 1, b.scales, sc, m);
      const float d2 = d * float(sc), m2 = dmin * float(m);
      const uint8_t* q = b.qs + 32 * c;
      for (int l = 0; l < 32; ++l) y[64 * c + l] = d1 * float(q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) y[64 * c + 32 + l] = d2 * float(q[l] >> 4) - m2;
    }
  }
}

void quantize_row_q4_k(const float* src, int64_t n, uint8_t* dst) {
  TERN_ASSERT(n % kQK_K == 0);
  for (int64_t ib = 0; ib < n / kQK_K; ++ib) {
    const float* x = src + ib * kQK_K;
    // Per sub-block affine fit x ~ scale*q - min with q in [0, 15]; like ggml the min is
    // never positive, so all-positive sub-blocks start at 0.
    float scale[8], min[8];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
      float lo = 0.0f, hi = x[32 * j];
      for (int l = 0; l < 32; ++l) {
        lo = std::min(lo, x[32 * j + l]);
        hi = std::max(hi, x[32 * j + l]);
      }
      scale[j] = std::max(0.0f, (hi - lo) / 15.0f);
      min[j] = -lo;
      max_scale = std::max(max_scale, scale[j]);
      max_min = std::max(max_min, min[j]);
    }
    BlockQ4_K b{};
    store_fp16(b.d, max_scale / 63.0f);
    store_fp16(b.dmin, max_min / 63.0f);
    // Pick the 6-bit sub-scales against the fp16-rounded super-scales the decoder will use.
    const float d = load_fp16(b.d);
    const float dmin = load_fp16(b.dmin);
    for (int j = 0; j < 8; ++j) {
      const int sc = d > 0.0f ? round_clamp(scale[j] / d, 0, 63) : 0;
      const int m = dmin > 0.0f ? round_clamp(min[j] / dmin, 0, 63) : 0;
      set_scale_min_q4_k(j, b.scales, sc, m);
    }
    for (int j = 0; j < 8; ++j) {
      int sc = 0, m = 0;
      get_scale_min_q4_k(j, b.scales, sc, m);
      const float dl = d * float(sc), ml = dmin * float(m);
      uint8_t* q = b.qs + 32 * (j / 2);
      const int shift = (j % 2) * 4;
      for (int l = 0; l < 32; ++l) {
        const int v = dl > 0.0f ? round_clamp((x[32 * j + l] + ml) / dl, 0, 15) : 0;
        q[l] = uint8_t(q[l] | (v << shift));
      }
    }
    store_block(dst, ib, b);
  }
}

void dequantize_row_q6_k(const uint8_t* src, int64_t n, float* dst) {
  TERN_ASSERT(n % kQK_K == 0);
  for (int64_t ib = 0; ib < n / kQK_K; ++ib) {
    const auto b = load_block<BlockQ6_K>(src, ib);
    const float d = load_fp16(b.d);
    float* y = dst + ib * kQK_K;
    // Each half of 128 elements uses 64 ql bytes, 32 qh bytes and 8 scales. Element
    // l + 32*g of the half (g = 0..3) takes the low (g < 2) or high (g >= 2) nibble of
    // ql[l + 32*(g%2)] and bits 2g..2g+1 of qh[l]; its scale is scales[(element index)/16].
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b.ql + 64 * h;
      const uint8_t* qh = b.qh + 32 * h;
      const int8_t* sc = b.scales + 8 * h;
      float* yh = y + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        // (d * scale) * q, the order ggml evaluates it in.
        yh[l] = d * float(sc[is + 0]) * float(q1);
        yh[l + 32] = d * float(sc[is + 2]) * float(q2);
        yh[l + 64] = d * float(sc[is + 4]) * float(q3);
        yh[l + 96] = d * float(sc[is + 6]) * float(q4);
      }
    }
  }
}

void quantize_row_q6_k(const float* src, int64_t n, uint8_t* dst) {
  TERN_ASSERT(n % kQK_K == 0);
  for (int64_t ib = 0; ib < n / kQK_K; ++ib) {
    const float* x = src + ib * kQK_K;
    // Symmetric per 16-element sub-block: scale = absmax / 31 keeps q in [-31, 31].
    float scale[16];
    float max_scale = 0.0f;
    for (int j = 0; j < 16; ++j) {
      float amax = 0.0f;
      for (int l = 0; l < 16; ++l) amax = std::max(amax, std::fabs(x[16 * j + l]));
      scale[j] = amax / 31.0f;
      max_scale = std::max(max_scale, scale[j]);
    }
    BlockQ6_K b{};
    store_fp16(b.d, max_scale / 127.0f);
    const float d = load_fp16(b.d);
    uint8_t L[kQK_K];  // q + 32, in [0, 63]
    for (int j = 0; j < 16; ++j) {
      const int sc = d > 0.0f ? round_clamp(scale[j] / d, 0, 127) : 0;
      b.scales[j] = int8_t(sc);
      const float dl = d * float(sc);
      for (int l = 0; l < 16; ++l) {
        const int q = dl > 0.0f ? round_clamp(x[16 * j + l] / dl, -32, 31) : 0;
        L[16 * j + l] = uint8_t(q + 32);
      }
    }
    for (int h = 0; h < 2; ++h) {
      const uint8_t* Lh = L + 128 * h;
      for (int l = 0; l < 32; ++l) {
        b.ql[64 * h + l] = uint8_t((Lh[l] & 0x0f) | ((Lh[l + 64] & 0x0f) << 4));
        b.ql[64 * h + l + 32] = uint8_t((Lh[l + 32] & 0x0f) | ((Lh[l + 96] & 0x0f) << 4));
        b.qh[32 * h + l] = uint8_t((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) |
                                   ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
      }
    }
    store_block(dst, ib, b);
  }
}

}  // namespace tern::formats
