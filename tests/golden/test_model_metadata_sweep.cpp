// Model files are untrusted input. Starting from a valid tiny model, every numeric metadata
// value is set in turn to edge values (0, 1, off by one, doubled, huge, negative, NaN, ...),
// every key is dropped, given the wrong type, and every tensor dropped or reshaped (its bytes
// resized to match the new shape, so the GGUF itself stays valid). Each variant must either
// load and run a short prompt with finite logits, or fail with tern::Error: never another
// exception, a crash, a hang or NaN logits (a silent wrong answer).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/dummy.h"
#include "engine/session.h"
#include "gguf/gguf.h"
#include "gguf/types.h"
#include "model/model.h"
#include "model/names.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int loaded = 0, refused = 0;
  std::vector<std::string> bad;     // "case: what went wrong"
  std::set<std::string> refusals;  // the cases refused with tern::Error
};

// Loads `path` and runs a 3-token prompt plus one decoded token; records what happened.
void try_variant(const std::string& path, const std::string& what, Outcome& out) {
  try {
    auto f = gguf::File::open(path);
    auto tok = Tokenizer::from_gguf(*f);
    auto m = Model::load(path, LoadOptions{});
    const int64_t nv = m->config().n_vocab;
    Session s(*m, 32, 1);
    // the tokenizer's ids (BOS and a special token among them) go to the model, as in `tern run`
    std::vector<int32_t> ids = tok->encode("hello <|eot_id|> world", true, true);
    ids.push_back(static_cast<int32_t>(3 % nv));
    std::vector<float> lg = s.eval(ids);
    lg = s.eval({static_cast<int32_t>(1 % nv)});
    for (float v : lg) {
      if (!std::isfinite(v)) {
        out.bad.push_back(what + ": loaded, but its logits are not finite");
        return;
      }
    }
    ++out.loaded;
    if (std::getenv("TERN_SWEEP_VERBOSE")) std::printf("loaded: %s\n", what.c_str());
  } catch (const Error&) {
    ++out.refused;
    out.refusals.insert(what);
  } catch (const std::exception& e) {
    out.bad.push_back(what + ": " + typeid(e).name() + ": " + e.what());
  }
}

class Variants {
 public:
  explicit Variants(const std::string& src) : f_(gguf::File::open(src)) {}

  // Writes the source file with `edit_kv` applied to the metadata writer after copying (it may
  // override keys) and tensors filtered / reshaped by `edit_tensor` (return false to drop).
  void write(const std::string& dst, const std::string& skip_key,
             const std::function<void(gguf::Writer&)>& edit_kv,
             const std::function<bool(const gguf::TensorInfo&, std::vector<int64_t>&)>& edit_tensor) const {
    gguf::Writer w;
    for (const auto& [key, value] : f_->metadata()) {
      if (key != skip_key) w.set_value(key, value);
    }
    if (edit_kv) edit_kv(w);
    for (const auto& t : f_->tensors()) {
      std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
      const std::vector<int64_t> before = ne;
      if (edit_tensor && !edit_tensor(t, ne)) continue;
      std::vector<uint8_t> bytes(t.data, t.data + t.nbytes);
      if (ne != before) {
        int64_t n = 1;
        for (int64_t d : ne) n *= d;
        const auto nb = ggml_tensor_nbytes(t.type, static_cast<uint64_t>(n), static_cast<uint64_t>(ne[0]));
        if (!nb) fail("cannot size ", t.name);
        bytes.resize(*nb, 0);
        // keep the I2_S per-tensor scale (its last 32 bytes) where the new size has room
        if (t.type == GgmlType::I2_S && *nb >= 32 && t.nbytes >= 32) {
          std::copy(t.data + t.nbytes - 32, t.data + t.nbytes, bytes.end() - 32);
        }
      }
      w.add_tensor(t.name, t.type, ne, std::move(bytes));
    }
    w.write(dst);
  }
  const gguf::File& file() const { return *f_; }

 private:
  std::unique_ptr<gguf::File> f_;
};

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("tern_sweep_" + std::to_string(getpid()) + "_" + name)).string();
}

std::string report(const Outcome& o) {
  std::string s;
  for (const auto& b : o.bad) s += "  " + b + "\n";
  return s;
}

