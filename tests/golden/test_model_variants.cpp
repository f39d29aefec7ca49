// Model files as the other engines write them: llama.cpp's `bitnet` architecture (no
// activation metadata, optional per-tensor scale tensors) and every embedding / head type.
#include <gtest/gtest.h>

#include "common/compare.h"
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "engine/dummy.h"
#include "formats/formats.h"
#include "engine/session.h"
#include "gguf/gguf.h"
#include "model/model.h"

namespace tern {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("tern_variants_" + std::to_string(getpid()) + "_" + name)).string();
}

std::string make_dummy(const std::string& name, GgmlType type, GgmlType embd) {
  const std::string p = temp_path(name);
  DummyOptions o;
  o.layout = "tiny";
  o.type = type;
  o.embd_type = embd;
  o.seed = 11;
  write_dummy_model(p, o);
  return p;
}

// Copies `src` to `dst` as llama.cpp would have written it: architecture `bitnet`, keys under
// `bitnet.`, no tern.ffn_activation; extra F32 scalar tensors may be added.
void rewrite_as_llama_cpp(const std::string& src, const std::string& dst,
                          const std::map<std::string, float>& scale_tensors) {
  auto f = gguf::File::open(src);
  gguf::Writer w;
  for (const auto& [key, value] : f->metadata()) {
    if (key == "tern.ffn_activation") continue;
    std::string k = key;
    if (k.rfind("bitnet-b1.58.", 0) == 0) k = "bitnet." + k.substr(13);
    w.set_value(k, value);
  }
  w.set_string("general.architecture", "bitnet");
  for (const auto& t : f->tensors()) {
    std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
    std::vector<uint8_t> bytes(t.data, t.data + t.nbytes);
    w.add_tensor(t.name, t.type, ne, std::move(bytes));
  }
  for (const auto& [name, v] : scale_tensors) {
    std::vector<uint8_t> b(4);
    std::memcpy(b.data(), &v, 4);
    w.add_tensor(name, GgmlType::F32, {1}, std::move(b));
  }
  w.write(dst);
}

std::vector<float> logits_of(const Model& m, const std::vector<int32_t>& toks, const DumpFn* dump = nullptr) {
  Session s(m, 32, 1);
  return s.eval_all(toks, 512, dump);
}

using tern::testing::rel_err;

const std::vector<int32_t> kTokens = {1, 17, 200, 33, 5, 480, 2};

TEST(ModelVariants, LlamaCppBitnetArchDefaultsToSiluAndHonoursOverride) {
  const std::string orig = make_dummy("orig.gguf", GgmlType::TQ2_0, GgmlType::F16);
  const std::string lc = temp_path("llamacpp.gguf");
  rewrite_as_llama_cpp(orig, lc, {});
  auto m_orig = Model::load(orig, LoadOptions{});
  EXPECT_EQ(m_orig->config().act, FfnActivation::kReluSqr);
  auto m_lc = Model::load(lc, LoadOptions{});
  EXPECT_EQ(m_lc->config().arch, "bitnet");
  EXPECT_EQ(m_lc->config().act, FfnActivation::kSilu);  // not the 2B-4T shape
  LoadOptions relu;
  relu.ffn_act = FfnActivation::kReluSqr;
  auto m_lc_relu = Model::load(lc, relu);
  const auto a = logits_of(*m_orig, kTokens), b = logits_of(*m_lc_relu, kTokens), c = logits_of(*m_lc, kTokens);
  EXPECT_EQ(a, b);  // same weights, same activation: bit-identical
  EXPECT_GT(rel_err(c, a), 1e-3);  // SiLU really is a different model
  fs::remove(orig);
  fs::remove(lc);
}

