// Golden tests: tern's forward pass against an independent PyTorch implementation of the
// Hugging Face BitNet b1.58 model (tools/golden/gen_bitnet_fixture.py). The same tiny model is
// stored as I2_S, TQ2_0 and TQ1_0; all three must reproduce the reference per layer, in the
// final logits, and token for token in greedy decoding. Also: batched prefill equals
// token-by-token decoding, and every kernel ISA gives the same greedy tokens.
#include <gtest/gtest.h>

#include "common/compare.h"

#include <cmath>
#include <map>
#include <string>

#include "engine/perplexity.h"
#include "engine/session.h"
#include "gguf/gguf.h"
#include "kernels/table.h"
#include "model/model.h"

namespace tern {
namespace {

const std::string kDir = std::string(TERN_FIXTURES_DIR) + "/golden/";

struct Ref {
  std::unique_ptr<gguf::File> f;
  std::vector<float> get(const std::string& name) const {
    const gguf::TensorInfo& t = f->tensor(name);
    EXPECT_EQ(t.type, GgmlType::F32) << name;
    std::vector<float> v(static_cast<size_t>(t.n_elements()));
    std::memcpy(v.data(), t.data, v.size() * 4);
    return v;
  }
  std::vector<int32_t> ids(const std::string& name) const {
    const gguf::TensorInfo& t = f->tensor(name);
    EXPECT_EQ(t.type, GgmlType::I32) << name;
    std::vector<int32_t> v(static_cast<size_t>(t.n_elements()));
    std::memcpy(v.data(), t.data, v.size() * 4);
    return v;
  }
};

Ref load_ref() { return Ref{gguf::File::open(kDir + "bitnet_tiny_ref.gguf")}; }

using tern::testing::rel_err;

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, PerLayerOutputsAndLogitsMatchReference) {
  Ref ref = load_ref();
  const std::vector<int32_t> tokens = ref.ids("ref.tokens");
  auto model = Model::load(kDir + "bitnet_tiny_" + GetParam() + ".gguf", LoadOptions{});
  Session s(*model, 64, 2);
  std::map<std::string, std::vector<float>> got;
  DumpFn dump = [&](const std::string& name, int layer, const float* d, int64_t dim, int64_t n) {
    const std::string key = layer < 0 ? "ref." + name : "ref." + std::to_string(layer) + "." + name;
    got[key].assign(d, d + dim * n);
  };
  const std::vector<float> logits = s.eval_all(tokens, 512, &dump);
  // Every dumped intermediate that the reference also stores must agree. Errors grow a little
  // layer by layer: float sums in another order can move an activation across an int8 rounding
  // boundary (docs/GOLDEN.md), so the bound is relative to each tensor's magnitude.
  int compared = 0;
  for (const auto& [name, v] : got) {
    if (!ref.f->find_tensor(name)) continue;
    const double e = rel_err(v, ref.get(name));
    EXPECT_LT(e, 2e-3) << GetParam() << " " << name;
    ++compared;
  }
  EXPECT_GE(compared, 10) << "the reference file names too few intermediates";
  const double e = rel_err(logits, ref.get("ref.logits"));
  EXPECT_LT(e, 2e-3) << GetParam() << " logits";
}

TEST_P(Golden, GreedyTokensMatchReferenceOnEveryIsa) {
  Ref ref = load_ref();
  const std::vector<int32_t> prompt = ref.ids("ref.tokens");
  const std::vector<int32_t> want = ref.ids("ref.greedy");
  const char* before = kernels().isa;
  int n = 0;
  const char* const* names = kernel_isa_names(&n);
  for (int i = 0; i < n; ++i) {
    if (!kernel_table_for(names[i])) continue;
    set_kernel_isa(names[i]);
    auto model = Model::load(kDir + "bitnet_tiny_" + GetParam() + ".gguf", LoadOptions{});
    Session s(*model, 64, 2);
    std::vector<float> logits = s.eval(prompt);
    std::vector<int32_t> out;
    for (size_t k = 0; k < want.size(); ++k) {
      const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      out.push_back(next);
      logits = s.eval({next});
    }
    EXPECT_EQ(out, want) << GetParam() << " isa " << names[i];
  }
  set_kernel_isa(before);
}

TEST_P(Golden, BatchedPrefillEqualsTokenByToken) {
  Ref ref = load_ref();
  const std::vector<int32_t> tokens = ref.ids("ref.tokens");
  auto model = Model::load(kDir + "bitnet_tiny_" + GetParam() + ".gguf", LoadOptions{});
  Session a(*model, 64, 2), b(*model, 64, 1);
  const std::vector<float> all = a.eval_all(tokens);
  std::vector<float> seq;
  for (int32_t t : tokens) {
    const auto& l = b.eval({t});
    seq.insert(seq.end(), l.begin(), l.end());
  }
  // Integer sums are exact and per-token quantization does not depend on the batch, so the only
  // difference is float summation order in the head: tiny.
  EXPECT_LT(rel_err(all, seq), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Types, Golden, ::testing::Values("i2_s", "tq2_0", "tq1_0"));

TEST(GoldenModel, RunningPastTheContextIsAClearError) {
  auto model = Model::load(kDir + "bitnet_tiny_i2_s.gguf", LoadOptions{});
  Session s(*model, 8, 1);
  std::vector<int32_t> toks(8, 1);
  s.eval(toks);
  try {
    s.eval({1});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

TEST(GoldenPerplexity, MatchesPerplexityFromReferenceLogits) {
  Ref ref = load_ref();
  const std::vector<int32_t> tokens = ref.ids("ref.tokens");
  const std::vector<float> logits = ref.get("ref.logits");
  const int64_t n = static_cast<int64_t>(tokens.size()), V = static_cast<int64_t>(logits.size()) / n;
  // Independent: NLL of tokens[i+1] under the reference's row i, for the scored half.
  double nll = 0;
  int64_t count = 0;
  for (int64_t i = n / 2; i + 1 < n; ++i) {
    const float* row = logits.data() + i * V;
    double mx = row[0], s = 0;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(row[v]));
    for (int64_t v = 0; v < V; ++v) s += std::exp(row[v] - mx);
    nll += -(row[tokens[static_cast<size_t>(i + 1)]] - mx - std::log(s));
    ++count;
  }
  const double want = std::exp(nll / static_cast<double>(count));
  auto model = Model::load(kDir + "bitnet_tiny_i2_s.gguf", LoadOptions{});
  Session s(*model, n, 1), base(*model, n, 1);
  const PerplexityResult r = perplexity(s, &base, tokens, -1, n);
  EXPECT_EQ(r.n_scored, count);
  EXPECT_NEAR(r.ppl(), want, 1e-3 * want);
  EXPECT_NEAR(r.kl_mean(), 0.0, 1e-9);  // a model against itself
  EXPECT_EQ(r.top1_agree, count);
}

}  // namespace
}  // namespace tern
