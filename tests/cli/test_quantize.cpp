// tern quantize end to end: a dummy f16-head model re-typed to q8_0 / q6_k loads, generates,
// names its head type, keeps every other tensor and key byte for byte; bad input is refused
// with a one-line error and the input is never touched.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "common/run_cli.h"
#include "engine/session.h"
#include "formats/formats.h"
#include "gguf/gguf.h"
#include "model/model.h"

namespace {

namespace fs = std::filesystem;
using Result = tern::testing::CliResult;
using tern::GgmlType;
Result run(const std::string& args) { return tern::testing::run_cli(args); }

class Quantize : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("tern_quantize_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    model_ = (dir_ / "f16.gguf").string();
    Result r = run("dummy --layout tiny --type i2_s --embd-type f16 --seed 3 -o " + model_);
    if (r.code != 0) setup_error_ = "tern dummy failed: " + r.out;
  }
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static inline std::string setup_error_;
  static inline fs::path dir_;
  static inline std::string model_;
};

std::vector<float> logits(const std::string& model) {
  Result r = run("logits -m " + model + " --tokens 1,2,3,4");
  EXPECT_EQ(r.code, 0) << r.out;
  std::vector<float> v;
  std::istringstream in(r.out);
  for (float x; in >> x;) v.push_back(x);
  return v;
}

double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    num += (a[i] - b[i]) * double(a[i] - b[i]);
    den += double(a[i]) * a[i];
  }
  return std::sqrt(num / den);
}

// In-process: the logits must be output_norm(h) times the head exactly as stored (dequantized
// by formats/, ggml's decoder), up to float summation order. Whole-model logits cannot show
// this tightly: a tied embedding perturbed by 2^-11 already moves the logits by ~1% through
// the per-token int8 activation rounding of a random model.
void expect_head_is_the_stored_weights(const std::string& path) {
  auto model = tern::Model::load(path, tern::LoadOptions{});
  tern::Session s(*model, 8, 2);
  std::vector<float> xin;
  tern::DumpFn dump = [&](const std::string& name, int, const float* d, int64_t dim, int64_t n) {
    if (name == "output_norm") xin.assign(d, d + dim * n);
  };
  const std::vector<float> lg = s.eval_all({1, 2, 3}, 512, &dump);
  const tern::gguf::TensorInfo& t = model->file().tensor("token_embd.weight");
  const int64_t D = t.ne[0], V = t.ne[1];
  std::vector<float> w(static_cast<size_t>(V * D));
  tern::formats::dequantize_rows(t.type, t.data, V, D, 0, V, w.data());
  ASSERT_EQ(xin.size(), static_cast<size_t>(3 * D));
  ASSERT_EQ(lg.size(), static_cast<size_t>(3 * V));
  for (int64_t tok = 0; tok < 3; ++tok) {
    for (int64_t v = 0; v < V; ++v) {
      double acc = 0, mag = 0;
      for (int64_t i = 0; i < D; ++i) {
        const double p =
            double(w[static_cast<size_t>(v * D + i)]) * xin[static_cast<size_t>(tok * D + i)];
        acc += p;
        mag += std::fabs(p);
      }
      ASSERT_NEAR(lg[static_cast<size_t>(tok * V + v)], acc, 1e-5 * mag + 1e-6)
          << path << " token " << tok << " row " << v;
    }
  }
}