TEST(ModelVariants, LlamaCppScaleTensorsMultiplyTheProjection) {
  const std::string orig = make_dummy("orig2.gguf", GgmlType::TQ2_0, GgmlType::F16);
  const std::string one = temp_path("scale1.gguf"), two = temp_path("scale2.gguf");
  rewrite_as_llama_cpp(orig, one, {{"blk.0.attn_q.scale", 1.0f}});
  rewrite_as_llama_cpp(orig, two, {{"blk.0.attn_q.scale", 2.0f}});
  LoadOptions relu;
  relu.ffn_act = FfnActivation::kReluSqr;
  auto m0 = Model::load(orig, relu), m1 = Model::load(one, relu), m2 = Model::load(two, relu);
  std::vector<float> q1, q2;
  DumpFn d1 = [&](const std::string& n, int l, const float* d, int64_t dim, int64_t t) {
    if (n == "q_proj" && l == 0) q1.assign(d, d + dim * t);
  };
  DumpFn d2 = [&](const std::string& n, int l, const float* d, int64_t dim, int64_t t) {
    if (n == "q_proj" && l == 0) q2.assign(d, d + dim * t);
  };
  EXPECT_EQ(logits_of(*m0, kTokens), logits_of(*m1, kTokens, &d1));
  logits_of(*m2, kTokens, &d2);
  ASSERT_EQ(q1.size(), q2.size());
  ASSERT_FALSE(q1.empty());
  for (size_t i = 0; i < q1.size(); ++i) ASSERT_EQ(q2[i], 2.0f * q1[i]);
  for (const auto& p : {orig, one, two}) fs::remove(p);
}

TEST(ModelVariants, EveryEmbeddingTypeLoadsAndAgreesWithF32) {
  const std::string ref_path = make_dummy("e_f32.gguf", GgmlType::I2_S, GgmlType::F32);
  auto ref = Model::load(ref_path, LoadOptions{});
  const auto want = logits_of(*ref, kTokens);
  // Bound per type: the embedding/head quantization error (f16/bf16 round the same random
  // values; q4 is coarse).
  const std::pair<GgmlType, double> cases[] = {{GgmlType::F16, 0.03}, {GgmlType::BF16, 0.04},
                                               {GgmlType::Q8_0, 0.05}, {GgmlType::Q6_K, 0.06},
                                               {GgmlType::Q4_K, 0.15}, {GgmlType::Q4_0, 0.15}};
  for (const auto& [type, bound] : cases) {
    const std::string p = make_dummy(std::string("e_") + std::string(ggml_type_name(type)) + ".gguf", GgmlType::I2_S, type);
    auto m = Model::load(p, LoadOptions{});
    const auto got = logits_of(*m, kTokens);
    for (float v : got) ASSERT_TRUE(std::isfinite(v)) << ggml_type_name(type);
    EXPECT_LT(rel_err(got, want), bound) << ggml_type_name(type);
    std::printf("embedding %s: max rel logit error vs f32 %.4f\n", std::string(ggml_type_name(type)).c_str(), rel_err(got, want));
    EXPECT_GT(rel_err(got, want), 0.0) << ggml_type_name(type) << ": the embedding type had no effect";
    fs::remove(p);
  }
  fs::remove(ref_path);
}

// With a tied embedding the input rows come from tern's copy of the head (F16 in R4, Q8_0 / Q6_K
// bytes, or the widened F32), not from the file: they must equal the file's rows exactly.
TEST(ModelVariants, TiedEmbeddingRowsFromTheHeadCopyEqualTheFile) {
  for (GgmlType type : {GgmlType::F16, GgmlType::Q8_0, GgmlType::Q6_K, GgmlType::Q4_0, GgmlType::F32}) {
    const std::string p = make_dummy(std::string("tied_") + std::string(ggml_type_name(type)) + ".gguf", GgmlType::I2_S, type);
    auto m = Model::load(p, LoadOptions{});
    auto f = gguf::File::open(p);
    ASSERT_EQ(f->find_tensor("output.weight"), nullptr) << "the dummy model should tie its embedding";
    const gguf::TensorInfo& t = f->tensor("token_embd.weight");
    const int64_t d = m->config().n_embd, v = m->config().n_vocab;
    std::vector<float> want(static_cast<size_t>(d)), got(want.size());
    for (int64_t tok : {int64_t(0), int64_t(1), v / 2 + 3, v - 1}) {
      formats::dequantize_rows(t.type, t.data, v, d, tok, 1, want.data());
      m->embed(static_cast<int32_t>(tok), got.data());
      ASSERT_EQ(got, want) << ggml_type_name(type) << " token " << tok;
    }
    fs::remove(p);
  }
}

