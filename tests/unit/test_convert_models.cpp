// tern convert end to end: each tiny Hugging Face checkpoint (tools/golden/gen_convert_fixtures.py
// and gen_bitnet_fixture.py) converts to a GGUF whose loaded model reproduces the independent
// PyTorch reference (logits, greedy tokens); the packed 2B-4T checkpoint converts to exactly the
// weights of the golden GGUF files; bad inputs give one-line errors.
#include <gtest/gtest.h>

#include "common/compare.h"

#include "common/json_sweep.h"
#include "common/run_cli.h"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <nlohmann/json.hpp>

#include "convert/convert.h"
#include "core/error.h"
#include "core/fp16.h"
#include "engine/session.h"
#include "formats/formats.h"
#include "gguf/gguf.h"
#include "model/model.h"

namespace tern::convert {
namespace {

namespace fs = std::filesystem;
const std::string kFix = std::string(TERN_FIXTURES_DIR);

class ConvertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tern_convert_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string convert(const std::string& src, GgmlType t) {
    const std::string out = (dir_ / (fs::path(src).filename().string() + "_" + std::string(ggml_type_name(t)) + ".gguf")).string();
    ConvertOptions o;
    o.outtype = t;
    convert_hf_model(src, out, o);
    return out;
  }
  fs::path dir_;
};

std::vector<float> f32s(const gguf::TensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  std::memcpy(v.data(), t.data, v.size() * 4);
  return v;
}
std::vector<int32_t> i32s(const gguf::TensorInfo& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.n_elements()));
  std::memcpy(v.data(), t.data, v.size() * 4);
  return v;
}

using tern::testing::rel_err;

// Logits of the prompt and 16 greedy tokens against ref.gguf.
void expect_matches_reference(const std::string& model_path, const std::string& ref_path, const std::string& what) {
  auto ref = gguf::File::open(ref_path);
  const std::vector<int32_t> prompt = i32s(ref->tensor("ref.tokens"));
  const std::vector<int32_t> want = i32s(ref->tensor("ref.greedy"));
  auto model = Model::load(model_path, LoadOptions{});
  Session s(*model, 64, 2);
  const std::vector<float> logits = s.eval_all(prompt);
  EXPECT_LT(rel_err(logits, f32s(ref->tensor("ref.logits"))), 2e-3) << what;
  Session g(*model, 64, 1);
  std::vector<float> l = g.eval(prompt);
  std::vector<int32_t> got;
  for (size_t k = 0; k < want.size(); ++k) {
    const int32_t next = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
    got.push_back(next);
    l = g.eval({next});
  }
  EXPECT_EQ(got, want) << what;
}

TEST_F(ConvertTest, PackedBitnetTinyGivesTheGoldenWeightsExactly) {
  for (GgmlType t : {GgmlType::I2_S, GgmlType::TQ2_0, GgmlType::TQ1_0}) {
    const std::string out = convert(kFix + "/golden/hf_bitnet_tiny", t);
    auto a = gguf::File::open(out);
    auto b = gguf::File::open(kFix + "/golden/bitnet_tiny_" + std::string(ggml_type_name(t)) + ".gguf");
    ASSERT_EQ(a->tensors().size(), b->tensors().size());
    for (const auto& tb : b->tensors()) {
      const gguf::TensorInfo* ta = a->find_tensor(tb.name);
      ASSERT_NE(ta, nullptr) << tb.name;
      EXPECT_EQ(ta->type, tb.type) << tb.name;
      EXPECT_EQ(ta->shape_str(), tb.shape_str()) << tb.name;
      ASSERT_EQ(ta->nbytes, tb.nbytes) << tb.name;
      EXPECT_EQ(std::memcmp(ta->data, tb.data, tb.nbytes), 0) << ggml_type_name(t) << " " << tb.name;
    }
    for (const char* k : {"general.architecture", "general.file_type", "bitnet-b1.58.embedding_length",
                          "bitnet-b1.58.feed_forward_length", "bitnet-b1.58.attention.head_count_kv",
                          "bitnet-b1.58.rope.freq_base", "tern.ffn_activation", "tokenizer.ggml.pre"}) {
      ASSERT_TRUE(a->has(k)) << k;
      EXPECT_EQ(a->find(k)->to_display(), b->find(k)->to_display()) << k;
    }
  }
  expect_matches_reference(convert(kFix + "/golden/hf_bitnet_tiny", GgmlType::I2_S),
                           kFix + "/golden/bitnet_tiny_ref.gguf", "hf_bitnet_tiny");
}

