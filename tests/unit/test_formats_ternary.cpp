// Formats: ternary types I2_S (bitnet.cpp), TQ1_0 and TQ2_0 (llama.cpp). Golden bytes are
// worked out by hand in the comments from the layouts in docs/FORMATS.md.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/fp16.h"
#include "formats/formats.h"
#include "test_formats_util.h"

namespace tern::formats {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

constexpr GgmlType kTernary[] = {GgmlType::I2_S, GgmlType::TQ1_0, GgmlType::TQ2_0};

float f32_at(const std::vector<uint8_t>& v, size_t off) {
  float f;
  std::memcpy(&f, v.data() + off, 4);
  return f;
}

// ---------------------------------------------------------------- I2_S

TEST(FormatsI2_S, GoldenBytes) {
  // 2 rows x 128: one flat stream of 32-byte blocks (one per 128 elements), byte j holds
  // elements j, j+32, j+64, j+96 in bits 7:6, 5:4, 3:2, 1:0; code = trit + 1. Then the f32
  // scale at byte n/4 = 64 and 28 zero bytes.
  std::vector<int8_t> t(256, 0);
  t[0] = 1, t[32] = -1, t[64] = 0, t[96] = 1;  // byte 0: 2<<6 | 0<<4 | 1<<2 | 2 = 0x86
  t[1] = -1;                                   // byte 1: 0<<6 | 1<<4 | 1<<2 | 1 = 0x15
  t[128 + 127] = -1;                           // row 1, byte 31: 1<<6|1<<4|1<<2|0 = 0x54
  std::vector<uint8_t> want(96, 0x55);         // all-zero trits: codes 1,1,1,1
  want[0] = 0x86;
  want[1] = 0x15;
  want[32 + 31] = 0x54;
  // scale 0.5f = 0x3F000000, little-endian, then zeros.
  for (int i = 64; i < 96; ++i) want[i] = 0;
  want[67] = 0x3F;
  EXPECT_THAT(pack_ternary(GgmlType::I2_S, t.data(), 2, 128, 0.5f), ElementsAreArray(want));

  // bitnet.cpp's quantizer on trit * 0.5 gives the same bytes.
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = 0.5f * t[i];
  EXPECT_THAT(quantize_tensor(GgmlType::I2_S, x.data(), 2, 128), ElementsAreArray(want));
}

TEST(FormatsI2_S, QuantizerKeepsSignsAndAbsmax) {
  // bitnet.cpp quantize_i2_s: scale = absmax of the whole tensor; |x| < 1e-6 -> 0; otherwise
  // only the sign is kept.
  std::vector<float> x(128, 0.0f);
  x[0] = 0.3f, x[1] = -0.01f, x[2] = 5e-7f, x[3] = -2.0f, x[4] = 1.5e-6f, x[5] = -9e-7f;
  auto q = quantize_tensor(GgmlType::I2_S, x.data(), 1, 128);
  std::vector<int8_t> t(128);
  std::vector<float> s;
  unpack_ternary_row(GgmlType::I2_S, q.data(), 1, 128, 0, t.data(), s);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], 2.0f);
  EXPECT_EQ(t[0], 1);
  EXPECT_EQ(t[1], -1);
  EXPECT_EQ(t[2], 0);
  EXPECT_EQ(t[3], -1);
  EXPECT_EQ(t[4], 1);
  EXPECT_EQ(t[5], 0);
  EXPECT_EQ(t[6], 0);
  // byte 0 = codes of elements 0, 32, 64, 96 = 2,1,1,1 -> 0x95; byte 3 = 0,1,1,1 -> 0x15.
  EXPECT_EQ(q[0], 0x95);
  EXPECT_EQ(q[3], 0x15);
}

