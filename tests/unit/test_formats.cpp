// Formats: API validation, plain types (F32/F16/BF16), Q8_0 and Q4_0.
// Golden bytes are worked out by hand from the layouts in docs/FORMATS.md (llama.cpp
// ggml-common.h / ggml-quants.c), never produced by the code under test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "formats/formats.h"
#include "test_formats_util.h"

namespace tern::formats {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::vector<uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(uint8_t(b));
  return out;
}

// ---------------------------------------------------------------- type table and sizes

TEST(Formats, SupportedTypes) {
  for (GgmlType t :
       {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
        GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::TQ1_0, GgmlType::TQ2_0, GgmlType::I2_S}) {
    EXPECT_TRUE(can_dequantize(t)) << ggml_type_name(t);
    EXPECT_TRUE(can_quantize(t)) << ggml_type_name(t);
  }
  for (GgmlType t : {GgmlType::Q5_K, GgmlType::Q4_1, GgmlType::IQ2_XXS, GgmlType::TL1}) {
    EXPECT_FALSE(can_dequantize(t)) << ggml_type_name(t);
    EXPECT_FALSE(can_quantize(t)) << ggml_type_name(t);
  }
  EXPECT_TRUE(is_ternary(GgmlType::I2_S));
  EXPECT_TRUE(is_ternary(GgmlType::TQ1_0));
  EXPECT_TRUE(is_ternary(GgmlType::TQ2_0));
  EXPECT_FALSE(is_ternary(GgmlType::Q8_0));
  EXPECT_FALSE(is_ternary(GgmlType::F16));
}

TEST(Formats, TensorBytesMatchBlockGeometry) {
  // 2 rows x 512 columns.
  EXPECT_EQ(tensor_bytes(GgmlType::F32, 2, 512), 2u * 512 * 4);
  EXPECT_EQ(tensor_bytes(GgmlType::F16, 2, 512), 2u * 512 * 2);
  EXPECT_EQ(tensor_bytes(GgmlType::BF16, 2, 512), 2u * 512 * 2);
  EXPECT_EQ(tensor_bytes(GgmlType::Q8_0, 2, 512), 2u * 16 * 34);
  EXPECT_EQ(tensor_bytes(GgmlType::Q4_0, 2, 512), 2u * 16 * 18);
  EXPECT_EQ(tensor_bytes(GgmlType::Q4_K, 2, 512), 2u * 2 * 144);
  EXPECT_EQ(tensor_bytes(GgmlType::Q6_K, 2, 512), 2u * 2 * 210);
  EXPECT_EQ(tensor_bytes(GgmlType::TQ1_0, 2, 512), 2u * 2 * 54);
  EXPECT_EQ(tensor_bytes(GgmlType::TQ2_0, 2, 512), 2u * 2 * 66);
  EXPECT_EQ(tensor_bytes(GgmlType::I2_S, 2, 512), 2u * 512 / 4 + 32);
  // Agrees with the GGUF type table for every supported type.
  for (GgmlType t :
       {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
        GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::TQ1_0, GgmlType::TQ2_0, GgmlType::I2_S}) {
    EXPECT_EQ(tensor_bytes(t, 3, 2560), ggml_tensor_nbytes(t, 3 * 2560, 2560).value())
        << ggml_type_name(t);
  }
}

// ---------------------------------------------------------------- validation messages

TEST(Formats, RejectsRowLengthNotMultipleOfBlock) {
  std::vector<float> x(4 * 100, 0.5f);
  EXPECT_THAT([&] { quantize_tensor(GgmlType::TQ2_0, x.data(), 4, 100); },
              ThrowsMessage<Error>(AllOf(HasSubstr("tq2_0"), HasSubstr("4 rows x 100 columns"),
                                         HasSubstr("not a multiple"), HasSubstr("256"))));
  EXPECT_THAT([&] { quantize_tensor(GgmlType::Q8_0, x.data(), 1, 33); },
              ThrowsMessage<Error>(AllOf(HasSubstr("q8_0"), HasSubstr("33"), HasSubstr("32"))));
  EXPECT_THAT([&] { quantize_tensor(GgmlType::I2_S, x.data(), 1, 64); },
              ThrowsMessage<Error>(AllOf(HasSubstr("i2_s"), HasSubstr("64"), HasSubstr("128"))));
  EXPECT_THAT([&] { tensor_bytes(GgmlType::Q6_K, 2, 128); },
              ThrowsMessage<Error>(AllOf(HasSubstr("q6_k"), HasSubstr("2 rows x 128 columns"))));
  std::vector<uint8_t> data(1024);
  std::vector<float> out(1024);
  EXPECT_THAT([&] { dequantize_rows(GgmlType::Q4_K, data.data(), 1, 100, 0, 1, out.data()); },
              ThrowsMessage<Error>(AllOf(HasSubstr("q4_k"), HasSubstr("not a multiple"))));
}

