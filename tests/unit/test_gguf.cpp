// GGUF writer -> reader round trips, typed getters, display forms and the type table.
// Malformed images are in test_gguf_malformed.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "gguf/gguf.h"
#include "test_gguf_util.h"

namespace tern::gguf {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// A fresh path in a per-test directory, removed with it.
class TempDir {
 public:
  TempDir() {
    dir_ = fs::path(::testing::TempDir()) /
           ("tern_gguf_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~TempDir() { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  size_t n_files() const {
    return static_cast<size_t>(
        std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
  }

 private:
  fs::path dir_;
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 31 + seed);
  return v;
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected tern::Error";
  return "";
}

Value scalar(ValueType t, decltype(Value::scalar) v) {
  Value out;
  out.type = t;
  out.scalar = std::move(v);
  return out;
}

TEST(Gguf, RoundTripEveryValueType) {
  TempDir tmp;
  Writer w;
  w.set_u8("t.u8", 200);
  w.set_value("t.i8", scalar(ValueType::INT8, int64_t{-100}));
  w.set_value("t.u16", scalar(ValueType::UINT16, uint64_t{60000}));
  w.set_value("t.i16", scalar(ValueType::INT16, int64_t{-30000}));
  w.set_u32("t.u32", 4000000000u);
  w.set_i32("t.i32", -2000000000);
  w.set_f32("t.f32", 1e-5f);
  w.set_bool("t.bool", true);
  w.set_string("t.str", "h\xc3\xa9llo\n");
  w.set_u64("t.u64", std::numeric_limits<uint64_t>::max());
  w.set_value("t.i64", scalar(ValueType::INT64, std::numeric_limits<int64_t>::min()));
  w.set_value("t.f64", scalar(ValueType::FLOAT64, 0.1));
  w.set_u32("t.replaced", 1);
  w.set_string("t.replaced", "second");  // replaces in place, keeps the first position
  const std::string path = tmp.path("values.gguf");
  w.write(path);

  auto f = File::open(path);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_TRUE(f->tensors().empty());
  const std::vector<std::string> keys = {"t.u8",  "t.i8",  "t.u16",     "t.i16", "t.u32",
                                         "t.i32", "t.f32", "t.bool",    "t.str", "t.u64",
                                         "t.i64", "t.f64", "t.replaced"};
  ASSERT_EQ(f->metadata().size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(f->metadata()[i].first, keys[i]);

  EXPECT_EQ(f->find("t.u8")->type, ValueType::UINT8);
  EXPECT_EQ(f->get_u64("t.u8"), 200u);
  EXPECT_EQ(f->find("t.i8")->type, ValueType::INT8);
  EXPECT_EQ(f->get_i64("t.i8"), -100);
  EXPECT_EQ(f->find("t.u16")->type, ValueType::UINT16);
  EXPECT_EQ(f->get_u64("t.u16"), 60000u);
  EXPECT_EQ(f->find("t.i16")->type, ValueType::INT16);
  EXPECT_EQ(f->get_i64("t.i16"), -30000);
  EXPECT_EQ(f->get_u64("t.u32"), 4000000000u);
  EXPECT_EQ(f->get_i64("t.i32"), -2000000000);
  EXPECT_EQ(f->find("t.f32")->type, ValueType::FLOAT32);
  EXPECT_EQ(static_cast<float>(f->get_f64("t.f32")), 1e-5f);
  EXPECT_TRUE(f->get_bool_or("t.bool", false));
  EXPECT_EQ(f->get_string("t.str"), "h\xc3\xa9llo\n");
  EXPECT_EQ(f->get_u64("t.u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f->get_i64("t.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f->find("t.f64")->type, ValueType::FLOAT64);
  EXPECT_EQ(f->get_f64("t.f64"), 0.1);
  EXPECT_EQ(f->get_string("t.replaced"), "second");
}

TEST(Gguf, RoundTripArrays) {
  TempDir tmp;
  Writer w;
  w.set_str_array("a.str", {"<s>", "", "\xe2\x96\x81the"});
  w.set_f32_array("a.f32", {0.5f, -1.25f, 3e38f});
  w.set_i32_array("a.i32", {1, -2, std::numeric_limits<int32_t>::max()});
  w.set_i32_array("a.empty", {});
  Value u8s;
  u8s.type = ValueType::ARRAY;
  u8s.elem_type = ValueType::UINT8;
  u8s.arr_uint = {0, 7, 255};
  w.set_value("a.u8", u8s);
  Value i64s;
  i64s.type = ValueType::ARRAY;
  i64s.elem_type = ValueType::INT64;
  i64s.arr_int = {std::numeric_limits<int64_t>::min(), 0, 5};
  w.set_value("a.i64", i64s);
  Value bools;
  bools.type = ValueType::ARRAY;
  bools.elem_type = ValueType::BOOL;
  bools.arr_uint = {1, 0, 1};
  w.set_value("a.bool", bools);
  Value f64s;
  f64s.type = ValueType::ARRAY;
  f64s.elem_type = ValueType::FLOAT64;
  f64s.arr_float = {0.1, -2.5};
  w.set_value("a.f64", f64s);
  const std::string path = tmp.path("arrays.gguf");
  w.write(path);

  auto f = File::open(path);
  EXPECT_EQ(f->get_str_array("a.str"), (std::vector<std::string>{"<s>", "", "\xe2\x96\x81the"}));
  EXPECT_EQ(f->get_f32_array("a.f32"), (std::vector<float>{0.5f, -1.25f, 3e38f}));
  EXPECT_EQ(f->get_i32_array("a.i32"),
            (std::vector<int32_t>{1, -2, std::numeric_limits<int32_t>::max()}));
  EXPECT_TRUE(f->get_i32_array("a.empty").empty());
  EXPECT_EQ(f->find("a.empty")->elem_type, ValueType::INT32);
  EXPECT_EQ(f->find("a.u8")->arr_uint, (std::vector<uint64_t>{0, 7, 255}));
  EXPECT_EQ(f->get_i32_array("a.u8"), (std::vector<int32_t>{0, 7, 255}));
  EXPECT_EQ(f->find("a.i64")->arr_int, i64s.arr_int);
  EXPECT_EQ(f->find("a.bool")->arr_uint, (std::vector<uint64_t>{1, 0, 1}));
  EXPECT_EQ(f->find("a.f64")->arr_float, (std::vector<double>{0.1, -2.5}));
  EXPECT_EQ(f->find("a.f64")->array_size(), 2u);
  // Copying every pair through set_value reproduces the metadata exactly.
  Writer copy;
  for (const auto& [k, v] : f->metadata()) copy.set_value(k, v);
  const std::string path2 = tmp.path("copy.gguf");
  copy.write(path2);
  EXPECT_EQ(read_all(path), read_all(path2));
}

class GgufTensors : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufTensors, RoundTripDataAndAlignment) {
  const uint32_t alignment = GetParam();
  TempDir tmp;
  struct Spec {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    uint64_t nbytes;
  };
  const std::vector<Spec> specs = {
      {"f32", GgmlType::F32, {5, 3}, 60},
      {"f16", GgmlType::F16, {7}, 14},
      {"bf16", GgmlType::BF16, {2, 2, 2, 2}, 32},
      {"q8_0", GgmlType::Q8_0, {64, 2}, 4 * 34},
      {"tq1_0", GgmlType::TQ1_0, {256, 3}, 3 * 54},
      {"tq2_0", GgmlType::TQ2_0, {512, 1}, 2 * 66},
      {"i2_s", GgmlType::I2_S, {128, 6}, 128 * 6 / 4 + 32},
  };
  Writer w;
  if (alignment == 64) {
    w.set_alignment(alignment);
  } else {
    w.set_u32("general.alignment", alignment);  // the plain setter must work the same way
  }
  w.set_string("general.architecture", "test");
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i % 2 == 0) {
      w.add_tensor(specs[i].name, specs[i].type, specs[i].ne, pattern(specs[i].nbytes, uint8_t(i)));
    } else {
      const uint64_t n = specs[i].nbytes;
      w.add_tensor(specs[i].name, specs[i].type, specs[i].ne, [n, i](uint8_t* dst) {
        const auto p = pattern(n, uint8_t(i));
        std::copy(p.begin(), p.end(), dst);
      });
    }
  }
  std::vector<std::pair<uint64_t, uint64_t>> progress;
  const std::string path = tmp.path("tensors.gguf");
  w.write(path, [&](uint64_t done, uint64_t total) { progress.emplace_back(done, total); });
  const std::vector<uint8_t> bytes = read_all(path);