TEST(FormatsI2_S, Code3DecodesAsZero) {
  std::vector<uint8_t> data(32 + 32, 0xFF);  // every code 3
  const float scale = 1.25f;
  std::memcpy(data.data() + 32, &scale, 4);
  std::vector<int8_t> t(128, 7);
  std::vector<float> s;
  unpack_ternary_row(GgmlType::I2_S, data.data(), 1, 128, 0, t.data(), s);
  for (int8_t v : t) ASSERT_EQ(v, 0);
  data[0] = 0x3C;  // codes 0,3,3,0: element 0 -> -1, 32 -> 0, 64 -> 0, 96 -> -1
  std::vector<float> y(128, 7.0f);
  dequantize_rows(GgmlType::I2_S, data.data(), 1, 128, 0, 1, y.data());
  EXPECT_EQ(y[0], -1.25f);
  EXPECT_EQ(y[32], 0.0f);
  EXPECT_EQ(y[64], 0.0f);
  EXPECT_EQ(y[96], -1.25f);
  EXPECT_EQ(y[1], 0.0f);
}

TEST(FormatsI2_S, AllZeroTensorStoresZeroScale) {
  std::vector<int8_t> t(128, 0);
  auto q = pack_ternary(GgmlType::I2_S, t.data(), 1, 128, 3.0f);
  EXPECT_EQ(f32_at(q, 32), 0.0f);
}

// ---------------------------------------------------------------- TQ2_0

TEST(FormatsTQ2_0, GoldenBytes) {
  // 1 block: qs[64] then fp16 d. In each 32-byte half, byte m holds elements m, m+32, m+64,
  // m+96 of that half's 128 at bits 1:0, 3:2, 5:4, 7:6; code = trit + 1.
  std::vector<int8_t> t(256, 0);
  t[0] = 1, t[32] = -1, t[64] = 0, t[96] = 1;  // byte 0: 2 | 0<<2 | 1<<4 | 2<<6 = 0x92
  t[128] = -1;                                 // byte 32: 0 | 1<<2 | 1<<4 | 1<<6 = 0x54
  t[128 + 31 + 96] = 1;                        // byte 63: 1 | 1<<2 | 1<<4 | 2<<6 = 0x95
  std::vector<uint8_t> want(66, 0x55);
  want[0] = 0x92;
  want[32] = 0x54;
  want[63] = 0x95;
  want[64] = 0x00, want[65] = 0x38;  // d = fp16(0.5) = 0x3800
  EXPECT_THAT(pack_ternary(GgmlType::TQ2_0, t.data(), 1, 256, 0.5f), ElementsAreArray(want));
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = 0.5f * t[i];
  EXPECT_THAT(quantize_tensor(GgmlType::TQ2_0, x.data(), 1, 256), ElementsAreArray(want));
}

TEST(FormatsTQ2_0, Code3DecodesAsZero) {
  std::vector<uint8_t> blk(66, 0xFF);
  blk[64] = 0x00, blk[65] = 0x3C;  // d = 1
  blk[0] = 0xC6;                   // codes (bits 1:0 first) 2,1,0,3 -> +1, 0, -1, 0
  std::vector<int8_t> t(256, 7);
  std::vector<float> s;
  unpack_ternary_row(GgmlType::TQ2_0, blk.data(), 1, 256, 0, t.data(), s);
  EXPECT_EQ(t[0], 1);
  EXPECT_EQ(t[32], 0);
  EXPECT_EQ(t[64], -1);
  EXPECT_EQ(t[96], 0);
  for (int i = 1; i < 32; ++i) ASSERT_EQ(t[i], 0);
  std::vector<float> y(256);
  dequantize_rows(GgmlType::TQ2_0, blk.data(), 1, 256, 0, 1, y.data());
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[64], -1.0f);
  EXPECT_EQ(y[96], 0.0f);
  EXPECT_EQ(y[200], 0.0f);
}

// ---------------------------------------------------------------- TQ1_0

