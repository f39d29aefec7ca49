// Hostile and broken GGUF images: each must raise one tern::Error whose single-line message
// names the file and the field at fault; none may crash, hang or read out of bounds (the
// sanitizer build runs these too). Also replays the fuzzer's regression inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "gguf/gguf.h"
#include "test_gguf_util.h"

namespace tern::gguf {
namespace {

using ::testing::HasSubstr;
using namespace test;

constexpr uint64_t kHuge = uint64_t(1) << 60;

// The message of the Error that parsing `img` raises; a failure if it parses.
std::string parse_error(const std::vector<uint8_t>& img) {
  try {
    File::from_memory(img.data(), img.size(), "bad.gguf");
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.gguf: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  ADD_FAILURE() << "image of " << img.size() << " bytes parsed without error";
  return "";
}

std::vector<uint8_t> one_tensor(const Bytes& info, size_t data_bytes = 64,
                                std::vector<Bytes> kvs = {}) {
  return image(3, kvs, {info}, data_bytes);
}

TEST(GgufMalformed, TheBaseImageIsValid) {
  const auto img = small_valid_image();
  auto f = File::from_memory(img.data(), img.size(), "ok.gguf");
  ASSERT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->tensors()[1].offset + f->tensors()[1].nbytes + f->data_offset(), img.size());
}

TEST(GgufMalformed, EmptyAndBadMagic) {
  EXPECT_THAT(parse_error({}), HasSubstr("empty"));
  EXPECT_THAT(parse_error({'G', 'G'}), HasSubstr("bad magic"));
  auto img = small_valid_image();
  img[0] = 'P';
  img[1] = 'K';
  EXPECT_THAT(parse_error(img),
              HasSubstr("not a GGUF file (bad magic: starts with bytes 50 4b 55 46"));
}

TEST(GgufMalformed, Versions) {
  EXPECT_THAT(parse_error(small_valid_image(1)),
              HasSubstr("GGUF v1 is not supported, re-convert the model"));
  EXPECT_THAT(parse_error(small_valid_image(4)), HasSubstr("unsupported GGUF version 4"));
  EXPECT_THAT(parse_error(small_valid_image(0x03000000)), HasSubstr("big-endian"));
}

TEST(GgufMalformed, EveryTruncationFails) {
  const auto img = small_valid_image();
  for (size_t n = 0; n < img.size(); ++n) {
    SCOPED_TRACE(n);
    const std::vector<uint8_t> prefix(img.begin(), img.begin() + n);
    const std::string msg = parse_error(prefix);
    if (n >= 8) {
      EXPECT_THAT(msg, HasSubstr("truncated"));
    }
  }
}

TEST(GgufMalformed, WriterOutputTruncations) {
  // The writer pads after the last tensor, so prefixes that only drop that padding are valid;
  // every other prefix must fail cleanly.
  Writer w;
  w.set_str_array("tokenizer.ggml.tokens", {"a", "bc", "def"});
  w.set_f32_array("s", {1, 2});
  w.add_tensor("t", GgmlType::TQ2_0, {256, 1}, std::vector<uint8_t>(66, 3));
  const std::string path = ::testing::TempDir() + "tern_gguf_trunc.gguf";
  w.write(path);
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> img(std::istreambuf_iterator<char>(in), {});
  std::filesystem::remove(path);
  const auto full = File::from_memory(img.data(), img.size(), "ok.gguf");
  const uint64_t end = full->data_offset() + full->tensors()[0].nbytes;
  for (size_t n = 0; n < end; ++n) {
    SCOPED_TRACE(n);
    parse_error(std::vector<uint8_t>(img.begin(), img.begin() + n));
  }
  for (size_t n = end; n <= img.size(); ++n) {
    EXPECT_NO_THROW(File::from_memory(img.data(), n, "ok.gguf"));
  }
}

TEST(GgufMalformed, HugeCounts) {
  Bytes b;
  b.raw("GGUF", 4).u32(3).u64(0).u64(kHuge);
  EXPECT_THAT(parse_error(b.vec()), HasSubstr("header claims 1152921504606846976 metadata pairs"));
  Bytes t;
  t.raw("GGUF", 4).u32(3).u64(kHuge).u64(0);
  EXPECT_THAT(parse_error(t.vec()), HasSubstr("header claims 1152921504606846976 tensors"));
  // A count that fits the header check but not after the metadata has taken its bytes.
  Bytes t2;
  t2.raw("GGUF", 4).u32(3).u64(1).u64(1).append(kv_str("k", std::string(40, 'x')));
  EXPECT_THAT(parse_error(t2.vec()), HasSubstr("infos cannot fit"));
}

TEST(GgufMalformed, HugeStringLengths) {
  Bytes key;
  key.raw("GGUF", 4).u32(3).u64(0).u64(1).u64(kHuge).raw("abcdefgh", 8).u32(4).u32(0);
  EXPECT_THAT(parse_error(key.vec()), HasSubstr("metadata key #0 has length 1152921504606846976"));
  Bytes val;
  val.raw("GGUF", 4).u32(3).u64(0).u64(1).str("k").u32(8).u64(kHuge).zeros(16);
  EXPECT_THAT(parse_error(val.vec()), HasSubstr("metadata 'k' has length 1152921504606846976"));
  const auto name = image(3, {}, {Bytes().u64(kHuge).u32(1).u64(1).u32(0).u64(0)}, 32);
  EXPECT_THAT(parse_error(name), HasSubstr("tensor #0 name has length"));
}

TEST(GgufMalformed, HugeArrays) {
  Bytes strs;
  strs.raw("GGUF", 4).u32(3).u64(0).u64(1).str("tokenizer.ggml.tokens").u32(9).u32(8).u64(kHuge);
  strs.zeros(64);
  EXPECT_THAT(parse_error(strs.vec()),
              HasSubstr("'tokenizer.ggml.tokens' claims 1152921504606846976 string items"));
  Bytes u64s;
  u64s.raw("GGUF", 4).u32(3).u64(0).u64(1).str("a").u32(9).u32(10).u64(3).u64(1).u64(2);
  EXPECT_THAT(parse_error(u64s.vec()), HasSubstr("'a' claims 3 u64 items"));
  Bytes max;
  max.raw("GGUF", 4).u32(3).u64(0).u64(1).str("a").u32(9).u32(0).u64(~uint64_t(0));
  EXPECT_THAT(parse_error(max.vec()), HasSubstr("'a' claims 18446744073709551615 u8 items"));
}

TEST(GgufMalformed, BadValues) {
  auto with_kv = [](const Bytes& kv) { return image(3, {kv}, {}, 0); };
  EXPECT_THAT(parse_error(with_kv(Bytes().str("k").u32(13).u32(0))),
              HasSubstr("'k' has unknown value type 13"));
  EXPECT_THAT(parse_error(with_kv(Bytes().str("k").u32(9).u32(9).u64(1))),
              HasSubstr("'k' is an array of arrays"));
  EXPECT_THAT(parse_error(with_kv(Bytes().str("k").u32(9).u32(77).u64(1))),
              HasSubstr("'k' is an array of unknown value type 77"));
  EXPECT_THAT(parse_error(with_kv(Bytes().str("k").u32(7).u8(2))),
              HasSubstr("'k' is a bool stored as 2"));
  EXPECT_THAT(parse_error(with_kv(Bytes().str("").u32(4).u32(0))),
              HasSubstr("metadata key #0 is empty"));
  // Names from the file are escaped so the message stays on one line.
  EXPECT_THAT(parse_error(with_kv(Bytes().str("a\nb").u32(13))),
              HasSubstr("'a\\x0ab' has unknown"));
}

TEST(GgufMalformed, DuplicateKeyAndTensorName) {
  EXPECT_THAT(parse_error(image(3, {kv_u32("k", 1), kv_u32("k", 2)}, {}, 0)),
              HasSubstr("metadata key 'k' appears twice (pairs #0 and #1)"));
  EXPECT_THAT(
      parse_error(image(3, {}, {tensor_info("w", {8}, 0, 0), tensor_info("w", {8}, 0, 32)}, 64)),
      HasSubstr("tensor 'w' appears twice"));
  EXPECT_THAT(parse_error(one_tensor(tensor_info("", {8}, 0, 0))),
              HasSubstr("tensor #0 has an empty name"));
}

TEST(GgufMalformed, BadDimensions) {
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {}, 0, 0))),
              HasSubstr("tensor 'w' has n_dims 0"));
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {1, 1, 1, 1, 1}, 0, 0))),
              HasSubstr("tensor 'w' has n_dims 5"));
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {4, 0}, 0, 0))),
              HasSubstr("tensor 'w' dimension 1 is 0"));
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {uint64_t(1) << 63}, 0, 0))),
              HasSubstr("dimension 0 is 9223372036854775808 (too large)"));
  EXPECT_THAT(
      parse_error(one_tensor(tensor_info("w", {uint64_t(1) << 32, uint64_t(1) << 32}, 0, 0))),
      HasSubstr("tensor 'w' has dimensions whose product overflows"));
  // The product fits int64 but the byte size does not fit uint64.
  EXPECT_THAT(
      parse_error(one_tensor(tensor_info("w", {uint64_t(1) << 31, uint64_t(1) << 31}, 28, 0))),
      HasSubstr("has a shape its type cannot store"));
}