  ASSERT_EQ(progress.size(), specs.size() + 1);
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i].first, progress[i - 1].first);
  EXPECT_EQ(progress.back().first, bytes.size());
  EXPECT_EQ(progress.back().second, bytes.size());
  EXPECT_EQ(tmp.n_files(), 1u) << "temporary file left behind";

  auto check = [&](const File& f) {
    EXPECT_EQ(f.alignment(), alignment);
    EXPECT_EQ(f.data_offset() % alignment, 0u);
    EXPECT_EQ(f.file_size(), bytes.size());
    ASSERT_EQ(f.tensors().size(), specs.size());
    const uint8_t* base = f.tensors()[0].data - f.tensors()[0].offset - f.data_offset();
    for (size_t i = 0; i < specs.size(); ++i) {
      const TensorInfo& t = f.tensors()[i];
      SCOPED_TRACE(t.name);
      EXPECT_EQ(t.name, specs[i].name);
      EXPECT_EQ(&f.tensor(specs[i].name), &t);
      EXPECT_EQ(t.type, specs[i].type);
      EXPECT_EQ(t.n_dims, int(specs[i].ne.size()));
      for (size_t d = 0; d < 4; ++d) {
        EXPECT_EQ(t.ne[d], d < specs[i].ne.size() ? specs[i].ne[d] : 1);
      }
      EXPECT_EQ(t.nbytes, specs[i].nbytes);
      EXPECT_EQ(t.offset % alignment, 0u);
      EXPECT_EQ(t.data, base + f.data_offset() + t.offset);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % alignment, 0u);
      EXPECT_EQ(std::vector<uint8_t>(t.data, t.data + t.nbytes), pattern(t.nbytes, uint8_t(i)));
    }
    EXPECT_EQ(f.find_tensor("nope"), nullptr);
    EXPECT_THAT(error_of([&] { f.tensor("nope"); }), HasSubstr("tensor 'nope' is missing"));
  };
  check(*File::open(path));
  check(*File::from_memory(bytes.data(), bytes.size(), "mem.gguf"));
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufTensors, ::testing::Values(32u, 64u, 16u));