TEST(Formats, RejectsEmptyAndUnsupported) {
  std::vector<float> x(256, 0.0f);
  EXPECT_THROW(quantize_tensor(GgmlType::Q8_0, x.data(), 0, 32), Error);
  EXPECT_THROW(quantize_tensor(GgmlType::Q8_0, x.data(), 1, -32), Error);
  EXPECT_THAT([&] { quantize_tensor(GgmlType::Q5_K, x.data(), 1, 256); },
              ThrowsMessage<Error>(AllOf(HasSubstr("q5_k"), HasSubstr("not supported"))));
  EXPECT_THAT([&] { tensor_bytes(static_cast<GgmlType>(37), 1, 256); },
              ThrowsMessage<Error>(HasSubstr("type 37")));
}

TEST(Formats, RejectsRowsOutOfRange) {
  std::vector<float> x(3 * 32, 1.0f);
  auto q = quantize_tensor(GgmlType::Q8_0, x.data(), 3, 32);
  std::vector<float> out(4 * 32);
  EXPECT_THAT([&] { dequantize_rows(GgmlType::Q8_0, q.data(), 3, 32, 2, 2, out.data()); },
              ThrowsMessage<Error>(AllOf(HasSubstr("rows [2, 4)"), HasSubstr("3 rows x 32"))));
  EXPECT_THROW(dequantize_rows(GgmlType::Q8_0, q.data(), 3, 32, -1, 1, out.data()), Error);
  EXPECT_NO_THROW(dequantize_rows(GgmlType::Q8_0, q.data(), 3, 32, 3, 0, out.data()));
}

TEST(Formats, RejectsDataSizeMismatch) {
  std::vector<float> x(2 * 64, 1.0f);
  auto q = quantize_tensor(GgmlType::Q8_0, x.data(), 2, 64);
  ASSERT_EQ(q.size(), 4u * 34);
  std::vector<float> out(2 * 64);
  const std::span<const uint8_t> whole(q);
  EXPECT_NO_THROW(dequantize_rows(GgmlType::Q8_0, whole, 2, 64, 0, 2, out.data()));
  EXPECT_THAT(
      [&] { dequantize_rows(GgmlType::Q8_0, whole.first(q.size() - 1), 2, 64, 0, 2, out.data()); },
      ThrowsMessage<Error>(
          AllOf(HasSubstr("q8_0"), HasSubstr("needs 136 bytes"), HasSubstr("135 bytes"))));
  // The same bytes read as a 3-row tensor do not fit either.
  EXPECT_THROW(dequantize_rows(GgmlType::Q8_0, whole, 3, 64, 0, 1, out.data()), Error);
}

TEST(Formats, QuantizedTypesRejectNonFiniteInput) {
  std::vector<float> x(64, 1.0f);
  x[40] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT([&] { quantize_tensor(GgmlType::Q8_0, x.data(), 2, 32); },
              ThrowsMessage<Error>(AllOf(HasSubstr("row 1"), HasSubstr("column 8"))));
  x[40] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(quantize_tensor(GgmlType::Q4_0, x.data(), 2, 32), Error);
  // Plain types store them as they are.
  auto f = quantize_tensor(GgmlType::F32, x.data(), 2, 32);
  float back;
  std::memcpy(&back, f.data() + 40 * 4, 4);
  EXPECT_TRUE(std::isinf(back));
}

// ---------------------------------------------------------------- F32 / F16 / BF16