TEST(GgufMalformed, BadTypes) {
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {8}, 99, 0))),
              HasSubstr("tensor 'w' (8) has unknown ggml type id 99"));
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {8}, 37, 0))),
              HasSubstr("unknown ggml type id 37"));
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {33}, 8, 0))),
              HasSubstr("tensor 'w' (q8_0, 33) has a shape its type cannot store: row length 33 is "
                        "not a multiple of the q8_0 block size 32"));
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {100, 4}, 36, 0))),
              HasSubstr("i2_s rows must hold a multiple of 128 elements, not 100"));
}

TEST(GgufMalformed, BadOffsets) {
  EXPECT_THAT(
      parse_error(one_tensor(tensor_info("w", {8}, 0, 4))),
      HasSubstr("tensor 'w' has data offset 4, which is not a multiple of the alignment 32"));
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {8}, 0, 64), 64)),
              HasSubstr("tensor 'w' (f32, 8) needs 32 bytes at data offset 64"));
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {8}, 0, 32), 63)), HasSubstr("truncated"));
  // offset + nbytes would wrap around 2^64.
  EXPECT_THAT(parse_error(one_tensor(tensor_info("w", {8}, 0, ~uint64_t(31)))),
              HasSubstr("needs 32 bytes at data offset 18446744073709551584"));
  EXPECT_THAT(parse_error(one_tensor(tensor_info("blk.3.ffn_up.weight", {2560, 6912}, 36, 0))),
              HasSubstr("tensor 'blk.3.ffn_up.weight' (i2_s, 2560 x 6912) needs 4423712 bytes"));
}