TEST(Gguf, ReadsHandWrittenV2) {
  using namespace test;
  const auto img = image(2, {kv_str("general.name", "v2")}, {tensor_info("w", {8}, 0, 0)}, 32);
  auto f = File::from_memory(img.data(), img.size(), "v2.gguf");
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->get_string("general.name"), "v2");
  ASSERT_EQ(f->tensors().size(), 1u);
  EXPECT_EQ(f->tensors()[0].nbytes, 32u);
  EXPECT_EQ(f->data_offset() % 32, 0u);
  EXPECT_EQ(f->tensors()[0].data[0], 1);  // first byte of the data pattern
}

TEST(Gguf, VocabOnlyFileMayEndBeforePadding) {
  using namespace test;
  Bytes b;
  b.raw("GGUF", 4).u32(3).u64(0).u64(1).append(kv_str("tokenizer.ggml.model", "gpt2"));
  auto f = File::from_memory(b.vec().data(), b.size(), "vocab.gguf");
  EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_TRUE(f->tensors().empty());
}

TEST(Gguf, TypedGettersCheckTypesAndRanges) {
  TempDir tmp;
  Writer w;
  w.set_i32("neg", -1);
  w.set_i32("pos", 7);
  w.set_u64("big", uint64_t(1) << 63);
  w.set_string("s", "x");
  w.set_f32("f", 2.5f);
  w.set_bool("b", false);
  w.set_f32_array("fa", {1.0f});
  w.set_str_array("sa", {"a"});
  Value wide;
  wide.type = ValueType::ARRAY;
  wide.elem_type = ValueType::INT64;
  wide.arr_int = {int64_t(1) << 40};
  w.set_value("wide", wide);
  const std::string path = tmp.path("getters.gguf");
  w.write(path);
  auto f = File::open(path);

  EXPECT_EQ(f->get_u64("pos"), 7u);
  EXPECT_EQ(f->get_f64("pos"), 7.0);
  EXPECT_EQ(f->get_f64("big"), 9223372036854775808.0);
  EXPECT_EQ(f->get_u64_or("absent", 9), 9u);
  EXPECT_EQ(f->get_i64_or("absent", -9), -9);
  EXPECT_EQ(f->get_f64_or("absent", 1.5), 1.5);
  EXPECT_EQ(f->get_string_or("absent", "d"), "d");
  EXPECT_EQ(f->get_string_or("s", "d"), "x");
  EXPECT_TRUE(f->get_bool_or("absent", true));
  EXPECT_FALSE(f->get_bool_or("b", true));

  // Each error names the file, the key and the actual type or value.
  EXPECT_THAT(error_of([&] { f->get_u64("neg"); }),
              HasSubstr("'neg' is -1, expected a value >= 0"));
  EXPECT_THAT(error_of([&] { f->get_i64("big"); }),
              HasSubstr("'big' is 9223372036854775808, which does not fit in int64"));
  EXPECT_THAT(error_of([&] { f->get_u64("s"); }), HasSubstr("'s' is string, expected an unsigned"));
  EXPECT_THAT(error_of([&] { f->get_i64("f"); }), HasSubstr("'f' is f32, expected an integer"));
  EXPECT_THAT(error_of([&] { f->get_f64("s"); }), HasSubstr("'s' is string, expected a number"));
  EXPECT_THAT(error_of([&] { f->get_string("pos"); }), HasSubstr("'pos' is i32, expected string"));
  EXPECT_THAT(error_of([&] { f->get_string_or("pos", ""); }), HasSubstr("'pos' is i32"));
  EXPECT_THAT(error_of([&] { f->get_bool_or("pos", true); }), HasSubstr("expected bool"));
  EXPECT_THAT(error_of([&] { f->get_str_array("fa"); }),
              HasSubstr("'fa' is an array of f32, expected an array of string"));
  EXPECT_THAT(error_of([&] { f->get_str_array("s"); }),
              HasSubstr("'s' is string, expected an array"));
  EXPECT_THAT(error_of([&] { f->get_f32_array("sa"); }), HasSubstr("'sa' is an array of string"));
  EXPECT_THAT(error_of([&] { f->get_i32_array("fa"); }), HasSubstr("'fa' is an array of f32"));
  EXPECT_THAT(error_of([&] { f->get_i32_array("wide"); }),
              HasSubstr("'wide' item 0 is 1099511627776, which does not fit in int32"));
  const std::string missing = error_of([&] { f->get_string("general.name"); });
  EXPECT_THAT(missing, HasSubstr(path + ": metadata key 'general.name' is missing"));
  EXPECT_THAT(error_of([&] { f->get_u64("nope"); }), HasSubstr("'nope' is missing"));
}