struct SweepCase {
  GgmlType type;
  std::string arch;  // "bitnet-b1.58" (bitnet.cpp, tern dummy), "bitnet" (llama.cpp), "llama"
};

// Rewrites a tern dummy file under another architecture name: keys renamed to its prefix,
// tern.ffn_activation kept (so every architecture runs the same graph).
void rename_architecture(const std::string& src, const std::string& dst, const std::string& arch) {
  auto f = gguf::File::open(src);
  gguf::Writer w;
  const std::string from = "bitnet-b1.58.";
  for (const auto& [key, value] : f->metadata()) {
    w.set_value(key.rfind(from, 0) == 0 ? arch + "." + key.substr(from.size()) : key, value);
  }
  w.set_string("general.architecture", arch);
  for (const auto& t : f->tensors()) {
    std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
    w.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.nbytes));
  }
  w.write(dst);
}

// The parse both layer checks use (the loader's "blk.N.", the converter's "model.layers.N.").
TEST(LayerOf, ParsesOnlyWellFormedLayerPrefixes) {
  EXPECT_EQ(tensors::layer_of("blk.0.attn_q.weight"), 0);
  EXPECT_EQ(tensors::layer_of("blk.29.ffn_down.weight"), 29);
  EXPECT_EQ(tensors::layer_of("model.layers.7.mlp.up_proj.weight", "model.layers."), 7);
  for (const char* n : {"token_embd.weight", "blk.", "blk.x.attn_q.weight", "blk.3", "blk..attn", "blk3.attn", "xblk.1.a"}) {
    EXPECT_EQ(tensors::layer_of(n), -1) << n;
  }
  EXPECT_EQ(tensors::layer_of("blk.1.a", "model.layers."), -1);
}

class ModelMetadataSweep : public ::testing::TestWithParam<SweepCase> {};