TEST(FormatsPlain, GoldenBytes) {
  const float x[4] = {1.0f, -2.0f, 65504.0f, 1e-8f};
  // IEEE half: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF (max normal), 1e-8 < 2^-25 -> +0.
  EXPECT_THAT(quantize_tensor(GgmlType::F16, x, 1, 4),
              ElementsAreArray(bytes({0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x00, 0x00})));
  // bfloat16 = top half of the f32 bits, round to nearest even: 1.0 = 0x3F80; -2 = 0xC000;
  // 1.00390625 = 0x3F808000 is a tie -> even 0x3F80; 1.01171875 = 0x3F818000 -> 0x3F82.
  const float y[4] = {1.0f, -2.0f, 1.00390625f, 1.01171875f};
  EXPECT_THAT(quantize_tensor(GgmlType::BF16, y, 1, 4),
              ElementsAreArray(bytes({0x80, 0x3F, 0x00, 0xC0, 0x80, 0x3F, 0x82, 0x3F})));
  // f32 1.0 = 0x3F800000 little-endian.
  EXPECT_THAT(quantize_tensor(GgmlType::F32, x, 1, 1), ElementsAreArray(bytes({0, 0, 0x80, 0x3F})));
}

TEST(FormatsPlain, RoundTrip) {
  auto x = test::random_floats(3 * 40, 7);
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16}) {
    auto q = quantize_tensor(t, x.data(), 3, 40);
    std::vector<float> y(3 * 40);
    dequantize_rows(t, q.data(), 3, 40, 0, 3, y.data());
    for (size_t i = 0; i < x.size(); ++i) {
      // F32 exact; F16 has 11 significant bits, BF16 8 (relative half-ulp bounds).
      const float tol = t == GgmlType::F32 ? 0.0f : t == GgmlType::F16 ? 0x1p-11f : 0x1p-8f;
      EXPECT_LE(std::fabs(y[i] - x[i]), tol * std::fabs(x[i]) + 1e-7f)
          << ggml_type_name(t) << " " << i;
    }
  }
}

// ---------------------------------------------------------------- Q8_0

TEST(FormatsQ8_0, GoldenBytes) {
  // Block layout: fp16 d (2 bytes LE), then 32 int8 quants; d = absmax / 127 and
  // q = roundf(x / d), halves away from zero.
  std::vector<float> x(3 * 32, 0.0f);
  // Block 0: absmax 127 -> d = 1.0 (fp16 0x3C00).
  x[0] = 127.0f;   // 127  = 0x7F
  x[1] = -127.0f;  // -127 = 0x81
  x[2] = 2.5f;     // 3    (half away from zero; half-even would give 2)
  x[3] = -2.5f;    // -3   = 0xFD
  x[4] = 0.49f;    // 0
  x[5] = 1.5f;     // 2
  x[6] = -0.5f;    // -1   = 0xFF
  // Block 1: all zero -> d = 0, quants 0.
  // Block 2: absmax 63.5 -> d = 0.5 (fp16 0x3800), 1/d = 2.
  x[64] = 63.5f;   // 127
  x[65] = 0.25f;   // round(0.5) = 1
  x[66] = -0.75f;  // round(-1.5) = -2 = 0xFE
  std::vector<uint8_t> want(3 * 34, 0);
  const uint8_t b0[] = {0x00, 0x3C, 0x7F, 0x81, 0x03, 0xFD, 0x00, 0x02, 0xFF};
  std::memcpy(want.data(), b0, sizeof b0);
  const uint8_t b2[] = {0x00, 0x38, 0x7F, 0x01, 0xFE};
  std::memcpy(want.data() + 68, b2, sizeof b2);
  const auto got = quantize_tensor(GgmlType::Q8_0, x.data(), 1, 96);
  EXPECT_THAT(got, ElementsAreArray(want));

  std::vector<float> y(96);
  dequantize_rows(GgmlType::Q8_0, got.data(), 1, 96, 0, 1, y.data());
  const float expect_head[] = {127, -127, 3, -3, 0, 2, -1};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(y[i], expect_head[i]) << i;
  EXPECT_EQ(y[64], 63.5f);
  EXPECT_EQ(y[65], 0.5f);
  EXPECT_EQ(y[66], -1.0f);
  EXPECT_EQ(y[40], 0.0f);
}

TEST(FormatsQ8_0, ErrorBound) {
  const int64_t rows = 4, cols = 512;
  auto x = test::random_floats(rows * cols, 11, 3.0f);
  auto q = quantize_tensor(GgmlType::Q8_0, x.data(), rows, cols);
  std::vector<float> y(rows * cols);
  dequantize_rows(GgmlType::Q8_0, q.data(), rows, cols, 0, rows, y.data());
  for (int64_t b = 0; b < rows * cols / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    // Half a step of d = amax/127, plus the fp16 rounding of d (relative 2^-11, times |q| <= 127).
    const float bound = amax / 127.0f * (0.5f + 127.0f * 0x1p-11f) + 1e-6f;
    for (int j = 0; j < 32; ++j)
      ASSERT_LE(std::fabs(y[b * 32 + j] - x[b * 32 + j]), bound) << b << " " << j;
  }
}