TEST(ModelVariants, FloatProjectionsAreTernarizedExactly) {
  // The same seed written as i2_s and as f32 (ternary values times the scale) gives the same model.
  const std::string a = make_dummy("p_i2s.gguf", GgmlType::I2_S, GgmlType::F16);
  const std::string b = make_dummy("p_f32.gguf", GgmlType::F32, GgmlType::F16);
  const std::string c = make_dummy("p_tq1.gguf", GgmlType::TQ1_0, GgmlType::F16);
  auto ma = Model::load(a, LoadOptions{}), mb = Model::load(b, LoadOptions{}), mc = Model::load(c, LoadOptions{});
  const auto la = logits_of(*ma, kTokens);
  EXPECT_EQ(la, logits_of(*mb, kTokens));
  EXPECT_EQ(la, logits_of(*mc, kTokens));
  for (const auto& p : {a, b, c}) fs::remove(p);
}

// Decode at depth splits a lone token's attention into key chunks merged afterwards (forward's
// AttTask / att_merge); a prefill batch attends over all keys in one piece. The same positions
// through both must agree to float rounding, and the split must not depend on the thread count.
TEST(ModelVariants, DecodeAtDepthSplitsAttentionAndMatchesPrefill) {
  const std::string p = make_dummy("depth.gguf", GgmlType::I2_S, GgmlType::F16);
  auto m = Model::load(p, LoadOptions{});
  const int64_t n_ctx_needed = 1100, n_prefix = 1000;  // decode positions 1000..1099: 4 chunks of 256
  std::vector<int32_t> toks(static_cast<size_t>(n_ctx_needed));
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = static_cast<int32_t>((i * 7919 + 13) % static_cast<size_t>(m->config().n_vocab));
  const int64_t nv = m->config().n_vocab;
  // all positions in prefill batches of 1100 (tiles of 8 tokens: never split)
  Session whole(*m, n_ctx_needed, 2);
  const std::vector<float> all = whole.eval_all(toks, 2048);
  std::vector<float> dec[2];
  for (int threads : {1, 2}) {
    Session s(*m, n_ctx_needed, threads);
    s.eval(std::vector<int32_t>(toks.begin(), toks.begin() + n_prefix), 512);
    for (int64_t i = n_prefix; i < n_ctx_needed; ++i) {
      const std::vector<float>& lg = s.eval({toks[static_cast<size_t>(i)]});
      dec[threads - 1].insert(dec[threads - 1].end(), lg.begin(), lg.end());
    }
  }
  EXPECT_EQ(dec[0], dec[1]) << "split attention depends on the thread count";
  const std::vector<float> want(all.begin() + n_prefix * nv, all.end());
  EXPECT_LT(rel_err(dec[1], want), 2e-4);
  std::remove(p.c_str());
}

// An F16 KV cache (--cache-type f16) rounds keys and values to half precision: half the bytes,
// logits close to the F32 cache's (not equal), at short contexts and in split decode at depth,
// and still independent of the thread count.
TEST(ModelVariants, HalfPrecisionKvCacheStaysCloseToF32) {
  const std::string p = make_dummy("kv16.gguf", GgmlType::I2_S, GgmlType::F16);
  auto m = Model::load(p, LoadOptions{});
  const int64_t n = 700, nv = m->config().n_vocab;
  std::vector<int32_t> toks(static_cast<size_t>(n));
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = static_cast<int32_t>((i * 104729 + 7) % static_cast<size_t>(nv));
  auto run = [&](KvType type, int threads) {
    Session s(*m, n, threads, type);
    std::vector<float> out = s.eval_all(std::vector<int32_t>(toks.begin(), toks.begin() + 600), 256);
    for (int64_t i = 600; i < n; ++i) {  // decode past 512 keys: the split path
      const std::vector<float>& lg = s.eval({toks[static_cast<size_t>(i)]});
      out.insert(out.end(), lg.begin(), lg.end());
    }
    return out;
  };
  const std::vector<float> f32 = run(KvType::kF32, 2), f16 = run(KvType::kF16, 2), f16_1 = run(KvType::kF16, 1);
  EXPECT_EQ(f16, f16_1) << "F16 KV results depend on the thread count";
  EXPECT_NE(f16, f32) << "the F16 cache changed nothing: is it used?";
  EXPECT_LT(rel_err(f16, f32), 2e-2);
  const ModelConfig& c = m->config();
  EXPECT_EQ(KvCache(c, 1, 64, KvType::kF16).bytes() * 2, KvCache(c, 1, 64).bytes());
  std::remove(p.c_str());
}

