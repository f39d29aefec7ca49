// safetensors reader and tokenizer.model parser: valid files parse to the right tensors, and
// every malformed input is one tern::Error line naming the file, the tensor and the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "convert/safetensors.h"
#include "convert/spm_model.h"
#include "core/error.h"
#include "core/mmap.h"

namespace tern::convert {
namespace {

namespace fs = std::filesystem;
const std::string kConv = std::string(TERN_FIXTURES_DIR) + "/convert/";

// u64 LE header length + header + data.
std::string image(const std::string& header, const std::string& data) {
  std::string s(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s + header + data;
}

std::string error_of(const std::string& img) {
  try {
    SafetensorsFile::from_memory(img.data(), img.size(), "x.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_error(const std::string& img, const std::string& needle) {
  const std::string e = error_of(img);
  ASSERT_FALSE(e.empty()) << "expected an error containing '" << needle << "'";
  EXPECT_NE(e.find(needle), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << "one line: " << e;
  EXPECT_EQ(e.rfind("x.safetensors", 0), 0u) << "names the file: " << e;
}

TEST(ConvertSafetensors, ParsesDtypesShapesAndData) {
  std::string data;
  const float f[2] = {1.5f, -2.0f};
  data.append(reinterpret_cast<const char*>(f), 8);
  data += std::string("\x00\x3c\x00\xc0", 4);      // f16 1, -2
  data += std::string("\x80\x3f", 2);              // bf16 1
  data += std::string("\x01\x02\x03", 3);          // u8
  const std::string h =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},"c":{"dtype":"BF16","shape":[],"data_offsets":[12,14]},)"
      R"("d":{"dtype":"U8","shape":[3],"data_offsets":[14,17]},"e":{"dtype":"I8","shape":[0],"data_offsets":[17,17]}})";
  auto f1 = SafetensorsFile::from_memory(image(h, data).data(), image(h, data).size(), "ok.safetensors");
  ASSERT_EQ(f1->tensors().size(), 5u);
  EXPECT_EQ(f1->metadata().at("format"), "pt");
  const StTensor* b = f1->find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(st_to_f32(*b), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(st_to_f32(*f1->find("a")), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(st_scalar(*f1->find("c")), 1.0f);  // shape [] = one element
  EXPECT_EQ(f1->find("d")->data[2], 3);
  EXPECT_EQ(f1->find("e")->n_elements(), 0);
  EXPECT_EQ(f1->find("missing"), nullptr);
}

TEST(ConvertSafetensors, MalformedHeadersAreOneLineErrors) {
  const std::string t = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  expect_error("", "too short");
  expect_error(std::string("\x05\x00\x00", 3), "too short");
  {
    std::string img = image(t, std::string(8, '\0'));
    img[0] = static_cast<char>(0xff);  // header length past the end
    expect_error(img, "past the end");
  }
  {
    std::string img = image(t, std::string(8, '\0'));
    img[7] = static_cast<char>(0x80);  // absurd length
    expect_error(img, "out of range");
  }
  expect_error(image("{not json", ""), "not valid JSON");
  expect_error(image("[1,2]", ""), "not a JSON object");
  expect_error(image(R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0')), "dtype I64");
  expect_error(image(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')), "needs 12");
  expect_error(image(t, std::string(4, '\0')), "truncated");
  expect_error(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::string(8, '\0')), "end before");
  expect_error(image(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, '\0')), "non-negative");
  expect_error(image(R"({"w":{"dtype":"F32","shape":[2]}})", std::string(8, '\0')), "data_offsets");
  expect_error(image(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')), "dtype");
  expect_error(image(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", std::string(8, '\0')),
               "overflows");
  expect_error(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                     std::string(8, '\0')),
               "overlaps");
  // The tensor is named in the message.
  EXPECT_NE(error_of(image(R"({"my.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')))
                .find("tensor my.weight"),
            std::string::npos);
}

TEST(ConvertSafetensors, EveryTruncationOfARealFileFailsCleanly) {
  MappedFile mf(kConv + "hf_llama_bitnet/model-00002-of-00002.safetensors");
  const std::string all(reinterpret_cast<const char*>(mf.data()), mf.size());
  for (size_t n : {size_t(0), size_t(7), size_t(8), size_t(100), all.size() / 2, all.size() - 1}) {
    const std::string e = error_of(all.substr(0, n));
    EXPECT_FALSE(e.empty()) << "prefix of " << n << " bytes parsed";
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  EXPECT_EQ(error_of(all), "");
}

TEST(ConvertSafetensors, ShardedCheckpointThroughIndex) {
  auto ck = Checkpoint::open(kConv + "hf_llama_bitnet");
  EXPECT_EQ(ck->n_files(), 2u);
  EXPECT_NE(ck->find("model.layers.1.mlp.down_proj.weight"), nullptr);
  EXPECT_NE(ck->find("model.embed_tokens.weight"), nullptr);
  try {
    ck->get("model.layers.9.mlp.down_proj.weight");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is missing"), std::string::npos) << e.what();
  }
  // A shard the index names is missing.
  const fs::path tmp = fs::temp_directory_path() / ("tern_st_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  fs::copy_file(kConv + "hf_llama_bitnet/model.safetensors.index.json", tmp / "model.safetensors.index.json");
  fs::copy_file(kConv + "hf_llama_bitnet/model-00001-of-00002.safetensors", tmp / "model-00001-of-00002.safetensors");
  try {
    Checkpoint::open(tmp.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model-00002-of-00002.safetensors is missing"), std::string::npos) << e.what();
  }
  fs::remove_all(tmp);
}

TEST(ConvertSpmModel, ParsesTrainedModel) {
  MappedFile mf(kConv + "hf_1bitllm/tokenizer.model");
  const SpmModel m = parse_spm_model(mf.data(), mf.size(), "tokenizer.model");
  ASSERT_EQ(m.pieces.size(), 384u);
  EXPECT_EQ(m.pieces[0].text, "<unk>");
  EXPECT_EQ(m.pieces[0].type, 2);  // UNKNOWN
  EXPECT_EQ(m.pieces[1].text, "<s>");
  EXPECT_EQ(m.pieces[1].type, 3);  // CONTROL
  EXPECT_EQ(m.pieces[3].text, "<0x00>");
  EXPECT_EQ(m.pieces[3].type, 6);  // BYTE
  EXPECT_EQ(m.model_type, 2);      // BPE
  EXPECT_TRUE(m.byte_fallback);
  EXPECT_EQ(m.bos_id, 1);
  EXPECT_EQ(m.eos_id, 2);
  EXPECT_EQ(m.unk_id, 0);
  EXPECT_EQ(m.pad_id, -1);
  EXPECT_TRUE(m.add_dummy_prefix);
  EXPECT_FALSE(m.remove_extra_whitespaces);
  EXPECT_EQ(m.normalizer_name, "identity");
}

TEST(ConvertSpmModel, MalformedInputIsAnError) {
  MappedFile mf(kConv + "hf_1bitllm/tokenizer.model");
  for (size_t n : {size_t(0), size_t(1), size_t(5), mf.size() / 3}) {
    try {
      parse_spm_model(mf.data(), n, "t.model");
      ADD_FAILURE() << "prefix " << n << " parsed";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("t.model: ", 0), 0u) << e.what();
    }
  }
  const uint8_t bad_wire[] = {0x0f, 0x00};  // field 1, wire type 7
  EXPECT_THROW(parse_spm_model(bad_wire, sizeof bad_wire, "t.model"), Error);
  const uint8_t bad_type[] = {0x0a, 0x02, 0x18, 0x09};  // piece with type 9
  EXPECT_THROW(parse_spm_model(bad_type, sizeof bad_type, "t.model"), Error);
}

}  // namespace
}  // namespace tern::convert