TEST(FormatsTQ1_0, GoldenBytes) {
  // 1 block: qs[48], qh[4], fp16 d. Byte m < 32 holds elements m + 32k (k = 0..4), bytes
  // 32 + m hold 160 + m + 16k, qh[j] holds 240 + j + 4k (k = 0..3, then a zero digit); the
  // codes c_k = trit + 1 form v = sum c_k 3^(4-k) and the byte is ceil(v * 256 / 243).
  std::vector<int8_t> t(256, 0);
  // All-zero qs byte: v = 81+27+9+3+1 = 121 -> ceil(30976/243) = 128 = 0x80.
  // All-zero qh byte: v = (27+9+3+1)*3 = 120 -> ceil(30720/243) = 127 = 0x7F.
  std::vector<uint8_t> want(54, 0x80);
  for (int j = 48; j < 52; ++j) want[j] = 0x7F;
  // Byte 0: elements 0, 32, 64, 96, 128 = +1, -1, 0, +1, -1 -> codes 2,0,1,2,0:
  // v = 162 + 0 + 9 + 6 + 0 = 177 -> ceil(45312/243) = ceil(186.47) = 187 = 0xBB.
  t[0] = 1, t[32] = -1, t[64] = 0, t[96] = 1, t[128] = -1;
  want[0] = 0xBB;
  // Byte 32: element 160 = +1 -> codes 2,1,1,1,1: v = 162+27+9+3+1 = 202 -> ceil(212.80) = 213.
  t[160] = 1;
  want[32] = 0xD5;
  // Byte 47: elements 175, 191, 207, 223, 239; element 239 = -1 -> codes 1,1,1,1,0:
  // v = 81+27+9+3+0 = 120 -> ceil(30720/243) = 127 = 0x7F.
  t[239] = -1;
  want[47] = 0x7F;
  // qh[1]: elements 241, 245, 249, 253; element 241 = +1 -> codes 2,1,1,1:
  // v = (54+9+3+1)*3 = 201 -> ceil(51456/243) = ceil(211.75) = 212 = 0xD4.
  t[241] = 1;
  want[49] = 0xD4;
  // qh[3]: elements 243, 247, 251, 255; element 255 = -1 -> codes 1,1,1,0:
  // v = (27+9+3+0)*3 = 117 -> ceil(29952/243) = ceil(123.26) = 124 = 0x7C.
  t[255] = -1;
  want[51] = 0x7C;
  want[52] = 0x00, want[53] = 0x34;  // d = fp16(0.25) = 0x3400
  EXPECT_THAT(pack_ternary(GgmlType::TQ1_0, t.data(), 1, 256, 0.25f), ElementsAreArray(want));
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = 0.25f * t[i];
  EXPECT_THAT(quantize_tensor(GgmlType::TQ1_0, x.data(), 1, 256), ElementsAreArray(want));
}

TEST(FormatsTQ1_0, EveryDigitPatternRoundTrips) {
  // 243 rows; row r puts the 5 base-3 digits of r into the qs[0] group (elements 0, 32, ...,
  // 128), into the qs[32] group (160, 176, ..., 224), and the 4 digits of r % 81 into the
  // qh[0] group (240, 244, 248, 252): every byte value the encoder can write is decoded back.
  const int rows = 243;
  std::vector<int8_t> t = test::random_trits(size_t(rows) * 256, 77);
  for (int r = 0; r < rows; ++r) {
    int v = r;
    for (int k = 4; k >= 0; --k, v /= 3) {
      t[r * 256 + 32 * k] = int8_t(v % 3 - 1);
      t[r * 256 + 160 + 16 * k] = int8_t(v % 3 - 1);
    }
    v = r % 81;
    for (int k = 3; k >= 0; --k, v /= 3) t[r * 256 + 240 + 4 * k] = int8_t(v % 3 - 1);
  }
  auto q = pack_ternary(GgmlType::TQ1_0, t.data(), rows, 256, 1.0f);
  std::vector<int8_t> back(256);
  std::vector<float> s;
  for (int r = 0; r < rows; ++r) {
    unpack_ternary_row(GgmlType::TQ1_0, q.data(), rows, 256, r, back.data(), s);
    for (int i = 0; i < 256; ++i)
      ASSERT_EQ(back[i], t[r * 256 + i]) << "row " << r << " element " << i;
  }
}