TEST(FormatsQ8_0, RowSubsetMatchesWholeTensor) {
  const int64_t rows = 5, cols = 64;
  auto x = test::random_floats(rows * cols, 3);
  for (GgmlType t :
       {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0}) {
    auto q = quantize_tensor(t, x.data(), rows, cols);
    std::vector<float> all(rows * cols), part(2 * cols);
    dequantize_rows(t, q.data(), rows, cols, 0, rows, all.data());
    dequantize_rows(t, q.data(), rows, cols, 2, 2, part.data());
    for (int64_t i = 0; i < 2 * cols; ++i)
      ASSERT_EQ(part[i], all[2 * cols + i]) << ggml_type_name(t);
  }
}

// ---------------------------------------------------------------- Q4_0

TEST(FormatsQ4_0, GoldenBytes) {
  // Block: fp16 d, then 16 bytes; byte j = q[j] | q[j+16] << 4, x = (q - 8) * d.
  // d = (value of largest magnitude) / -8; q = min(15, trunc(x/d + 8.5)).
  std::vector<float> x(64, 0.0f);
  // Block 0: max = -4 -> d = 0.5 (0x3800), 1/d = 2.
  x[0] = -4.0f;    // -8 + 8.5 = 0.5 -> 0
  x[16] = 3.5f;    // 7 + 8.5 = 15.5 -> 15
  x[1] = 1.25f;    // 2.5 + 8.5 = 11
  x[17] = -0.25f;  // -0.5 + 8.5 = 8
  x[2] = 0.75f;    // 1.5 + 8.5 = 10; x[18] = 0 -> 8
  // Block 1: max = +4 -> d = -0.5 (0xB800), 1/d = -2.
  x[32] = 4.0f;                         // -8 + 8.5 -> 0
  x[33] = -3.5f;                        // 7 + 8.5 -> 15
  x[48] = 3.9f;                         // -7.8 + 8.5 = 0.7 -> 0
  std::vector<uint8_t> want(36, 0x88);  // zeros quantize to 8 | 8 << 4
  const uint8_t b0[] = {0x00, 0x38, 0xF0, 0x8B, 0x8A};
  std::memcpy(want.data(), b0, sizeof b0);
  const uint8_t b1[] = {0x00, 0xB8, 0x00, 0x8F};
  std::memcpy(want.data() + 18, b1, sizeof b1);
  const auto got = quantize_tensor(GgmlType::Q4_0, x.data(), 1, 64);
  EXPECT_THAT(got, ElementsAreArray(want));

  std::vector<float> y(64);
  dequantize_rows(GgmlType::Q4_0, got.data(), 1, 64, 0, 1, y.data());
  EXPECT_EQ(y[0], -4.0f);  // (0 - 8) * 0.5
  EXPECT_EQ(y[16], 3.5f);  // (15 - 8) * 0.5
  EXPECT_EQ(y[1], 1.5f);   // (11 - 8) * 0.5
  EXPECT_EQ(y[17], 0.0f);
  EXPECT_EQ(y[2], 1.0f);
  EXPECT_EQ(y[32], 4.0f);   // (0 - 8) * -0.5
  EXPECT_EQ(y[33], -3.5f);  // (15 - 8) * -0.5
  EXPECT_EQ(y[48], 4.0f);
}

TEST(FormatsQ4_0, ErrorBound) {
  auto x = test::random_floats(2 * 256, 5);
  auto q = quantize_tensor(GgmlType::Q4_0, x.data(), 2, 256);
  std::vector<float> y(x.size());
  dequantize_rows(GgmlType::Q4_0, q.data(), 2, 256, 0, 2, y.data());
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    // Step |d| = amax/8; values on the far side of the extreme can clip at q = 15 (7*|d|), so
    // the worst case is one full step there; elsewhere half a step.
    for (int j = 0; j < 32; ++j)
      ASSERT_LE(std::fabs(y[b * 32 + j] - x[b * 32 + j]), amax / 8.0f * 1.01f) << b << " " << j;
  }
}

}  // namespace
}  // namespace tern::formats