TEST(GgufMalformed, BadAlignment) {
  auto with_alignment = [](const Bytes& kv) {
    return one_tensor(tensor_info("w", {8}, 0, 0), 64, {kv});
  };
  EXPECT_THAT(parse_error(with_alignment(kv_u32("general.alignment", 0))),
              HasSubstr("'general.alignment' is 0, which is not a nonzero power of two"));
  EXPECT_THAT(parse_error(with_alignment(kv_u32("general.alignment", 48))),
              HasSubstr("'general.alignment' is 48"));
  EXPECT_THAT(parse_error(with_alignment(Bytes().str("general.alignment").u32(10).u64(32))),
              HasSubstr("'general.alignment' is u64, expected u32"));
  // A legal but enormous alignment pushes the data section past the end of the file.
  EXPECT_THAT(
      parse_error(with_alignment(kv_u32("general.alignment", 1u << 31))),
      HasSubstr("the data section starts at 2147483648 (after padding to alignment 2147483648)"));
}

// Inputs the fuzzer found interesting (fuzz/regress/) are replayed on every test run. Files
// named *.gguf are valid seeds and must parse; the others may only fail with tern::Error.
TEST(GgufMalformed, FuzzRegressionInputs) {
  const std::filesystem::path dir = std::filesystem::path(TERN_SOURCE_DIR) / "fuzz" / "regress";
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<uint8_t> img(std::istreambuf_iterator<char>(in), {});
    SCOPED_TRACE(entry.path().string());
    const bool valid = entry.path().extension() == ".gguf";
    try {
      auto f = File::from_memory(img.data(), img.size(), "seed.gguf");
      for (const auto& [k, v] : f->metadata()) (void)v.to_display();
      for (const auto& t : f->tensors()) (void)t.shape_str();
    } catch (const Error& e) {
      EXPECT_FALSE(valid) << e.what();
    }
    ++n;
  }
  EXPECT_GT(n, 0u);
}

}  // namespace
}  // namespace tern::gguf