std::string quoted(std::string s) {
  s.insert(s.begin(), '"');
  s.push_back('"');
  return s;
}

TEST(Gguf, DisplayForms) {
  auto str = scalar(ValueType::STRING, std::string("a\"b\n"));
  EXPECT_EQ(str.to_display(), "\"a\\\"b\\n\"");
  auto long_str = scalar(ValueType::STRING, std::string(100, 'x'));
  EXPECT_EQ(long_str.to_display(), quoted(std::string(64, 'x')) + "... (100 bytes)");
  // Cut on a character boundary: 63 ASCII bytes then a 2-byte character straddling byte 64.
  auto utf8 = scalar(ValueType::STRING, std::string(63, 'x') + "\xc3\xa9" + std::string(10, 'y'));
  EXPECT_EQ(utf8.to_display(), quoted(std::string(63, 'x')) + "... (75 bytes)");
  EXPECT_EQ(scalar(ValueType::FLOAT32, double(1e-5f)).to_display(), "1e-05");
  EXPECT_EQ(scalar(ValueType::FLOAT64, 0.1).to_display(), "0.1");
  EXPECT_EQ(scalar(ValueType::INT32, int64_t{-3}).to_display(), "-3");
  EXPECT_EQ(scalar(ValueType::UINT64, uint64_t{18446744073709551615u}).to_display(),
            "18446744073709551615");
  EXPECT_EQ(scalar(ValueType::BOOL, true).to_display(), "true");

  Value ints;
  ints.type = ValueType::ARRAY;
  ints.elem_type = ValueType::INT32;
  ints.arr_int = {1, 2, 3};
  EXPECT_EQ(ints.to_display(), "[1, 2, 3]");
  EXPECT_EQ(ints.to_display(2), "[1, 2, ... 3 items]");
  EXPECT_EQ(ints.to_display(0), "[... 3 items]");
  Value strs;
  strs.type = ValueType::ARRAY;
  strs.elem_type = ValueType::STRING;
  strs.arr_str = {"<s>", "a\tb"};
  EXPECT_EQ(strs.to_display(), "[\"<s>\", \"a\\tb\"]");
  Value empty;
  empty.type = ValueType::ARRAY;
  empty.elem_type = ValueType::FLOAT32;
  EXPECT_EQ(empty.to_display(), "[]");

  TensorInfo t;
  t.n_dims = 2;
  t.ne[0] = 2560;
  t.ne[1] = 6912;
  EXPECT_EQ(t.shape_str(), "2560 x 6912");
  EXPECT_EQ(value_type_name(ValueType::FLOAT32), "f32");
}