// i2_s and f32 hold every scale exactly: logits and greedy tokens match the reference.
class ConvertArch : public ConvertTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ConvertArch, LogitsAndGreedyTokensMatchReference) {
  const std::string src = kFix + "/convert/" + GetParam();
  for (GgmlType t : {GgmlType::I2_S, GgmlType::F32}) {
    expect_matches_reference(convert(src, t), src + "/ref.gguf", std::string(GetParam()) + " " + std::string(ggml_type_name(t)));
  }
}

// TQ1_0 / TQ2_0 (zero-padded rows where needed) decode to the same trits as i2_s, with each
// block's fp16 d = the tensor scale rounded to fp16 (the format's only loss; docs/CONVERT.md).
TEST_P(ConvertArch, TqFormatsHoldTheSameTrits) {
  const std::string src = kFix + "/convert/" + GetParam();
  auto ref = gguf::File::open(convert(src, GgmlType::I2_S));
  for (GgmlType t : {GgmlType::TQ2_0, GgmlType::TQ1_0}) {
    auto f = gguf::File::open(convert(src, t));
    int checked = 0;
    for (const auto& ti : ref->tensors()) {
      if (ti.type != GgmlType::I2_S) continue;
      const gguf::TensorInfo& tq = f->tensor(ti.name);
      ASSERT_EQ(tq.ne[1], ti.ne[1]);
      ASSERT_EQ(tq.ne[0] % 256, 0);
      const int64_t cols = ti.ne[0], rows = ti.ne[1];
      std::vector<int8_t> a(static_cast<size_t>(cols)), b(static_cast<size_t>(tq.ne[0]));
      std::vector<float> sa, sb;
      for (int64_t r = 0; r < rows; ++r) {
        formats::unpack_ternary_row(ti.type, ti.data, rows, cols, r, a.data(), sa);
        formats::unpack_ternary_row(tq.type, tq.data, rows, tq.ne[0], r, b.data(), sb);
        // The true row length comes from the hyper-parameters; i2_s rows are padded to 128.
        for (int64_t c = 0; c < tq.ne[0]; ++c) {
          const int8_t want = c < cols ? a[static_cast<size_t>(c)] : 0;
          ASSERT_EQ(b[static_cast<size_t>(c)], want) << ti.name << " row " << r << " col " << c;
        }
        const float d = fp16_to_f32(f32_to_fp16(sa[0]));
        for (size_t k = 0; k < sb.size(); ++k) {
          if (sb[k] != 0.0f) {
            EXPECT_EQ(sb[k], d) << ti.name;
          }
        }
      }
      ++checked;
    }
    EXPECT_GE(checked, 14);
    // And the model runs (close to the reference; the fp16 scales move it slightly).
    auto ref_out = gguf::File::open(src + "/ref.gguf");
    auto model = Model::load(f->path(), LoadOptions{});
    Session s(*model, 64, 1);
    EXPECT_LT(rel_err(s.eval_all(i32s(ref_out->tensor("ref.tokens"))), f32s(ref_out->tensor("ref.logits"))), 0.1);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ConvertArch, ::testing::Values("hf_bitnet_bf16", "hf_1bitllm", "hf_llama_bitnet"));

TEST_F(ConvertTest, WritesArchitectureAndActivationKeys) {
  auto a = gguf::File::open(convert(kFix + "/convert/hf_1bitllm", GgmlType::I2_S));
  EXPECT_EQ(a->get_string("general.architecture"), "bitnet");
  EXPECT_EQ(a->get_string("tern.ffn_activation"), "silu");
  EXPECT_EQ(a->tensor("blk.0.ffn_down.weight").ne[0], 384);  // 288 zero-padded to 3 x 128
  EXPECT_EQ(a->get_u64("bitnet.feed_forward_length"), 288u);
  EXPECT_NE(a->find_tensor("output.weight"), nullptr);  // untied lm_head
  EXPECT_EQ(a->get_string("tokenizer.ggml.model"), "llama");
  auto b = gguf::File::open(convert(kFix + "/convert/hf_llama_bitnet", GgmlType::I2_S));
  EXPECT_EQ(b->get_string("general.architecture"), "llama");
  EXPECT_EQ(b->get_string("tern.ffn_activation"), "silu");
  EXPECT_EQ(b->find_tensor("blk.0.attn_sub_norm.weight"), nullptr);
  auto c = gguf::File::open(convert(kFix + "/convert/hf_bitnet_bf16", GgmlType::F16));
  EXPECT_EQ(c->get_string("tern.ffn_activation"), "relu2");
  EXPECT_EQ(c->tensor("blk.0.attn_q.weight").type, GgmlType::F16);
}

// ---------------------------------------------------------------------------------- errors

std::string convert_error(const std::string& src, const std::string& out, ConvertOptions o = {}) {
  try {
    convert_hf_model(src, out, o);
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
    return m;
  }
  return "";
}

void copy_dir(const std::string& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) fs::copy_file(e.path(), to / e.path().filename());
}