// TN16 weights (the layout AVX-512 with VBMI loads; TERN_LAYOUT forces either on any path) give
// logits equal to TR16's to the bit: prefill (TN16 rewritten to TR16 for the GEMM tiles) and
// decode (TN16 kernels); and hold fewer bytes.
// A file whose metadata promises far more layers than it holds fails with a message before its
// weights are laid out (the projections share one block sized from the metadata).
TEST(ModelVariants, MetadataPromisingMoreLayersThanTheFileHoldsIsRejected) {
  const std::string orig = make_dummy("layers.gguf", GgmlType::I2_S, GgmlType::F16);
  const std::string bad = temp_path("layers_bad.gguf");
  {
    auto f = gguf::File::open(orig);
    gguf::Writer w;
    for (const auto& [key, value] : f->metadata()) w.set_value(key, value);
    w.set_u32("bitnet-b1.58.block_count", 1000000);
    for (const auto& t : f->tensors()) {
      std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
      w.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.nbytes));
    }
    w.write(bad);
  }
  try {
    Model::load(bad, LoadOptions{});
    ADD_FAILURE() << "a 1000000-layer claim loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("describes more weights than the file holds"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(Model::load(orig, LoadOptions{}));
  fs::remove(orig);
  fs::remove(bad);
}

TEST(ModelVariants, Tn16WeightsGiveTheSameLogitsAsTr16) {
  const std::string p = make_dummy("tn16.gguf", GgmlType::I2_S, GgmlType::F16);
  const char* old = std::getenv("TERN_LAYOUT");
  const std::string saved = old ? old : "";
  std::vector<float> out[2];
  uint64_t bytes[2] = {0, 0};
  for (int lay = 0; lay < 2; ++lay) {
    ::setenv("TERN_LAYOUT", lay ? "tn16" : "tr16", 1);
    auto m = Model::load(p, LoadOptions{});
    bytes[lay] = m->weight_bytes();
    const int64_t nv = m->config().n_vocab;
    std::vector<int32_t> toks(40);
    for (size_t i = 0; i < toks.size(); ++i) toks[i] = static_cast<int32_t>((i * 7919 + 3) % static_cast<size_t>(nv));
    Session s(*m, 64, 2);
    out[lay] = s.eval_all(std::vector<int32_t>(toks.begin(), toks.begin() + 30), 512);
    for (size_t i = 30; i < toks.size(); ++i) {
      const std::vector<float>& lg = s.eval({toks[i]});
      out[lay].insert(out[lay].end(), lg.begin(), lg.end());
    }
  }
  ::setenv("TERN_LAYOUT", "bogus", 1);
  try {
    (void)Model::load(p, LoadOptions{});
    ADD_FAILURE() << "TERN_LAYOUT=bogus was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tr16 or tn16"), std::string::npos) << e.what();
  }
  if (old) {
    ::setenv("TERN_LAYOUT", saved.c_str(), 1);
  } else {
    ::unsetenv("TERN_LAYOUT");
  }
  EXPECT_EQ(out[0], out[1]);
  EXPECT_LT(bytes[1], bytes[0]);
  std::remove(p.c_str());
}

}  // namespace
}  // namespace tern