TEST(Gguf, WriterRejectsBadInput) {
  Writer w;
  EXPECT_THAT(error_of([&] { w.set_alignment(0); }), HasSubstr("not a nonzero power of two"));
  EXPECT_THAT(error_of([&] { w.set_alignment(48); }), HasSubstr("48"));
  EXPECT_THAT(error_of([&] { w.set_u32("general.alignment", 3); }), HasSubstr("power of two"));
  EXPECT_THAT(error_of([&] { w.set_u64("general.alignment", 64); }), HasSubstr("u32"));
  EXPECT_THAT(error_of([&] { w.add_tensor("x", GgmlType::F32, {4}, std::vector<uint8_t>(15)); }),
              HasSubstr("'x' (f32) has 15 bytes of data, expected 16"));
  EXPECT_THAT(error_of([&] { w.add_tensor("q", GgmlType::Q8_0, {33}, std::vector<uint8_t>(34)); }),
              HasSubstr("cannot be stored as q8_0"));
  EXPECT_THAT(error_of([&] { w.add_tensor("z", GgmlType::F32, {0}, std::vector<uint8_t>()); }),
              HasSubstr("invalid dimension 0"));
  EXPECT_THAT(error_of([&] {
                w.add_tensor("d", GgmlType::F32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4));
              }),
              HasSubstr("5 dimensions"));
  w.add_tensor("x", GgmlType::F32, {4}, std::vector<uint8_t>(16));
  EXPECT_THAT(error_of([&] { w.add_tensor("x", GgmlType::F32, {4}, std::vector<uint8_t>(16)); }),
              HasSubstr("'x' is added twice"));
  Value nested;
  nested.type = ValueType::ARRAY;
  nested.elem_type = ValueType::ARRAY;
  EXPECT_THAT(error_of([&] { w.set_value("n", nested); }), HasSubstr("array of array"));
}

