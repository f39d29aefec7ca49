// Formats: bitnet.cpp's TL1 / TL2 lookup-table layouts. The fixture comes from
// tools/formats/gen_tl_fixtures.py, an independent numpy writer of the layout in
// docs/FORMATS.md (checked against bitnet.cpp's converter, docs/COMPAT.md).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "formats/tl.h"
#include "test_formats_util.h"

namespace tern::formats {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

struct TlCase {
  GgmlType type;
  TlConfig cfg;
  float scale;
  std::vector<uint8_t> bytes;
  std::vector<int8_t> trits;
};

template <class T>
T take(const std::string& blob, size_t& pos) {
  if (pos + sizeof(T) > blob.size()) throw Error("fixture truncated");
  T v;
  std::memcpy(&v, blob.data() + pos, sizeof v);
  pos += sizeof v;
  return v;
}

std::vector<TlCase> read_cases(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path);
  const std::string blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (blob.compare(0, 8, "TERNTLFX") != 0) throw Error(path + ": bad magic");
  size_t pos = 8;
  if (take<uint32_t>(blob, pos) != 1) throw Error(path + ": unknown version");
  const uint32_t n = take<uint32_t>(blob, pos);
  std::vector<TlCase> cases;
  for (uint32_t i = 0; i < n; ++i) {
    TlCase c;
    c.type = GgmlType(take<uint32_t>(blob, pos));
    c.cfg.rows = take<int64_t>(blob, pos);
    c.cfg.cols = take<int64_t>(blob, pos);
    c.cfg.block_rows = take<int64_t>(blob, pos);
    c.cfg.block_cols = take<int64_t>(blob, pos);
    c.cfg.simd_rows = take<int64_t>(blob, pos);
    c.scale = take<float>(blob, pos);
    const uint64_t nb = take<uint64_t>(blob, pos);
    const uint64_t nt = uint64_t(c.cfg.rows * c.cfg.cols);
    if (pos + nb + nt > blob.size()) throw Error(path + ": truncated");
    c.bytes.assign(blob.begin() + long(pos), blob.begin() + long(pos + nb));
    pos += nb;
    c.trits.assign(blob.begin() + long(pos), blob.begin() + long(pos + nt));
    pos += nt;
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string case_name(const TlCase& c) {
  return str_cat(ggml_type_name(c.type), " ", c.cfg.rows, "x", c.cfg.cols, " BM=", c.cfg.block_rows,
                 " BK=", c.cfg.block_cols, " bm=", c.cfg.simd_rows);
}

void expect_case_decodes(const TlCase& c) {
  SCOPED_TRACE(case_name(c));
  ASSERT_EQ(c.bytes.size(), ggml_tensor_nbytes(c.type, uint64_t(c.cfg.rows * c.cfg.cols), uint64_t(c.cfg.cols)));
  EXPECT_EQ(tl_scale(c.type, c.bytes, c.cfg.rows, c.cfg.cols), c.scale);
  std::vector<int8_t> got(size_t(c.cfg.rows * c.cfg.cols), 9);
  for (int64_t b = 0; b < c.cfg.rows / c.cfg.block_rows; ++b)
    unpack_tl_block(c.type, c.bytes, c.cfg, b, got.data() + b * c.cfg.block_rows * c.cfg.cols);
  ASSERT_EQ(got, c.trits);
  EXPECT_EQ(pack_tl(c.type, c.trits.data(), c.cfg, c.scale), c.bytes);
}

const std::string kFixture = std::string(TERN_FIXTURES_DIR) + "/formats/tl_cases.bin";

TEST(FormatsTL, FixtureDecodesToTheGeneratorsTrits) {
  const auto cases = read_cases(kFixture);
  ASSERT_EQ(cases.size(), 6u);
  int tl1 = 0, tl2_tail = 0;
  for (const auto& c : cases) {
    expect_case_decodes(c);
    tl1 += c.type == GgmlType::TL1;
    tl2_tail += c.type == GgmlType::TL2 && c.cfg.cols % c.cfg.block_cols != 0;
  }
  EXPECT_EQ(tl1, 3);
  EXPECT_EQ(tl2_tail, 2);
}

// Extra fixture files in the same format (e.g. bytes written by bitnet.cpp's own converter
// for real model shapes, docs/COMPAT.md), separated by ':'.
TEST(FormatsTL, ExtraFixturesFromEnvironment) {
  const char* env = std::getenv("TERN_TL_EXTRA_FIXTURES");
  if (!env || !*env) GTEST_SKIP() << "TERN_TL_EXTRA_FIXTURES not set";
  std::stringstream ss(env);
  std::string path;
  while (std::getline(ss, path, ':'))
    for (const auto& c : read_cases(path)) expect_case_decodes(c);
}

TEST(FormatsTL, RoundTripsBuiltinTilingsOfRealShapes) {
  // Every built-in tiling is valid for its shape and round-trips; one block per tensor keeps
  // it quick, the rest of the layout is covered by the fixture.
  const std::pair<int64_t, int64_t> shapes[] = {{1536, 4096}, {1536, 1536}, {4096, 1536}, {3200, 8640},
                                                {3200, 3200}, {8640, 3200}, {14336, 4096}, {4096, 14336},
                                                {1024, 4096}, {4096, 4096}};
  int found = 0;
  for (GgmlType t : {GgmlType::TL1, GgmlType::TL2}) {
    for (const auto& [m, k] : shapes) {
      const auto cfg = tl_builtin_config(t, m, k);
      ASSERT_TRUE(cfg.has_value()) << ggml_type_name(t) << " " << m << "x" << k;
      ++found;
      EXPECT_NO_THROW(check_tl_config(t, *cfg));
      if (m * k > 20'000'000) continue;
      const auto trits = test::random_trits(size_t(m * k), uint32_t(m + k));
      const auto bytes = pack_tl(t, trits.data(), *cfg, 0.5f);
      std::vector<int8_t> got(size_t(cfg->block_rows * k));
      const int64_t last = m / cfg->block_rows - 1;
      unpack_tl_block(t, bytes, *cfg, last, got.data());
      EXPECT_TRUE(std::equal(got.begin(), got.end(), trits.begin() + last * cfg->block_rows * k))
          << ggml_type_name(t) << " " << m << "x" << k;
    }
  }
  EXPECT_EQ(found, 20);
  // The 2B-4T shapes have no bitnet.cpp TL kernels (its converter raises for them).
  EXPECT_FALSE(tl_builtin_config(GgmlType::TL2, 2560, 2560).has_value());
  EXPECT_FALSE(tl_builtin_config(GgmlType::TL1, 6912, 2560).has_value());
  // (M, K) order matters: K is the input width.
  EXPECT_EQ(tl_builtin_config(GgmlType::TL2, 3200, 8640)->block_rows, 160);
  EXPECT_EQ(tl_builtin_config(GgmlType::TL2, 8640, 3200)->block_rows, 320);
}

TEST(FormatsTL, ParsesKernelConfigIni) {
  // What Python's ConfigParser writes for codegen_tl2.py (keys lower-cased).
  const std::string ini =
      "[Kernels_0]\nm = 3200\nk = 8640\nbm = 160\nbk = 96\nbmm = 32\n\n"
      "[Kernels_1]\r\nM = 3200\r\nK = 3200\r\nBM = 320\r\nBK = 96\r\nbmm = 32\r\n";
  const auto v = parse_tl_kernel_config(ini, "k.ini");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], (TlConfig{3200, 8640, 160, 96, 32}));
  EXPECT_EQ(v[1], (TlConfig{3200, 3200, 320, 96, 32}));
  EXPECT_THAT([] { parse_tl_kernel_config("[Kernels_0]\nm = 1\nk = 2\nbm = 3\nbk = 4\n", "a.ini"); },
              ThrowsMessage<Error>(HasSubstr("a.ini: section [Kernels_0] has no 'bmm'")));
  EXPECT_THAT([] { parse_tl_kernel_config("[Kernels_0]\nm = -5\n", "b.ini"); },
              ThrowsMessage<Error>(HasSubstr("b.ini:2: 'm' must be a positive integer")));
  EXPECT_THAT([] { parse_tl_kernel_config("m = 5\n", "c.ini"); },
              ThrowsMessage<Error>(HasSubstr("outside a [Kernels_N] section")));
  EXPECT_THAT([] { parse_tl_kernel_config("\n# nothing\n", "d.ini"); },
              ThrowsMessage<Error>(HasSubstr("not a bitnet.cpp kernel_config.ini")));
}

