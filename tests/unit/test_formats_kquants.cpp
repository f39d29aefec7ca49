// Formats: K-quants Q4_K and Q6_K. Golden dequantization of hand-packed blocks (layout from
// llama.cpp ggml-common.h block_q4_K / block_q6_K and ggml-quants.c get_scale_min_k4,
// dequantize_row_q6_K), and error bounds of tern's round-to-nearest quantizers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "formats/formats.h"
#include "test_formats_util.h"

namespace tern::formats {
namespace {

// ---------------------------------------------------------------- Q4_K

TEST(FormatsQ4_K, GoldenDequantize) {
  // Block (144 bytes): d fp16, dmin fp16, scales[12], qs[128]; x = d*sc[j]*q - dmin*m[j]
  // for sub-block j = element/32.
  const int sc[8] = {1, 2, 3, 4, 5, 6, 7, 40};
  const int m[8] = {0, 1, 2, 3, 4, 5, 6, 50};
  std::vector<uint8_t> blk(144, 0);
  blk[0] = 0x00, blk[1] = 0x38;  // d = 0.5
  blk[2] = 0x00, blk[3] = 0x34;  // dmin = 0.25
  // scales: bytes 0-3 = sc[0..3] (low 6 bits) | top 2 bits of sc[4..7] in bits 7:6;
  //         bytes 4-7 = m[0..3] | top 2 bits of m[4..7]; bytes 8-11 = sc[4..7] & 15 |
  //         (m[4..7] & 15) << 4. sc[7] = 40 = 0b10'1000, m[7] = 50 = 0b11'0010.
  const uint8_t scales[12] = {1, 2, 3, 0x84, 0, 1, 2, 0xC3, 0x45, 0x56, 0x67, 0x28};
  std::copy(scales, scales + 12, blk.begin() + 4);
  // qs: 32 bytes per 64 elements; byte l of chunk c holds element 64c + l (low nibble) and
  // 64c + 32 + l (high nibble).
  int q[256] = {};
  blk[16 + 0] = 0x21;  // element 0: q 1, element 32: q 2
  q[0] = 1, q[32] = 2;
  blk[16 + 96] = 0xF3;  // chunk 3: element 192: q 3, element 224: q 15
  q[192] = 3, q[224] = 15;
  blk[16 + 45] = 0x70;  // chunk 1, byte 13: element 64 + 32 + 13 = 109: q 7
  q[109] = 7;

  std::vector<float> y(256);
  dequantize_rows(GgmlType::Q4_K, blk.data(), 1, 256, 0, 1, y.data());
  for (int e = 0; e < 256; ++e) {
    const int j = e / 32;
    EXPECT_EQ(y[e], 0.5f * float(sc[j]) * float(q[e]) - 0.25f * float(m[j])) << e;
  }
  EXPECT_EQ(y[224], 287.5f);  // 0.5*40*15 - 0.25*50
  EXPECT_EQ(y[192], 9.0f);    // 0.5*7*3 - 0.25*6
}

TEST(FormatsQ4_K, ErrorBound) {
  const int64_t rows = 3, cols = 1024;
  auto x = test::random_floats(rows * cols, 21, 2.0f);
  // Shift some blocks so that all-positive and all-negative sub-blocks occur.
  for (int i = 0; i < 256; ++i) x[i] += 8.0f;
  for (int i = 256; i < 512; ++i) x[i] -= 8.0f;
  auto q = quantize_tensor(GgmlType::Q4_K, x.data(), rows, cols);
  ASSERT_EQ(q.size(), size_t(rows * cols / 256 * 144));
  std::vector<float> y(x.size());
  dequantize_rows(GgmlType::Q4_K, q.data(), rows, cols, 0, rows, y.data());
  double se = 0;
  for (size_t b = 0; b < x.size() / 256; ++b) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      const float* xs = x.data() + b * 256 + j * 32;
      const float lo = std::min(0.0f, *std::min_element(xs, xs + 32));
      const float hi = *std::max_element(xs, xs + 32);
      max_scale = std::max(max_scale, (hi - lo) / 15);
      max_min = std::max(max_min, -lo);
    }
    // Half a 4-bit step of the widest sub-block, plus what rounding the 6-bit sub-scales and
    // mins to steps of max/63 can add at the ends of a sub-block's range.
    const float bound = 0.75f * max_scale + max_min / 63.0f;
    for (int i = 0; i < 256; ++i) {
      const size_t k = b * 256 + i;
      ASSERT_LE(std::fabs(y[k] - x[k]), bound) << "block " << b << " element " << i;
      // RMS over the unshifted blocks only: shifted ones are coarser by design (min <= 0).
      if (b >= 2) se += double(y[k] - x[k]) * (y[k] - x[k]);
    }
  }
  // About step/sqrt(12): 32 normal samples span ~4 sigma, so the step is ~0.27 sigma.
  EXPECT_LT(std::sqrt(se / double(x.size() - 512)), 0.1 * 2.0);
}

TEST(FormatsQ4_K, ZeroAndConstantBlocks) {
  std::vector<float> x(512, 0.0f);
  for (int i = 256; i < 512; ++i) x[i] = -1.5f;  // constant negative: all min, no scale
  auto q = quantize_tensor(GgmlType::Q4_K, x.data(), 1, 512);
  std::vector<float> y(512);
  dequantize_rows(GgmlType::Q4_K, q.data(), 1, 512, 0, 1, y.data());
  for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], 0.0f) << i;
  for (int i = 256; i < 512; ++i) ASSERT_NEAR(y[i], -1.5f, 1e-3f) << i;
}