void edit_config(const fs::path& dir, const std::function<void(nlohmann::json&)>& fn) {
  nlohmann::json j;
  {
    std::ifstream in(dir / "config.json");
    j = nlohmann::json::parse(in);
  }
  fn(j);
  std::ofstream(dir / "config.json") << j.dump(2);
}

TEST_F(ConvertTest, ErrorsAreOneLineAndSayWhatIsWrong) {
  const std::string out = (dir_ / "out.gguf").string();
  EXPECT_NE(convert_error((dir_ / "nope").string(), out).find("not a directory"), std::string::npos);

  const fs::path empty = dir_ / "empty";
  fs::create_directories(empty);
  EXPECT_NE(convert_error(empty.string(), out).find("no config.json"), std::string::npos);

  const fs::path unk = dir_ / "unknown";
  copy_dir(kFix + "/golden/hf_bitnet_tiny", unk);
  edit_config(unk, [](nlohmann::json& j) { j["architectures"] = {"GPT2LMHeadModel"}; });
  std::string e = convert_error(unk.string(), out);
  EXPECT_NE(e.find("GPT2LMHeadModel is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("LlamaForCausalLM"), std::string::npos) << "lists the supported ones: " << e;

  const fs::path fp = dir_ / "fullprec";
  copy_dir(kFix + "/convert/hf_llama_bitnet", fp);
  edit_config(fp, [](nlohmann::json& j) { j.erase("quantization_config"); });
  e = convert_error(fp.string(), out);
  EXPECT_NE(e.find("quant_method"), std::string::npos) << e;

  const fs::path shape = dir_ / "shape";
  copy_dir(kFix + "/convert/hf_bitnet_bf16", shape);
  edit_config(shape, [](nlohmann::json& j) { j["intermediate_size"] = 384; });
  e = convert_error(shape.string(), out);
  EXPECT_NE(e.find("has shape"), std::string::npos) << e;
  EXPECT_NE(e.find("checkpoint and config do not match"), std::string::npos) << e;

  const fs::path trunc = dir_ / "trunc";
  copy_dir(kFix + "/convert/hf_bitnet_bf16", trunc);
  fs::resize_file(trunc / "model.safetensors", fs::file_size(trunc / "model.safetensors") - 1000);
  e = convert_error(trunc.string(), out);
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;

  const fs::path notok = dir_ / "notok";
  copy_dir(kFix + "/convert/hf_bitnet_bf16", notok);
  fs::remove(notok / "tokenizer.json");
  EXPECT_NE(convert_error(notok.string(), out).find("no tokenizer"), std::string::npos);

  ConvertOptions q6;
  q6.embd_type = GgmlType::Q6_K;  // rows of 160 do not fit 256-blocks
  EXPECT_NE(convert_error(kFix + "/convert/hf_1bitllm", out, q6).find("do not fit"), std::string::npos);
  EXPECT_FALSE(fs::exists(out)) << "no half-written output";
}

TEST_F(ConvertTest, QuantizedEmbeddingOption) {
  ConvertOptions o;
  o.embd_type = GgmlType::Q8_0;
  const std::string out = (dir_ / "q8.gguf").string();
  convert_hf_model(kFix + "/convert/hf_llama_bitnet", out, o);
  auto f = gguf::File::open(out);
  EXPECT_EQ(f->tensor("token_embd.weight").type, GgmlType::Q8_0);
  EXPECT_EQ(f->tensor("output.weight").type, GgmlType::Q8_0);
  auto model = Model::load(out, LoadOptions{});  // loads and runs
  Session s(*model, 8, 1);
  EXPECT_EQ(s.eval({1, 2, 3}).size(), 512u);
}

TEST_F(ConvertTest, CliConvertsAndReportsErrors) {
  auto run = [](const std::string& args) {
    const tern::testing::CliResult r = tern::testing::run_cli(args);
    return std::make_pair(r.code, r.out);
  };
  const std::string out = (dir_ / "cli.gguf").string();
  auto [code, text] = run("convert " + kFix + "/convert/hf_llama_bitnet -o " + out + " --outtype tq2_0");
  EXPECT_EQ(code, 0) << text;
  EXPECT_NE(text.find("LlamaForCausalLM -> llama"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(out));
  auto [code2, text2] = run("convert " + (dir_ / "missing").string() + " -o " + out);
  EXPECT_EQ(code2, 1);
  EXPECT_NE(text2.find("tern: error: "), std::string::npos) << text2;
  auto [code3, text3] = run("convert " + kFix + "/convert/hf_llama_bitnet -o " + out + " --outtype q4_0");
  EXPECT_EQ(code3, 1);
  EXPECT_NE(text3.find("--outtype q4_0"), std::string::npos) << text3;
}


// config.json is untrusted input too. For each fixture, every field (nested ones included) is
// removed, given each JSON type and, where numeric, neighbours and edge values. Each
// conversion must succeed and give a file that loads and runs, or fail with one tern::Error line:
// never another exception, a crash or a file that does not load.
class ConvertConfigSweep : public ::testing::TestWithParam<const char*> {};

TEST_P(ConvertConfigSweep, EveryEditedConfigConvertsOrIsRefusedWithAnError) {
  const fs::path dir = fs::temp_directory_path() / ("tern_cfgsweep_" + std::to_string(::getpid()) + "_" +
                                                     fs::path(GetParam()).filename().string());
  fs::remove_all(dir);
  const fs::path src = dir / "src";
  copy_dir(kFix + "/" + GetParam(), src);
  nlohmann::json orig;
  {
    std::ifstream in(src / "config.json");
    orig = nlohmann::json::parse(in);
  }
  // A rope_scaling that changes nothing (linear, factor 1, as bitnet.cpp writes), so that its
  // fields are edited too.
  if (!orig.contains("rope_scaling") || !orig["rope_scaling"].is_object()) {
    orig["rope_scaling"] = {{"type", "linear"}, {"factor", 1.0}};
  }
  const std::string out = (dir / "out.gguf").string();
  int converted = 0, refused = 0;
  std::vector<std::string> bad;
  std::set<std::string> refusals;
  auto attempt = [&](const std::string& what, const nlohmann::json& cfg) {
    std::ofstream(src / "config.json") << cfg.dump(2);
    try {
      ConvertOptions o;
      convert_hf_model(src.string(), out, o);
    } catch (const Error& e) {
      ++refused;
      refusals.insert(what);
      if (std::string(e.what()).find('\n') != std::string::npos) bad.push_back(what + ": a multi-line error");
      return;
    } catch (const std::exception& e) {
      bad.push_back(what + ": " + typeid(e).name() + ": " + e.what());
      return;
    }
    try {
      auto m = Model::load(out, LoadOptions{});
      Session s(*m, 16, 1);
      const std::vector<float>& lg = s.eval({1, 2, 3});
      for (float v : lg) {
        if (!std::isfinite(v)) {
          bad.push_back(what + ": converted, but its logits are not finite");
          return;
        }
      }
      ++converted;
      if (std::getenv("TERN_SWEEP_VERBOSE")) std::printf("converted: %s\n", what.c_str());
    } catch (const std::exception& e) {
      bad.push_back(what + ": converted, but the file does not load: " + e.what());
    }
  };
  tern::testing::for_each_json_edit(orig, attempt);
  std::ofstream(src / "config.json") << orig.dump(2);
  // A config describing fewer layers than the checkpoint holds would drop the rest silently.
  EXPECT_TRUE(refusals.count("/num_hidden_layers = 1")) << "num_hidden_layers 1 was not refused";
  std::string report;
  for (const auto& b : bad) report += "  " + b + "\n";
  EXPECT_TRUE(bad.empty()) << bad.size() << " edited configs misbehaved:\n" << report;
  EXPECT_GT(converted, 3);
  EXPECT_GT(refused, 50);
  std::printf("config sweep %s: %d converted and ran, %d refused\n", GetParam(), converted, refused);
  fs::remove_all(dir);
}

// The three architectures' fixtures, and the packed 2B-4T-style checkpoint (quantization_config
// decides how its scales apply).
INSTANTIATE_TEST_SUITE_P(Fixtures, ConvertConfigSweep,
                         ::testing::Values("convert/hf_bitnet_bf16", "convert/hf_1bitllm", "convert/hf_llama_bitnet",
                                           "golden/hf_bitnet_tiny"),
                         [](const auto& info) { return fs::path(info.param).filename().string(); });

}  // namespace
}  // namespace tern::convert