TEST(Gguf, WriteFailuresNameThePathAndLeaveNoFile) {
  TempDir tmp;
  Writer w;
  w.add_tensor("x", GgmlType::F32, {4}, [](uint8_t*) { fail("generator broke"); });
  const std::string path = tmp.path("out.gguf");
  EXPECT_THAT(error_of([&] { w.write(path); }),
              HasSubstr(path + ": producing tensor 'x' failed: generator broke"));
  EXPECT_EQ(tmp.n_files(), 0u);

  Writer ok;
  ok.set_u32("k", 1);
  EXPECT_THAT(error_of([&] { ok.write(tmp.path("no/such/dir/m.gguf")); }),
              HasSubstr("no/such/dir/m.gguf: cannot create"));
}

// A full disk is simulated with a file-size limit: write() then fails with EFBIG, as it
// would with ENOSPC, and the message must name the path.
TEST(Gguf, WriteFailsCleanlyWhenTheDiskIsFull) {
  TempDir tmp;
  Writer w;
  w.add_tensor("big", GgmlType::F32, {1 << 16}, std::vector<uint8_t>(4 << 16));
  const std::string path = tmp.path("full.gguf");
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 4096;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string msg = error_of([&] { w.write(path); });
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_THAT(msg, HasSubstr(path + ": cannot write"));
  EXPECT_EQ(tmp.n_files(), 0u);
}

TEST(GgufTypes, IdsAndSizesMatchGgmlAndBitnetCpp) {
  EXPECT_EQ(uint32_t(GgmlType::TQ1_0), 34u);
  EXPECT_EQ(uint32_t(GgmlType::TQ2_0), 35u);
  EXPECT_EQ(uint32_t(GgmlType::I2_S), 36u);
  EXPECT_EQ(uint32_t(GgmlType::TL1), 38u);
  EXPECT_EQ(uint32_t(GgmlType::TL2), 39u);
  EXPECT_FALSE(ggml_type_traits(37).has_value()) << "I8_S is an activation type, never stored";
  EXPECT_FALSE(ggml_type_traits(4).has_value()) << "Q4_2 was removed from ggml";
  EXPECT_EQ(ggml_type_from_name("I2_S"), GgmlType::I2_S);
  EXPECT_EQ(ggml_type_name(GgmlType::TQ2_0), "tq2_0");
  EXPECT_EQ(ggml_tensor_nbytes(GgmlType::TQ1_0, 256, 256), 54u);
  EXPECT_EQ(ggml_tensor_nbytes(GgmlType::TQ2_0, 512, 256), 132u);
  EXPECT_EQ(ggml_tensor_nbytes(GgmlType::Q4_0_4_4, 64, 64), 36u);
  EXPECT_EQ(ggml_tensor_nbytes(GgmlType::I2_S, 2560 * 6912, 2560), 2560u * 6912 / 4 + 32);
  EXPECT_EQ(ggml_tensor_nbytes(GgmlType::I2_S, 100 * 4, 100), std::nullopt);
  EXPECT_EQ(ggml_tensor_nbytes(GgmlType::TL1, 2560 * 640, 2560), 2560u * 640 / 4 + 32);
  // bitnet.cpp ggml_nbytes for TL2 [2560, 6912]: 3317760 + 442368, already 32-aligned, + 32.
  EXPECT_EQ(ggml_tensor_nbytes(GgmlType::TL2, 2560 * 6912, 2560), 3760160u);
  EXPECT_EQ(ggml_tensor_nbytes(GgmlType::TL2, 100, 100), std::nullopt);
  EXPECT_EQ(ggml_tensor_nbytes(GgmlType::Q8_0, 33, 33), std::nullopt);
  EXPECT_EQ(ggml_tensor_nbytes(GgmlType::F32, uint64_t(1) << 62, uint64_t(1) << 62), std::nullopt);
}

}  // namespace
}  // namespace tern::gguf