TEST(FormatsTQ1_0, AnyByteDecodesToTrits) {
  // Bytes the encoder never writes (e.g. 0, 255) still decode to values in {-1, 0, 1}.
  std::vector<uint8_t> blk(54);
  for (int b = 0; b < 256; ++b) {
    std::fill(blk.begin(), blk.begin() + 52, uint8_t(b));
    blk[52] = 0x00, blk[53] = 0x3C;
    std::vector<int8_t> t(256);
    std::vector<float> s;
    unpack_ternary_row(GgmlType::TQ1_0, blk.data(), 1, 256, 0, t.data(), s);
    for (int8_t v : t) ASSERT_TRUE(v >= -1 && v <= 1) << b;
  }
}

// ---------------------------------------------------------------- all ternary types

TEST(FormatsTernary, PackUnpackRoundTrip) {
  const int64_t rows = 3, cols = 768;  // multiple of 256 and 128
  auto t = test::random_trits(size_t(rows * cols), 5);
  const float scale = 0.0123f;
  for (GgmlType type : kTernary) {
    auto q = pack_ternary(type, t.data(), rows, cols, scale);
    ASSERT_EQ(q.size(), tensor_bytes(type, rows, cols)) << ggml_type_name(type);
    // Scale as stored: f32 for I2_S, fp16 d for TQ*.
    const float stored = type == GgmlType::I2_S ? scale : fp16_to_f32(f32_to_fp16(scale));
    std::vector<int8_t> back(cols);
    std::vector<float> s;
    std::vector<float> y(cols);
    for (int64_t r = 0; r < rows; ++r) {
      unpack_ternary_row(type, std::span<const uint8_t>(q), rows, cols, r, back.data(), s);
      ASSERT_EQ(s.size(), type == GgmlType::I2_S ? 1u : size_t(cols / 256)) << ggml_type_name(type);
      for (float v : s) ASSERT_EQ(v, stored) << ggml_type_name(type);
      for (int64_t i = 0; i < cols; ++i)
        ASSERT_EQ(back[i], t[r * cols + i]) << ggml_type_name(type) << " " << i;
      dequantize_rows(type, q.data(), rows, cols, r, 1, y.data());
      for (int64_t i = 0; i < cols; ++i)
        ASSERT_EQ(y[i], float(t[r * cols + i]) * stored) << ggml_type_name(type) << " " << i;
    }
  }
}

TEST(FormatsTernary, QuantizeOfTritsTimesScaleEqualsPack) {
  const int64_t rows = 2, cols = 512;
  auto t = test::random_trits(size_t(rows * cols), 8);
  const float scale = 1.7f;
  std::vector<float> x(t.size());
  for (size_t i = 0; i < t.size(); ++i) x[i] = float(t[i]) * scale;
  for (GgmlType type : kTernary)
    EXPECT_EQ(quantize_tensor(type, x.data(), rows, cols),
              pack_ternary(type, t.data(), rows, cols, scale))
        << ggml_type_name(type);
}

TEST(FormatsTernary, TqQuantizerRoundsPerBlockAbsmax) {
  // llama.cpp: d = block absmax; trit = round(x / d), halves away from zero.
  std::vector<float> x(512, 0.0f);
  x[0] = 2.0f, x[1] = 1.0f, x[2] = -0.98f, x[3] = -1.0f, x[4] = 0.5f;  // block 0, d = 2
  x[256] = -0.5f, x[257] = 0.2f;                                       // block 1, d = 0.5
  for (GgmlType type : {GgmlType::TQ1_0, GgmlType::TQ2_0}) {
    auto q = quantize_tensor(type, x.data(), 1, 512);
    std::vector<int8_t> t(512);
    std::vector<float> s;
    unpack_ternary_row(type, q.data(), 1, 512, 0, t.data(), s);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0], 2.0f);
    EXPECT_EQ(s[1], 0.5f);
    EXPECT_EQ(t[0], 1);
    EXPECT_EQ(t[1], 1);   // 0.5 rounds away from zero
    EXPECT_EQ(t[2], 0);   // -0.49
    EXPECT_EQ(t[3], -1);  // -0.5
    EXPECT_EQ(t[4], 0);   // 0.25
    EXPECT_EQ(t[256], -1);
    EXPECT_EQ(t[257], 0);  // 0.4
  }
}