// ---------------------------------------------------------------- Q6_K

TEST(FormatsQ6_K, GoldenDequantize) {
  // Block (210 bytes): ql[128] at 0, qh[64] at 128, int8 scales[16] at 192, fp16 d at 208.
  // x = d * scales[e/16] * (q6 - 32). In half h (128 elements) element l + 32g takes the low
  // (g < 2) or high (g >= 2) nibble of ql[64h + l + 32*(g%2)] and bits 2g+1:2g of qh[32h + l].
  std::vector<uint8_t> blk(210, 0);
  int8_t sc[16];
  for (int i = 0; i < 16; ++i) sc[i] = int8_t(i + 1);
  sc[15] = -3;
  for (int i = 0; i < 16; ++i) blk[192 + i] = uint8_t(sc[i]);
  blk[208] = 0x00, blk[209] = 0x38;      // d = 0.5
  int raw[256] = {};                     // the 6-bit q of each element
  blk[0] |= 0x0F, blk[128 + 0] |= 0x03;  // e 0: h0 g0 l0: low nibble 15, qh bits 1:0 = 3
  raw[0] = 63;
  blk[36] |= 0x50, blk[128 + 4] |= 0x80;  // e 100: h0 g3 l4: ql[4+32] high = 5, qh[4] 7:6 = 2
  raw[100] = 37;
  blk[66] |= 0x01, blk[128 + 34] |= 0x02;  // e 130: h1 g0 l2: ql[64+2] low = 1, qh[32+2] 1:0 = 2
  raw[130] = 33;
  blk[127] |= 0x10;  // e 255: h1 g3 l31: ql[64+31+32] high = 1, qh 0
  raw[255] = 1;

  std::vector<float> y(256);
  dequantize_rows(GgmlType::Q6_K, blk.data(), 1, 256, 0, 1, y.data());
  for (int e = 0; e < 256; ++e) EXPECT_EQ(y[e], 0.5f * float(sc[e / 16]) * float(raw[e] - 32)) << e;
  EXPECT_EQ(y[0], 15.5f);
  EXPECT_EQ(y[100], 17.5f);
  EXPECT_EQ(y[130], 4.5f);
  EXPECT_EQ(y[255], 46.5f);  // negative scale times negative q
  EXPECT_EQ(y[254], 48.0f);  // 0.5 * -3 * (0 - 32)
}

TEST(FormatsQ6_K, ErrorBound) {
  const int64_t rows = 3, cols = 768;
  auto x = test::random_floats(rows * cols, 31, 0.5f);
  for (int i = 0; i < 16; ++i) x[i] *= 0.001f;  // a near-zero sub-block next to normal ones
  auto q = quantize_tensor(GgmlType::Q6_K, x.data(), rows, cols);
  ASSERT_EQ(q.size(), size_t(rows * cols / 256 * 210));
  std::vector<float> y(x.size());
  dequantize_rows(GgmlType::Q6_K, q.data(), rows, cols, 0, rows, y.data());
  double se = 0;
  for (size_t b = 0; b < x.size() / 256; ++b) {
    float amax = 0;
    for (int i = 0; i < 256; ++i) amax = std::max(amax, std::fabs(x[b * 256 + i]));
    // Half a step of the widest sub-block (amax/31) with room for the 8-bit sub-scale rounding.
    const float bound = 0.6f * amax / 31.0f;
    for (int i = 0; i < 256; ++i) {
      const size_t k = b * 256 + i;
      ASSERT_LE(std::fabs(y[k] - x[k]), bound) << "block " << b << " element " << i;
      se += double(y[k] - x[k]) * (y[k] - x[k]);
    }
  }
  // About step/sqrt(12): 16 normal samples have absmax ~1.8 sigma, step ~0.06 sigma.
  EXPECT_LT(std::sqrt(se / double(x.size())), 0.025 * 0.5);
}

TEST(FormatsQ6_K, ZeroBlock) {
  std::vector<float> x(256, 0.0f);
  auto q = quantize_tensor(GgmlType::Q6_K, x.data(), 1, 256);
  std::vector<float> y(256, 1.0f);
  dequantize_rows(GgmlType::Q6_K, q.data(), 1, 256, 0, 1, y.data());
  for (float v : y) ASSERT_EQ(v, 0.0f);
}

TEST(FormatsKQuants, RowSubsetMatchesWholeTensor) {
  const int64_t rows = 4, cols = 512;
  auto x = test::random_floats(rows * cols, 9);
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q6_K}) {
    auto q = quantize_tensor(t, x.data(), rows, cols);
    std::vector<float> all(rows * cols), part(cols);
    dequantize_rows(t, q.data(), rows, cols, 0, rows, all.data());
    dequantize_rows(t, q.data(), rows, cols, 3, 1, part.data());
    for (int64_t i = 0; i < cols; ++i) ASSERT_EQ(part[i], all[3 * cols + i]) << ggml_type_name(t);
  }
}

}  // namespace
}  // namespace tern::formats
