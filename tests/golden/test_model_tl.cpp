// bitnet.cpp TL1 / TL2 model files: the tiny dummy model rewritten with its projections in
// TL1 or TL2, laid out as bitnet.cpp's converter and GGUF writer lay them out (codes, zero
// padding, the f32 scale in the 32-byte slot after them, no listed `_scale` tensor), must give
// exactly the logits of the I2_S file it came from.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "engine/dummy.h"
#include "engine/session.h"
#include "formats/formats.h"
#include "formats/tl.h"
#include "gguf/gguf.h"
#include "model/model.h"

namespace tern {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("tern_tl_" + std::to_string(getpid()) + "_" + name)).string();
}

// Tilings for the tiny layout's shapes (M, K): q/o 256x256, k/v 128x256, gate/up 512x256,
// down 256x512. TL2 with BK = 96 leaves a 64- (K = 256) or 32-column (K = 512) pair tail.
std::vector<formats::TlConfig> tiny_configs(GgmlType t) {
  const int64_t bm_rows = t == GgmlType::TL1 ? 128 : 32, bk = t == GgmlType::TL1 ? 128 : 96;
  std::vector<formats::TlConfig> v;
  for (auto [m, k] : {std::pair<int64_t, int64_t>{256, 256}, {128, 256}, {512, 256}, {256, 512}})
    v.push_back({m, k, bm_rows, bk, 32});
  return v;
}

// Rewrites every I2_S projection of `src` as `t` with the given tilings; when `list_scale`,
// also lists a `<name>_scale` F32 tensor (as a stock gguf-py writer would).
void rewrite_as_tl(const std::string& src, const std::string& dst, GgmlType t,
                   const std::vector<formats::TlConfig>& cfgs, bool list_scale, float listed_factor = 1.0f) {
  auto f = gguf::File::open(src);
  gguf::Writer w;
  for (const auto& [key, value] : f->metadata()) w.set_value(key, value);
  for (const auto& ti : f->tensors()) {
    std::vector<int64_t> ne(ti.ne, ti.ne + ti.n_dims);
    if (ti.type != GgmlType::I2_S) {
      w.add_tensor(ti.name, ti.type, ne, std::vector<uint8_t>(ti.data, ti.data + ti.nbytes));
      continue;
    }
    const int64_t cols = ti.ne[0], rows = ti.ne[1];
    std::vector<int8_t> trits(size_t(rows * cols));
    std::vector<float> bs;
    for (int64_t r = 0; r < rows; ++r)
      formats::unpack_ternary_row(GgmlType::I2_S, ti.data, rows, cols, r, trits.data() + r * cols, bs);
    const float scale = bs.at(0);
    formats::TlConfig cfg;
    for (const auto& c : cfgs)
      if (c.rows == rows && c.cols == cols) cfg = c;
    ASSERT_GT(cfg.rows, 0) << ti.name;
    w.add_tensor(ti.name, t, ne, formats::pack_tl(t, trits.data(), cfg, scale));
    if (list_scale) {
      std::vector<uint8_t> b(4);
      const float s = scale * listed_factor;
      std::memcpy(b.data(), &s, 4);
      w.add_tensor(ti.name + "_scale", GgmlType::F32, {1}, std::move(b));
    }
  }
  w.write(dst);
}

const std::vector<int32_t> kTokens = {1, 17, 200, 33, 5, 480, 2};

std::vector<float> logits_of(const Model& m) {
  Session s(m, 32, 1);
  return s.eval_all(kTokens, 512);
}

class ModelTL : public ::testing::TestWithParam<GgmlType> {};

TEST_P(ModelTL, GivesTheLogitsOfTheI2SFile) {
  const GgmlType t = GetParam();
  const std::string name(ggml_type_name(t));
  const std::string i2s = temp_path(name + "_src.gguf"), tl = temp_path(name + ".gguf");
  DummyOptions o;
  o.layout = "tiny";
  o.type = GgmlType::I2_S;
  o.seed = 23;
  write_dummy_model(i2s, o);
  rewrite_as_tl(i2s, tl, t, tiny_configs(t), false);
  auto ref = Model::load(i2s, LoadOptions{});
  LoadOptions opt;
  opt.tl_configs = tiny_configs(t);
  opt.tl_config_source = "test.ini";
  opt.n_threads = 2;
  auto m = Model::load(tl, opt);
  EXPECT_THAT(m->describe_types(), HasSubstr(name + " projections"));
  const auto want = logits_of(*ref), got = logits_of(*m);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(got, want);

  // A wrong tiling (one that fits the shapes) decodes to other weights: the config matters.
  auto wrong = tiny_configs(t);
  for (auto& c : wrong) c.block_rows = 64;
  LoadOptions wopt;
  wopt.tl_configs = wrong;
  EXPECT_NE(logits_of(*Model::load(tl, wopt)), want);

  // Without a tiling for these shapes the load fails and says what to do.
  EXPECT_THAT([&] { Model::load(tl, LoadOptions{}); },
              ThrowsMessage<Error>(AllOf(HasSubstr("blk.0.attn_q.weight is " + name + " with 256 rows x 256 columns"),
                                         HasSubstr("--tl-config FILE"), HasSubstr("tern convert"))));
  // A tiling that cannot tile the shape is named with where it came from.
  auto bad = tiny_configs(t);
  for (auto& c : bad) c.block_rows = 96;
  LoadOptions bopt;
  bopt.tl_configs = bad;
  bopt.tl_config_source = "bad.ini";
  EXPECT_THAT([&] { Model::load(tl, bopt); },
              ThrowsMessage<Error>(AllOf(HasSubstr("M % BM == 0"), HasSubstr("tiling from bad.ini"))));
  fs::remove(i2s);
  fs::remove(tl);
}

TEST_P(ModelTL, ListedScaleTensorIsUsed) {
  const GgmlType t = GetParam();
  const std::string name(ggml_type_name(t));
  const std::string i2s = temp_path(name + "_src2.gguf"), same = temp_path(name + "_same.gguf"),
                    twice = temp_path(name + "_twice.gguf");
  DummyOptions o;
  o.layout = "tiny";
  o.seed = 24;
  write_dummy_model(i2s, o);
  rewrite_as_tl(i2s, same, t, tiny_configs(t), true, 1.0f);
  rewrite_as_tl(i2s, twice, t, tiny_configs(t), true, 2.0f);
  LoadOptions opt;
  opt.tl_configs = tiny_configs(t);
  const auto want = logits_of(*Model::load(i2s, LoadOptions{}));
  EXPECT_EQ(logits_of(*Model::load(same, opt)), want);
  EXPECT_NE(logits_of(*Model::load(twice, opt)), want);  // the listed scale, not the slot
  for (const auto& p : {i2s, same, twice}) fs::remove(p);
}

INSTANTIATE_TEST_SUITE_P(Types, ModelTL, ::testing::Values(GgmlType::TL1, GgmlType::TL2),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

}  // namespace
}  // namespace tern