TEST_P(ModelMetadataSweep, EveryEditedFileLoadsAndRunsOrIsRefusedWithAnError) {
  const std::string src = temp_path("src.gguf");
  DummyOptions o;
  o.layout = "tiny";
  o.type = GetParam().type;
  o.embd_type = GgmlType::F16;
  o.seed = 5;
  write_dummy_model(src, o);
  if (GetParam().arch != "bitnet-b1.58") {
    const std::string made = src + ".orig";
    std::filesystem::rename(src, made);
    rename_architecture(made, src, GetParam().arch);
    std::filesystem::remove(made);
  }
  const Variants v(src);
  const std::string dst = temp_path("variant.gguf");
  Outcome out;

  // The source itself loads.
  try_variant(src, "unedited", out);
  ASSERT_EQ(out.loaded, 1) << report(out);

  for (const auto& [key, value] : v.file().metadata()) {
    // dropped
    v.write(dst, key, {}, {});
    try_variant(dst, key + " dropped", out);
    // the wrong type
    v.write(dst, key, [&](gguf::Writer& w) {
      if (value.type == gguf::ValueType::STRING) w.set_u32(key, 7); else w.set_string(key, "7");
    }, {});
    try_variant(dst, key + " with the wrong type", out);
    if (value.is_array()) continue;
    std::vector<std::pair<std::string, std::function<void(gguf::Writer&)>>> edits;
    if (value.type == gguf::ValueType::FLOAT32 || value.type == gguf::ValueType::FLOAT64) {
      const float inf = std::numeric_limits<float>::infinity();
      for (float x : {0.0f, -1.0f, 1e-30f, 1e30f, inf, -inf, std::numeric_limits<float>::quiet_NaN()}) {
        char label[32];
        std::snprintf(label, sizeof label, "%g", static_cast<double>(x));
        edits.emplace_back(label, [key = key, x](gguf::Writer& w) { w.set_f32(key, x); });
      }
    } else if (value.type == gguf::ValueType::UINT32 || value.type == gguf::ValueType::INT32 ||
               value.type == gguf::ValueType::UINT64 || value.type == gguf::ValueType::INT64) {
      const uint64_t cur = value.type == gguf::ValueType::UINT32 || value.type == gguf::ValueType::UINT64
                               ? std::get<uint64_t>(value.scalar)
                               : static_cast<uint64_t>(std::get<int64_t>(value.scalar));
      for (uint64_t x : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{5}, cur - 1, cur + 1, 2 * cur,
                         cur / 2, uint64_t{65536}, uint64_t{0x7fffffff}, uint64_t{0xffffffff}}) {
        edits.emplace_back(std::to_string(x), [key = key, x](gguf::Writer& w) { w.set_u32(key, static_cast<uint32_t>(x)); });
      }
      for (uint64_t x : {uint64_t{1} << 33, ~uint64_t{0}}) {
        edits.emplace_back(std::to_string(x) + " (u64)", [key = key, x](gguf::Writer& w) { w.set_u64(key, x); });
      }
      edits.emplace_back("-1 (i32)", [key = key](gguf::Writer& w) { w.set_i32(key, -1); });
    }
    for (const auto& [label, edit] : edits) {
      v.write(dst, key, edit, {});
      try_variant(dst, key + " = " + label, out);
    }
  }

  for (const auto& t : v.file().tensors()) {
    const std::string name = t.name;
    v.write(dst, "", {}, [&](const gguf::TensorInfo& ti, std::vector<int64_t>&) { return ti.name != name; });
    try_variant(dst, name + " dropped", out);
    for (int d = 0; d < t.n_dims; ++d) {
      for (int64_t x : {int64_t{1}, t.ne[d] / 2, t.ne[d] + 128, 2 * t.ne[d]}) {
        if (x == t.ne[d] || x < 1) continue;
        try {
          v.write(dst, "", {}, [&](const gguf::TensorInfo& ti, std::vector<int64_t>& ne) {
            if (ti.name == name) ne[static_cast<size_t>(d)] = x;
            return true;
          });
        } catch (const Error&) {
          continue;  // a shape its type cannot store (e.g. a row not a multiple of the block)
        }
        try_variant(dst, name + " ne[" + std::to_string(d) + "] = " + std::to_string(x), out);
      }
    }
    // a matrix given a third dimension; a vector made a matrix
    v.write(dst, "", {}, [&](const gguf::TensorInfo& ti, std::vector<int64_t>& ne) {
      if (ti.name == name) ne.push_back(2);
      return true;
    });
    try_variant(dst, name + " with an extra dimension of 2", out);
  }

  // Files that would run with part of their weights ignored, or with a meaningless RoPE.
  const std::string arch = GetParam().arch + ".";
  for (const std::string must : {arch + "block_count = 1", arch + "rope.freq_base = inf", arch + "rope.freq_base = nan",
                                 arch + "attention.layer_norm_rms_epsilon = nan", std::string("blk.0.attn_sub_norm.weight dropped"),
                                 std::string("blk.0.ffn_sub_norm.weight dropped"), std::string("blk.1.ffn_sub_norm.weight dropped"),
                                 std::string("blk.1.attn_q.weight dropped"), std::string("token_embd.weight dropped")}) {
    EXPECT_TRUE(out.refusals.count(must)) << must << " was not refused";
  }
  EXPECT_TRUE(out.bad.empty()) << out.bad.size() << " edited files misbehaved:\n" << report(out);
  // Both outcomes occur: the sweep is not refusing everything (or accepting everything).
  EXPECT_GT(out.loaded, 10);
  EXPECT_GT(out.refused, 100);
  std::printf("sweep: %d variants loaded and ran, %d refused with an error\n", out.loaded, out.refused);
  fs::remove(src);
  fs::remove(dst);
}

// I2_S (bitnet.cpp's type, one scale per tensor) and TQ2_0 (llama.cpp's, a scale per block);
// the architecture names the three kinds of BitNet GGUF use (each with its own loading rules).
INSTANTIATE_TEST_SUITE_P(Files, ModelMetadataSweep,
                         ::testing::Values(SweepCase{GgmlType::I2_S, "bitnet-b1.58"}, SweepCase{GgmlType::TQ2_0, "bitnet-b1.58"},
                                           SweepCase{GgmlType::I2_S, "bitnet"}, SweepCase{GgmlType::TQ1_0, "llama"}),
                         [](const auto& info) {
                           std::string n = std::string(ggml_type_name(info.param.type)) + "_" + info.param.arch;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace tern