TEST_F(Quantize, RetypesTheHeadAndCopiesEverythingElse) {
  const std::vector<float> base = logits(model_);
  ASSERT_EQ(base.size(), 4u * 512u);  // tiny: vocab 512
  struct Case {
    const char* type;
    GgmlType want;
    double max_rel;  // logits drift against the f16 head (random weights, tied embedding)
  };
  for (const Case& c : {Case{"q8_0", GgmlType::Q8_0, 0.05}, Case{"q6_k", GgmlType::Q6_K, 0.1}}) {
    const std::string out = (dir_ / (std::string(c.type) + ".gguf")).string();
    Result r = run("quantize " + model_ + " " + out + " --embd-type " + c.type + " -t 2");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(std::string("token_embd.weight: f16 -> ") + c.type), std::string::npos)
        << r.out;

    auto in = tern::gguf::File::open(model_);
    auto q = tern::gguf::File::open(out);
    EXPECT_EQ(q->tensor("token_embd.weight").type, c.want);
    ASSERT_EQ(q->tensors().size(), in->tensors().size());
    for (size_t i = 0; i < in->tensors().size(); ++i) {
      const auto& a = in->tensors()[i];
      const auto& b = q->tensors()[i];
      ASSERT_EQ(a.name, b.name);
      EXPECT_EQ(std::vector<int64_t>(a.ne, a.ne + 4), std::vector<int64_t>(b.ne, b.ne + 4))
          << a.name;
      if (a.name == "token_embd.weight") continue;
      EXPECT_EQ(a.type, b.type) << a.name;
      ASSERT_EQ(a.nbytes, b.nbytes) << a.name;
      EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << a.name << " changed";
    }
    for (const auto& [key, value] : in->metadata()) {
      const tern::gguf::Value* v = q->find(key);
      ASSERT_NE(v, nullptr) << key << " dropped";
      EXPECT_EQ(v->to_display(1000000), value.to_display(1000000)) << key;
    }
    EXPECT_EQ(q->get_u64("general.quantization_version"), 2u);

    // It loads, names its head type, generates, and its logits stay close to the f16 head's.
    Result b = run("bench -m " + out + " -p 0 -n 4 -r 1 -t 1");
    ASSERT_EQ(b.code, 0) << b.out;
    EXPECT_NE(b.out.find(std::string(c.type) + " head"), std::string::npos) << b.out;
    Result g = run("run -m " + out + " -p hello -n 8 -temp 0 -t 2");
    ASSERT_EQ(g.code, 0) << g.out;
    EXPECT_NE(g.out.find("generation 8 tokens"), std::string::npos) << g.out;
    const std::vector<float> l = logits(out);
    ASSERT_EQ(l.size(), base.size());
    const double d = rel_diff(base, l);
    EXPECT_GT(d, 0.0) << c.type << ": logits identical to f16: head not re-typed?";
    EXPECT_LT(d, c.max_rel) << c.type;
    std::printf("%s head: logits differ from the f16 head's by %.4f (relative L2)\n", c.type, d);

    // Back to f16: the f16 file holds the same quantized values rounded to half precision
    // (relative error <= 2^-11), so the quantized head's kernels must give nearly its logits.
    const std::string back = (dir_ / (std::string(c.type) + "-back.gguf")).string();
    Result bk = run("quantize " + out + " " + back + " --embd-type f16");
    ASSERT_EQ(bk.code, 0) << bk.out;
    EXPECT_NE(bk.out.find("re-quantizing"), std::string::npos) << bk.out;
    EXPECT_EQ(tern::gguf::File::open(back)->tensor("token_embd.weight").type, GgmlType::F16);
    expect_head_is_the_stored_weights(out);
  }
  // Same type: copied, with a note.
  Result r = run("quantize " + model_ + " " + (dir_ / "same.gguf").string() + " --embd-type f16");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("already f16"), std::string::npos) << r.out;
}

TEST_F(Quantize, BadInputIsRefusedAndTheInputIsNeverTouched) {
  const auto size = fs::file_size(model_);
  const auto mtime = fs::last_write_time(model_);
  const std::string link = (dir_ / "link.gguf").string();
  fs::create_symlink(model_, link);
  // 3B: n_embd 3200 is not a multiple of Q6_K's 256-value blocks.
  const std::string wide = (dir_ / "3b.gguf").string();
  ASSERT_EQ(run("dummy --layout 3B --layers 1 --vocab 1000 -o " + wide).code, 0);
  struct Case {
    std::string args, expect;
  };
  const std::string m = model_, o = (dir_ / "o.gguf").string();
  const Case cases[] = {
      {"quantize " + m + " " + m + " --embd-type q8_0", "never overwrites"},
      {"quantize " + m + " " + link + " --embd-type q8_0", "never overwrites"},
      {"quantize " + m + " " + o + " --embd-type q4_0", "--embd-type"},
      {"quantize " + m + " " + o + " --embd-type nope", "--embd-type"},
      {"quantize " + m + " " + o, "--embd-type"},
      {"quantize " + (dir_ / "missing.gguf").string() + " " + o + " --embd-type q8_0",
       "cannot open"},
      {"quantize " + wide + " " + o + " --embd-type q6_k", "blocks of 256"},
  };
  for (const auto& c : cases) {
    Result r = run(c.args);
    EXPECT_NE(r.code, 0) << c.args << "\n" << r.out;
    EXPECT_LT(r.code, 128) << "crashed: " << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
  }
  EXPECT_FALSE(fs::exists(o));
  EXPECT_EQ(fs::file_size(model_), size);
  EXPECT_EQ(fs::last_write_time(model_), mtime);
  // q8_0 fits 3200-value rows.
  Result r = run("quantize " + wide + " " + o + " --embd-type q8_0");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(run("logits -m " + o + " --tokens 1,2").code, 0);
}

}  // namespace
