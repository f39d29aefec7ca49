// Writes a seed corpus for gguf_fuzz with the real writer: small but structurally complete
// files (every value type, string arrays, several tensor types, alignments 32 and 64, a
// hand-made v2 file), so the fuzzer starts from inputs that reach the tensor checks.
// Usage: gguf_make_seeds DIR
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf.h"

using tern::GgmlType;
using tern::gguf::Value;
using tern::gguf::ValueType;
using tern::gguf::Writer;

namespace {

std::vector<uint8_t> bytes(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 13 + 5);
  return v;
}

void write_v2(const std::string& path) {
  // v2 differs from v3 only in the version field; the writer always says 3.
  std::vector<uint8_t> b = {'G', 'G', 'U', 'F', 2, 0, 0, 0};
  auto u64 = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i)));
  };
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
  };
  auto str = [&](const std::string& s) {
    u64(s.size());
    b.insert(b.end(), s.begin(), s.end());
  };
  u64(1);  // tensors
  u64(1);  // kv
  str("general.name");
  u32(8);
  str("v2");
  str("w");
  u32(1);
  u64(8);
  u32(0);
  u64(0);
  while (b.size() % 32) b.push_back(0);
  for (int i = 0; i < 32; ++i) b.push_back(uint8_t(i));
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(b.data(), 1, b.size(), f) != b.size()) tern::fail(path, ": cannot write");
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    {
      Writer w;  // metadata only, every scalar type
      w.set_u8("a.u8", 1);
      w.set_u32("a.u32", 2);
      w.set_i32("a.i32", -3);
      w.set_u64("a.u64", 4);
      w.set_f32("a.f32", 0.5f);
      w.set_bool("a.bool", true);
      w.set_string("general.architecture", "bitnet-b1.58");
      Value v;
      v.type = ValueType::INT16;
      v.scalar = int64_t{-7};
      w.set_value("a.i16", v);
      v.type = ValueType::FLOAT64;
      v.scalar = 0.25;
      w.set_value("a.f64", v);
      w.write(dir + "/values.gguf");
    }
    {
      Writer w;  // a tokenizer-like file: string, float and int arrays
      w.set_string("tokenizer.ggml.model", "gpt2");
      w.set_str_array("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "b", "ab"});
      w.set_f32_array("tokenizer.ggml.scores", {0, 0, -1, -2, -3});
      w.set_i32_array("tokenizer.ggml.token_type", {3, 3, 1, 1, 1});
      w.set_str_array("tokenizer.ggml.merges", {"a b"});
      w.write(dir + "/vocab.gguf");
    }
    for (uint32_t alignment : {32u, 64u}) {
      Writer w;  // a tiny model: several tensor types
      w.set_alignment(alignment);
      w.set_string("general.architecture", "bitnet-b1.58");
      w.set_u32("bitnet-b1.58.block_count", 1);
      w.add_tensor("token_embd.weight", GgmlType::F16, {8, 4}, bytes(64));
      w.add_tensor("output_norm.weight", GgmlType::F32, {8}, bytes(32));
      w.add_tensor("blk.0.attn_q.weight", GgmlType::I2_S, {128, 2}, bytes(128 * 2 / 4 + 32));
      w.add_tensor("blk.0.ffn_up.weight", GgmlType::TQ2_0, {256, 1}, bytes(66));
      w.add_tensor("blk.0.ffn_down.weight", GgmlType::TQ1_0, {256, 1}, bytes(54));
      w.add_tensor("blk.0.attn_k.weight", GgmlType::Q8_0, {32, 2, 1, 1}, bytes(68));
      w.write(dir + "/model_a" + std::to_string(alignment) + ".gguf");
    }
    write_v2(dir + "/v2.gguf");
  } catch (const tern::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