TEST(FormatsTernary, AllZeroBlockGetsZeroScale) {
  std::vector<int8_t> t(512, 0);
  t[300] = 1;  // block 1 non-zero, block 0 all zero
  for (GgmlType type : {GgmlType::TQ1_0, GgmlType::TQ2_0}) {
    auto q = pack_ternary(type, t.data(), 1, 512, 0.75f);
    std::vector<int8_t> back(512);
    std::vector<float> s;
    unpack_ternary_row(type, q.data(), 1, 512, 0, back.data(), s);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0], 0.0f) << ggml_type_name(type);
    EXPECT_EQ(s[1], 0.75f) << ggml_type_name(type);
    EXPECT_EQ(back[300], 1);
  }
}

TEST(FormatsTernary, RejectsBadInput) {
  std::vector<int8_t> t(256, 0);
  EXPECT_THAT([&] { pack_ternary(GgmlType::TQ2_0, t.data(), 2, 128, 1.0f); },
              ThrowsMessage<Error>(AllOf(HasSubstr("tq2_0"), HasSubstr("2 rows x 128 columns"),
                                         HasSubstr("not a multiple"))));
  EXPECT_THAT([&] { pack_ternary(GgmlType::I2_S, t.data(), 4, 64, 1.0f); },
              ThrowsMessage<Error>(AllOf(HasSubstr("i2_s"), HasSubstr("128"))));
  EXPECT_THAT([&] { pack_ternary(GgmlType::Q8_0, t.data(), 1, 256, 1.0f); },
              ThrowsMessage<Error>(HasSubstr("not a ternary type")));
  t[17] = 2;
  EXPECT_THAT([&] { pack_ternary(GgmlType::TQ1_0, t.data(), 1, 256, 1.0f); },
              ThrowsMessage<Error>(AllOf(HasSubstr("column 17"), HasSubstr("not a trit"))));
  t[17] = 0;
  EXPECT_THROW(pack_ternary(GgmlType::TQ1_0, t.data(), 1, 256, -1.0f), Error);
  EXPECT_THROW(pack_ternary(GgmlType::I2_S, t.data(), 1, 256, std::nanf("")), Error);
  EXPECT_THAT([&] { pack_ternary(GgmlType::TQ2_0, t.data(), 1, 256, 1e6f); },
              ThrowsMessage<Error>(HasSubstr("fp16")));

  auto q = pack_ternary(GgmlType::TQ2_0, t.data(), 1, 256, 1.0f);
  std::vector<int8_t> back(256);
  std::vector<float> s;
  EXPECT_THROW(unpack_ternary_row(GgmlType::TQ2_0, q.data(), 1, 256, 1, back.data(), s), Error);
  EXPECT_THROW(unpack_ternary_row(GgmlType::F16, q.data(), 1, 256, 0, back.data(), s), Error);
  EXPECT_THAT(
      [&] {
        unpack_ternary_row(GgmlType::TQ2_0, std::span<const uint8_t>(q).first(65), 1, 256, 0,
                           back.data(), s);
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("needs 66 bytes"), HasSubstr("65"))));
  // TQ1_0 data read as TQ2_0 has the wrong size.
  auto q1 = pack_ternary(GgmlType::TQ1_0, t.data(), 1, 256, 1.0f);
  EXPECT_THROW(
      unpack_ternary_row(GgmlType::TQ2_0, std::span<const uint8_t>(q1), 1, 256, 0, back.data(), s),
      Error);
}

}  // namespace
}  // namespace tern::formats
