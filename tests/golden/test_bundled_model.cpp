// The bundled model (assets/models, trained by tools/train) against the independent PyTorch
// reference of its exported checkpoint (tools/train/reference.py): tokenization of fixed prompts,
// greedy continuations token for token, and perplexity over a committed KJV excerpt.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/perplexity.h"
#include "engine/session.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kModel = fs::path(TERN_SOURCE_DIR) / "assets" / "models" / "tern-kjv-small.i2_s.gguf";
const fs::path kFix = fs::path(TERN_FIXTURES_DIR) / "train";

json load_json(const fs::path& p) {
  std::ifstream in(p);
  EXPECT_TRUE(in) << p;
  return json::parse(in);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(BundledModel, GreedyContinuationsMatchTheReference) {
  ASSERT_TRUE(fs::exists(kModel)) << kModel;
  const json ref = load_json(kFix / "reference.json");
  auto model = Model::load(kModel.string(), LoadOptions{});
  auto tok = Tokenizer::from_gguf(model->file());
  ASSERT_GE(ref["greedy"]["prompts"].size(), 3u);
  for (const auto& p : ref["greedy"]["prompts"]) {
    const std::string text = p["text"];
    const auto ids = tok->encode(text, true, false);
    ASSERT_EQ(ids, p["ids"].get<std::vector<int32_t>>()) << text;
    const auto want = p["greedy"].get<std::vector<int32_t>>();
    Session s(*model, 0, 2);
    std::vector<float> logits = s.eval(ids);
    std::vector<int32_t> got;
    for (size_t k = 0; k < want.size(); ++k) {
      const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      got.push_back(next);
      if (k + 1 < want.size()) logits = s.eval({next});
    }
    EXPECT_EQ(got, want) << text;
  }
}

TEST(BundledModel, PerplexityOfAKjvExcerptMatchesTheReference) {
  ASSERT_TRUE(fs::exists(kModel)) << kModel;
  const json ref = load_json(kFix / "reference_excerpt.json");
  auto model = Model::load(kModel.string(), LoadOptions{});
  auto tok = Tokenizer::from_gguf(model->file());
  const int64_t ctx = ref["ppl"]["ctx"];
  const std::vector<int32_t> ids = tok->encode(slurp(kFix / "kjv_excerpt.txt"), false, false);
  EXPECT_EQ(static_cast<int64_t>(ids.size()), ref["ppl"]["n_tokens"].get<int64_t>());
  Session s(*model, ctx, 2);
  const PerplexityResult r = perplexity(s, nullptr, ids, tok->bos(), ctx);
  EXPECT_EQ(r.n_scored, ref["ppl"]["n_scored"].get<int64_t>());
  const double want = ref["ppl"]["ppl"];
  EXPECT_NEAR(r.ppl(), want, 1e-3 * want);
}

}  // namespace
}  // namespace tern