TEST(FormatsTL, RejectsTilingsThatDoNotFit) {
  EXPECT_THAT([] { check_tl_config(GgmlType::TL1, {100, 256, 64, 128, 32}); },
              ThrowsMessage<Error>(HasSubstr("M % BM == 0")));
  EXPECT_THAT([] { check_tl_config(GgmlType::TL1, {128, 256, 128, 128, 128}); },
              ThrowsMessage<Error>(HasSubstr("bm is 16, 32 or 64")));
  EXPECT_THAT([] { check_tl_config(GgmlType::TL2, {64, 256, 64, 96, 64}); },
              ThrowsMessage<Error>(HasSubstr("bm == 32")));
  EXPECT_THAT([] { check_tl_config(GgmlType::TL2, {64, 304, 64, 96, 32}); },  // 304 % 96 = 16
              ThrowsMessage<Error>(HasSubstr("K % BK % 32 == 0")));
  EXPECT_THAT([] { check_tl_config(GgmlType::TL2, {64, 256, 64, 100, 32}); },
              ThrowsMessage<Error>(HasSubstr("BK % 24 == 0")));
  EXPECT_THAT([] { check_tl_config(GgmlType::TL2, {64, 4128, 64, 3840, 32}); },  // 288-column tail
              ThrowsMessage<Error>(HasSubstr("fit bitnet.cpp's TL2 size")));
}

TEST(FormatsTL, DamagedOrMisSizedDataFailsWithAMessage) {
  const auto cases = read_cases(kFixture);
  for (const auto& c : cases) {
    SCOPED_TRACE(case_name(c));
    std::vector<int8_t> out(size_t(c.cfg.block_rows * c.cfg.cols));
    auto bad = c.bytes;
    bad[0] = 0xF0;  // index 15 in the high nibble: no converter writes it
    EXPECT_THAT([&] { unpack_tl_block(c.type, bad, c.cfg, 0, out.data()); },
                ThrowsMessage<Error>(HasSubstr("the file is damaged")));
    const std::vector<uint8_t> short_data(c.bytes.begin(), c.bytes.end() - 1);
    EXPECT_THAT([&] { unpack_tl_block(c.type, short_data, c.cfg, 0, out.data()); },
                ThrowsMessage<Error>(HasSubstr("the file is truncated")));
    EXPECT_THAT([&] { unpack_tl_block(c.type, c.bytes, c.cfg, c.cfg.rows / c.cfg.block_rows, out.data()); },
                ThrowsMessage<Error>(HasSubstr("out of range")));
  }
}

}  // namespace
}  // namespace tern::formats
