// Ternary types: TQ1_0 (ggml type 34), TQ2_0 (type 35), I2_S (bitnet.cpp type 36).
// TQ*: llama.cpp ggml/src/ggml-common.h (block_tq1_0, block_tq2_0) and ggml/src/ggml-quants.c
// (quantize_row_tq1_0_ref, quantize_row_tq2_0_ref, dequantize_row_tq1_0/tq2_0).
// I2_S: microsoft/BitNet src/ggml-bitnet-mad.cpp (quantize_i2_s, x86 / ACT_PARALLEL layout).
// Layout diagrams: docs/FORMATS.md.
#include <cmath>

#include "core/error.h"
#include "formats/blocks.h"
#include "formats/rows.h"

namespace tern::formats {
namespace {

constexpr uint8_t kPow3[6] = {1, 3, 9, 27, 81, 243};

// Code of a trit in TQ2_0 and I2_S: -1/0/+1 -> 0/1/2.
inline uint8_t trit_code(int8_t t) { return uint8_t(t + 1); }
// Code 3 is never written by either reference quantizer; read it as 0 rather than as +2
// (what llama.cpp's dequantizer and bitnet.cpp's kernel would compute) so a corrupt byte
// cannot produce a weight outside {-1, 0, 1}.
inline int8_t code_trit(uint8_t c) { return c == 3 ? int8_t(0) : int8_t(int(c) - 1); }

// Five (or four, then a zero trit) base-3 digits, first most significant, stored as the
// fixed-point fraction ceil(v * 256 / 243) so that digit k is recovered by multiplying the
// byte by 3^k modulo 256 and taking the top bits of 3 * that (see tq1_0_digit).
inline uint8_t tq1_0_byte(uint32_t v) {
  TERN_ASSERT(v < 243);
  return uint8_t((v * 256 + 242) / 243);
}
inline int8_t tq1_0_digit(uint8_t byte, int k) {
  const uint8_t q = uint8_t(byte * kPow3[k]);  // modulo 256 on purpose
  return int8_t(((uint16_t(q) * 3) >> 8) - 1);
}

bool all_zero(const int8_t* t, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (t[i] != 0) return false;
  return true;
}

void encode_tq1_0_block(const int8_t* t, float d, BlockTQ1_0& b) {
  // qs[0..31]: elements m + 32k (k = 0..4) -> elements 0..159.
  for (int m = 0; m < 32; ++m) {
    uint32_t v = 0;
    for (int k = 0; k < 5; ++k) v = v * 3 + trit_code(t[m + 32 * k]);
    b.qs[m] = tq1_0_byte(v);
  }
  // qs[32..47]: elements 160 + m + 16k (k = 0..4) -> elements 160..239.
  for (int m = 0; m < 16; ++m) {
    uint32_t v = 0;
    for (int k = 0; k < 5; ++k) v = v * 3 + trit_code(t[160 + m + 16 * k]);
    b.qs[32 + m] = tq1_0_byte(v);
  }
  // qh[0..3]: elements 240 + j + 4k (k = 0..3), then a fifth zero digit so the first trit is
  // still the most significant one.
  for (int j = 0; j < 4; ++j) {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = v * 3 + trit_code(t[240 + j + 4 * k]);
    b.qh[j] = tq1_0_byte(v * 3);
  }
  store_fp16(b.d, d);
}

void decode_tq1_0_block(const BlockTQ1_0& b, int8_t* t) {
  for (int m = 0; m < 32; ++m)
    for (int k = 0; k < 5; ++k) t[m + 32 * k] = tq1_0_digit(b.qs[m], k);
  for (int m = 0; m < 16; ++m)
    for (int k = 0; k < 5; ++k) t[160 + m + 16 * k] = tq1_0_digit(b.qs[32 + m], k);
  for (int j = 0; j < 4; ++j)
    for (int k = 0; k < 4; ++k) t[240 + j + 4 * k] = tq1_0_digit(b.qh[j], k);
}

// TQ2_0: in each 32-byte half, byte m holds elements m, m+32, m+64, m+96 of that half's 128
// at bit offsets 0, 2, 4, 6 (lowest bits first, unlike I2_S).
void encode_tq2_0_block(const int8_t* t, float d, BlockTQ2_0& b) {
  for (int h = 0; h < 2; ++h) {
    for (int m = 0; m < 32; ++m) {
      uint8_t q = 0;
      for (int k = 0; k < 4; ++k) q = uint8_t(q | (trit_code(t[128 * h + m + 32 * k]) << (2 * k)));
      b.qs[32 * h + m] = q;
    }
  }
  store_fp16(b.d, d);
}

void decode_tq2_0_block(const BlockTQ2_0& b, int8_t* t) {
  for (int h = 0; h < 2; ++h)
    for (int m = 0; m < 32; ++m)
      for (int k = 0; k < 4; ++k)
        t[128 * h + m + 32 * k] = code_trit((b.qs[32 * h + m] >> (2 * k)) & 3);
}

// llama.cpp's TQ quantizers: d = block absmax (stored as fp16); trit = round-half-away(x / d)
// computed as x * (1/d) with the unrounded float d.
float tq_ternarize_block(const float* x, int8_t* t) {
  float amax = 0.0f;
  for (int64_t i = 0; i < kQK_K; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float id = amax != 0.0f ? 1.0f / amax : 0.0f;
  for (int64_t i = 0; i < kQK_K; ++i) {
    const long r = std::lroundf(x[i] * id);  // |x * id| <= 1 up to one rounding
    t[i] = int8_t(r < -1 ? -1 : r > 1 ? 1 : r);
  }
  return amax;
}

}  // namespace

// ---- TQ1_0 and TQ2_0: the same row logic over their two block codecs

namespace {

void encode_block(const int8_t* t, float d, BlockTQ1_0& b) { encode_tq1_0_block(t, d, b); }
void encode_block(const int8_t* t, float d, BlockTQ2_0& b) { encode_tq2_0_block(t, d, b); }
void decode_block(const BlockTQ1_0& b, int8_t* t) { decode_tq1_0_block(b, t); }
void decode_block(const BlockTQ2_0& b, int8_t* t) { decode_tq2_0_block(b, t); }

template <class Block>
void unpack_row_tq(const uint8_t* src, int64_t n, int8_t* trits, float* block_scales) {
  TERN_ASSERT(n % kQK_K == 0);
  for (int64_t ib = 0; ib < n / kQK_K; ++ib) {
    const auto b = load_block<Block>(src, ib);
    decode_block(b, trits + ib * kQK_K);
    block_scales[ib] = load_fp16(b.d);
  }
}

// An all-zero block gets d = 0, as llama.cpp's quantizer writes it.
template <class Block>
void pack_row_tq(const int8_t* trits, int64_t n, float scale, uint8_t* dst) {
  TERN_ASSERT(n % kQK_K == 0);
  for (int64_t ib = 0; ib < n / kQK_K; ++ib) {
    const int8_t* t = trits + ib * kQK_K;
    Block b;
    encode_block(t, all_zero(t, kQK_K) ? 0.0f : scale, b);
    store_block(dst, ib, b);
  }
}

template <class Block>
void quantize_row_tq(const float* src, int64_t n, uint8_t* dst) {
  TERN_ASSERT(n % kQK_K == 0);
  int8_t t[kQK_K];
  for (int64_t ib = 0; ib < n / kQK_K; ++ib) {
    const float d = tq_ternarize_block(src + ib * kQK_K, t);
    Block b;
    encode_block(t, d, b);
    store_block(dst, ib, b);
  }
}

template <class Block>
void dequantize_row_tq(const uint8_t* src, int64_t n, float* dst) {
  TERN_ASSERT(n % kQK_K == 0);
  int8_t t[kQK_K];
  for (int64_t ib = 0; ib < n / kQK_K; ++ib) {
    const auto b = load_block<Block>(src, ib);
    decode_block(b, t);
    const float d = load_fp16(b.d);
    for (int64_t i = 0; i < kQK_K; ++i) dst[ib * kQK_K + i] = float(t[i]) * d;
  }
}

}  // namespace

void unpack_row_tq1_0(const uint8_t* src, int64_t n, int8_t* trits, float* block_scales) {
  unpack_row_tq<BlockTQ1_0>(src, n, trits, block_scales);
}
void pack_row_tq1_0(const int8_t* trits, int64_t n, float scale, uint8_t* dst) { pack_row_tq<BlockTQ1_0>(trits, n, scale, dst); }
void quantize_row_tq1_0(const float* src, int64_t n, uint8_t* dst) { quantize_row_tq<BlockTQ1_0>(src, n, dst); }
void dequantize_row_tq1_0(const uint8_t* src, int64_t n, float* dst) { dequantize_row_tq<BlockTQ1_0>(src, n, dst); }

void unpack_row_tq2_0(const uint8_t* src, int64_t n, int8_t* trits, float* block_scales) {
  unpack_row_tq<BlockTQ2_0>(src, n, trits, block_scales);
}
void pack_row_tq2_0(const int8_t* trits, int64_t n, float scale, uint8_t* dst) { pack_row_tq<BlockTQ2_0>(trits, n, scale, dst); }
void quantize_row_tq2_0(const float* src, int64_t n, uint8_t* dst) { quantize_row_tq<BlockTQ2_0>(src, n, dst); }
void dequantize_row_tq2_0(const uint8_t* src, int64_t n, float* dst) { dequantize_row_tq<BlockTQ2_0>(src, n, dst); }

// ---- I2_S code stream: each 128 elements -> 32 bytes; byte j holds elements j, j+32, j+64,
// j+96 of the block in bits 7:6, 5:4, 3:2, 1:0 (highest bits first, unlike TQ2_0).

void unpack_codes_i2_s(const uint8_t* src, int64_t n, int8_t* trits) {
  TERN_ASSERT(n % kQK_I2S == 0);
  for (int64_t blk = 0; blk < n / kQK_I2S; ++blk) {
    const uint8_t* q = src + blk * (kQK_I2S / 4);
    int8_t* t = trits + blk * kQK_I2S;
    for (int j = 0; j < 32; ++j)
      for (int g = 0; g < 4; ++g) t[32 * g + j] = code_trit((q[j] >> (6 - 2 * g)) & 3);
  }
}

void dequantize_codes_i2_s(const uint8_t* src, int64_t n, float scale, float* dst) {
  TERN_ASSERT(n % kQK_I2S == 0);
  for (int64_t blk = 0; blk < n / kQK_I2S; ++blk) {
    const uint8_t* q = src + blk * (kQK_I2S / 4);
    float* y = dst + blk * kQK_I2S;
    for (int j = 0; j < 32; ++j)
      for (int g = 0; g < 4; ++g)
        y[32 * g + j] = float(code_trit((q[j] >> (6 - 2 * g)) & 3)) * scale;
  }
}

void pack_codes_i2_s(const int8_t* trits, int64_t n, uint8_t* dst) {
  TERN_ASSERT(n % kQK_I2S == 0);
  for (int64_t blk = 0; blk < n / kQK_I2S; ++blk) {
    const int8_t* t = trits + blk * kQK_I2S;
    uint8_t* q = dst + blk * (kQK_I2S / 4);
    for (int j = 0; j < 32; ++j) {
      uint8_t byte = 0;
      for (int g = 0; g < 4; ++g) byte = uint8_t(byte | (trit_code(t[32 * g + j]) << (6 - 2 * g)));
      q[j] = byte;
    }
  }
}

int8_t i2_s_trit_of(float x) {
  // bitnet.cpp compares in double: |x| < 1e-6 is zero, otherwise only the sign survives.
  if (std::fabs(double(x)) < 1e-6) return 0;
  return x > 0.0f ? int8_t(1) : int8_t(-1);
}

}  // namespace tern::formats
