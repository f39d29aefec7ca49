// TL1 / TL2 codecs (bitnet.cpp lookup-table layouts); see tl.h and docs/FORMATS.md.
//
// Both layouts are a fixed walk over the tensor in kernel-tile order. walk_block() below is
// that walk, written once and used by the decoder and the encoder, so the two cannot drift
// apart; the layout itself is pinned by fixtures from an independent Python writer
// (tools/formats/gen_tl_fixtures.py).
#include "formats/tl.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/strings.h"

namespace tern::formats {
namespace {

// TL2's SIMD tile: 32 rows; inside each 32-byte tile the converter swaps the second and third
// runs of 8 bytes (rows 8..15 and 16..23).
constexpr int64_t kTl2SimdRows = 32;
constexpr int64_t kTl2TwoCols = 32;  // BK of the two-weight tail (K % BK columns)
inline int64_t tl2_tile_row(int64_t q) {
  constexpr int64_t kSwap[4] = {0, 2, 1, 3};
  return 8 * kSwap[q / 8] + q % 8;
}

std::string tl_shape_str(GgmlType t, int64_t rows, int64_t cols) {
  return str_cat(ggml_type_name(t), " tensor of ", rows, " rows x ", cols, " columns");
}

std::string config_str(const TlConfig& c) {
  return str_cat("BM=", c.block_rows, " BK=", c.block_cols, " bm=", c.simd_rows);
}

// bitnet.cpp's size of the TL2 code area before rounding to 32 (ggml_nbytes, and what the
// converter zero-pads to), evaluated left to right with truncating division as it does.
uint64_t tl2_padded_codes(int64_t rows, int64_t cols) {
  const uint64_t m = uint64_t(rows), k = uint64_t(cols);
  return (k - 256) * m / 3 * 5 / 8 + 256 * m / 2 * 4 / 8;
}

// The walk over row block `i0` (rows i0*BM .. i0*BM+BM-1), in stored byte order. Callbacks get
// absolute byte offsets in the tensor and rows relative to the block:
//   pair(byte, hi, row, col):   a 4-bit index 3*(t[col]+1) + (t[col+1]+1), in the high
//                               (hi) or low nibble;
//   triple(byte, hi, row, col): a 4-bit |v|, v = 9 t[col] + 3 t[col+1] + t[col+2];
//   sign(byte, bit, row, col):  bit `bit` of the byte is set when that triple's v < 0.
template <class PairFn, class TripleFn, class SignFn>
void walk_block(GgmlType t, const TlConfig& c, int64_t i0, PairFn&& pair, TripleFn&& triple,
                SignFn&& sign) {
  const int64_t M = c.rows, K = c.cols, BM = c.block_rows, BK = c.block_cols, bm = c.simd_rows;
  if (t == GgmlType::TL1) {
    const int64_t by = 256 / bm;  // columns per SIMD step
    uint64_t p = uint64_t(i0) * uint64_t(BM) * uint64_t(K) / 4;
    for (int64_t i1 = 0; i1 < K / BK; ++i1)
      for (int64_t i2 = 0; i2 < BM / bm; ++i2)
        for (int64_t i3 = 0; i3 < BK / by; ++i3)
          for (int64_t i4 = 0; i4 < bm / 16; ++i4)
            for (int64_t i5 = 0; i5 < by / 4; ++i5)
              for (int64_t r = 0; r < 16; ++r, ++p) {
                const int64_t row = i2 * bm + i4 * 16 + r;
                const int64_t col = 2 * (i1 * BK / 2 + i3 * by / 2 + i5 * 2);
                pair(p, true, row, col);
                pair(p, false, row, col + 2);
              }
    return;
  }
  // TL2: K3 = the first K - K % BK columns in triples, K2 = the rest in pairs. The whole
  // matrix's triple indices come first, then its sign bits, then its pairs; each section is
  // ordered by row block first.
  const int64_t K3 = K - K % BK, K2 = K % BK;
  const uint64_t m = uint64_t(M), bmu = uint64_t(BM), k3 = uint64_t(K3), k2 = uint64_t(K2);
  uint64_t p = uint64_t(i0) * bmu * k3 / 6;
  for (int64_t i1 = 0; i1 < K3 / BK; ++i1)
    for (int64_t i2 = 0; i2 < BM / kTl2SimdRows; ++i2)
      for (int64_t i3 = 0; i3 < BK / 6; ++i3)
        for (int64_t q = 0; q < 32; ++q, ++p) {
          const int64_t row = i2 * kTl2SimdRows + tl2_tile_row(q);
          const int64_t col = 3 * (i1 * BK / 3 + i3 * 2);
          triple(p, true, row, col);
          triple(p, false, row, col + 3);
        }
  p = m * k3 / 6 + uint64_t(i0) * bmu * k3 / 24;
  for (int64_t i1 = 0; i1 < K3 / BK; ++i1)
    for (int64_t i2 = 0; i2 < BM / kTl2SimdRows; ++i2)
      for (int64_t i3 = 0; i3 < BK / 24; ++i3, p += 32)
        // 16 little-endian uint16 words; element f = 16*i + w of the tile (f = 32*triple +
        // row) is bit 15 - i of word w.
        for (int64_t w = 0; w < 16; ++w)
          for (int64_t i = 0; i < 16; ++i) {
            const int64_t f = 16 * i + w;
            const int64_t row = i2 * kTl2SimdRows + f % 32;
            const int64_t col = 3 * (i1 * BK / 3 + i3 * 8 + f / 32);
            const int bit = int(15 - i);
            sign(p + uint64_t(2 * w + bit / 8), bit % 8, row, col);
          }
  p = m * k3 / 6 + m * k3 / 24 + uint64_t(i0) * bmu * k2 / 4;
  for (int64_t i1 = 0; i1 < K2 / kTl2TwoCols; ++i1)
    for (int64_t i2 = 0; i2 < BM / kTl2SimdRows; ++i2)
      for (int64_t i3 = 0; i3 < kTl2TwoCols / 4; ++i3)
        for (int64_t q = 0; q < 32; ++q, ++p) {
          const int64_t row = i2 * kTl2SimdRows + tl2_tile_row(q);
          const int64_t col = K3 + 2 * (i1 * kTl2TwoCols / 2 + i3 * 2);
          pair(p, true, row, col);
          pair(p, false, row, col + 2);
        }
}

void check_tensor_size(GgmlType t, std::span<const uint8_t> tensor, int64_t rows, int64_t cols) {
  const uint64_t want = tl_scale_offset(t, rows, cols) + 32;
  if (tensor.size() != want)
    fail(tl_shape_str(t, rows, cols), " needs ", want, " bytes but its data is ", tensor.size(),
         " bytes: the file is truncated or the shape or type is wrong");
}

bool parse_i64(std::string_view s, int64_t& v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& ch : r) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return r;
}

}  // namespace

bool is_tl(GgmlType t) { return t == GgmlType::TL1 || t == GgmlType::TL2; }

std::optional<TlConfig> tl_builtin_config(GgmlType t, int64_t rows, int64_t cols) {
  // setup_env.py's gen_code(): the --BM/--BK/--bm lists it passes to codegen_tl1.py (ARM) and
  // codegen_tl2.py (x86) for each model's shape list (their ModelShapeDict), which also write
  // the include/kernel_config.ini the converter reads. (M, K) = (out, in) features.
  struct Entry {
    GgmlType type;
    TlConfig cfg;
  };
  static constexpr Entry kTable[] = {
      // bitnet_b1_58-large: hidden 1536, FFN 4096
      {GgmlType::TL1, {1536, 4096, 256, 128, 32}},
      {GgmlType::TL1, {1536, 1536, 128, 64, 64}},
      {GgmlType::TL1, {4096, 1536, 256, 128, 32}},
      {GgmlType::TL2, {1536, 4096, 256, 96, 32}},
      {GgmlType::TL2, {1536, 1536, 128, 192, 32}},
      {GgmlType::TL2, {4096, 1536, 256, 96, 32}},
      // bitnet_b1_58-3B: hidden 3200, FFN 8640
      {GgmlType::TL1, {3200, 8640, 160, 64, 32}},
      {GgmlType::TL1, {3200, 3200, 320, 128, 64}},
      {GgmlType::TL1, {8640, 3200, 320, 64, 32}},
      {GgmlType::TL2, {3200, 8640, 160, 96, 32}},
      {GgmlType::TL2, {3200, 3200, 320, 96, 32}},
      {GgmlType::TL2, {8640, 3200, 320, 96, 32}},
      // Llama3-8B-1.58-100B-tokens: hidden 4096, FFN 14336, KV 1024
      {GgmlType::TL1, {14336, 4096, 256, 128, 32}},
      {GgmlType::TL1, {4096, 14336, 128, 64, 64}},
      {GgmlType::TL1, {1024, 4096, 256, 128, 32}},
      {GgmlType::TL1, {4096, 4096, 128, 64, 64}},
      {GgmlType::TL2, {14336, 4096, 256, 96, 32}},
      {GgmlType::TL2, {4096, 14336, 128, 96, 32}},
      {GgmlType::TL2, {1024, 4096, 256, 96, 32}},
      {GgmlType::TL2, {4096, 4096, 128, 96, 32}},
  };
  for (const auto& e : kTable)
    if (e.type == t && e.cfg.rows == rows && e.cfg.cols == cols) return e.cfg;
  return std::nullopt;
}

std::vector<TlConfig> parse_tl_kernel_config(std::string_view text, const std::string& source) {
  std::vector<TlConfig> out;
  std::vector<std::string> sections;
  int64_t vals[5] = {0, 0, 0, 0, 0};  // m, k, bm, bk, bmm
  bool have[5] = {};
  static constexpr const char* kKeys[5] = {"m", "k", "bm", "bk", "bmm"};
  auto finish = [&]() {
    if (sections.empty()) return;
    for (int i = 0; i < 5; ++i)
      if (!have[i])
        fail(source, ": section [", sections.back(), "] has no '", kKeys[i],
             "' (a bitnet.cpp kernel_config.ini has m, k, bm, bk and bmm in every section)");
    out.push_back(TlConfig{vals[0], vals[1], vals[2], vals[3], vals[4]});
    for (bool& h : have) h = false;
  };
  int64_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    const std::string_view line = trim_ascii(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') fail(source, ":", line_no, ": unterminated section header");
      finish();
      sections.emplace_back(line.substr(1, line.size() - 2));
      continue;
    }
    const size_t eq = line.find_first_of("=:");
    if (eq == std::string_view::npos) fail(source, ":", line_no, ": expected 'key = value'");
    if (sections.empty()) fail(source, ":", line_no, ": key outside a [Kernels_N] section");
    const std::string key = lower(trim_ascii(line.substr(0, eq)));
    const std::string_view value = trim_ascii(line.substr(eq + 1));
    for (int i = 0; i < 5; ++i) {
      if (key != kKeys[i]) continue;
      int64_t v = 0;
      if (!parse_i64(value, v) || v <= 0 || v > std::numeric_limits<int32_t>::max())
        fail(source, ":", line_no, ": '", key, "' must be a positive integer, got '", value, "'");
      vals[i] = v;
      have[i] = true;
    }
  }
  finish();
  if (out.empty()) fail(source, ": no [Kernels_N] sections: not a bitnet.cpp kernel_config.ini");
  return out;
}

void check_tl_config(GgmlType t, const TlConfig& c) {
  if (!is_tl(t)) fail("check_tl_config: ", ggml_type_name(t), " is not tl1 or tl2");
  const std::string what = str_cat(tl_shape_str(t, c.rows, c.cols), " with ", config_str(c));
  auto need = [&](bool ok, const char* rule) {
    if (!ok) fail(what, ": the tiling does not fit (", rule, ")");
  };
  need(c.rows > 0 && c.cols > 0 && c.block_rows > 0 && c.block_cols > 0 && c.simd_rows > 0,
       "all sizes must be positive");
  need(c.rows % c.block_rows == 0, "M % BM == 0");
  need(c.block_rows % c.simd_rows == 0, "BM % bm == 0");
  if (t == GgmlType::TL1) {
    need(c.simd_rows == 16 || c.simd_rows == 32 || c.simd_rows == 64, "bm is 16, 32 or 64");
    need(c.block_cols % (256 / c.simd_rows) == 0, "BK % (256 / bm) == 0");
    need(c.cols % c.block_cols == 0, "K % BK == 0");
    return;
  }
  need(c.simd_rows == kTl2SimdRows, "bm == 32");
  need(c.block_cols % 24 == 0, "BK % 24 == 0");
  need(c.cols >= 256, "K >= 256");
  need(c.cols % c.block_cols % kTl2TwoCols == 0, "K % BK % 32 == 0");
  need(tl_code_bytes(t, c) <= tl2_padded_codes(c.rows, c.cols),
       "the codes fit bitnet.cpp's TL2 size, i.e. K % BK is small enough");
}

uint64_t tl_scale_offset(GgmlType t, int64_t rows, int64_t cols) {
  if (!is_tl(t)) fail("tl_scale_offset: ", ggml_type_name(t), " is not tl1 or tl2");
  if (rows <= 0 || cols <= 0 || rows > std::numeric_limits<int64_t>::max() / cols)
    fail(tl_shape_str(t, rows, cols), " has an invalid size");
  const auto nb = ggml_tensor_nbytes(t, uint64_t(rows) * uint64_t(cols), uint64_t(cols));
  if (!nb || *nb < 32) fail(tl_shape_str(t, rows, cols), ": the type cannot store this shape");
  return *nb - 32;
}

uint64_t tl_code_bytes(GgmlType t, const TlConfig& c) {
  const uint64_t m = uint64_t(c.rows), k = uint64_t(c.cols);
  if (t == GgmlType::TL1) return m * k / 4;
  const uint64_t k3 = k - k % uint64_t(c.block_cols), k2 = k % uint64_t(c.block_cols);
  return m * k3 / 6 + m * k3 / 24 + m * k2 / 4;
}

float tl_scale(GgmlType t, std::span<const uint8_t> tensor, int64_t rows, int64_t cols) {
  check_tensor_size(t, tensor, rows, cols);
  float s;
  std::memcpy(&s, tensor.data() + tl_scale_offset(t, rows, cols), sizeof s);
  return s;
}

void unpack_tl_block(GgmlType t, std::span<const uint8_t> tensor, const TlConfig& c,
                     int64_t block, int8_t* trits) {
  check_tl_config(t, c);
  check_tensor_size(t, tensor, c.rows, c.cols);
  if (block < 0 || block >= c.rows / c.block_rows)
    fail(tl_shape_str(t, c.rows, c.cols), ": row block ", block, " is out of range");
  TERN_ASSERT(trits != nullptr);
  const uint8_t* d = tensor.data();
  const int64_t K = c.cols;
  const int64_t K3 = t == GgmlType::TL2 ? K - K % c.block_cols : 0;
  auto damaged = [&](uint64_t byte, const char* what, int v, int max) {
    fail(tl_shape_str(t, c.rows, c.cols), ": byte ", byte, " holds ", what, " index ", v,
         " (a converter writes at most ", max, "): the file is damaged");
  };
  // TL2 triples: |v| first, then the sign bits, then combined.
  std::vector<uint8_t> mag(size_t(c.block_rows * (K3 / 3)), 0), neg(mag.size(), 0);
  auto tidx = [&](int64_t row, int64_t col) { return size_t(row * (K3 / 3) + col / 3); };
  walk_block(
      t, c, block,
      [&](uint64_t p, bool hi, int64_t row, int64_t col) {
        const int v = hi ? d[p] >> 4 : d[p] & 15;
        if (v > 8) damaged(p, "pair", v, 8);
        trits[row * K + col] = int8_t(v / 3 - 1);
        trits[row * K + col + 1] = int8_t(v % 3 - 1);
      },
      [&](uint64_t p, bool hi, int64_t row, int64_t col) {
        const int v = hi ? d[p] >> 4 : d[p] & 15;
        if (v > 13) damaged(p, "triple", v, 13);
        mag[tidx(row, col)] = uint8_t(v);
      },
      [&](uint64_t p, int bit, int64_t row, int64_t col) { neg[tidx(row, col)] = (d[p] >> bit) & 1; });
  for (int64_t row = 0; row < c.block_rows; ++row) {
    for (int64_t col = 0; col < K3; col += 3) {
      const size_t i = tidx(row, col);
      const int u = (neg[i] ? -int(mag[i]) : int(mag[i])) + 13;  // base-3 digits of v + 13
      int8_t* o = trits + row * K + col;
      o[0] = int8_t(u / 9 - 1);
      o[1] = int8_t(u / 3 % 3 - 1);
      o[2] = int8_t(u % 3 - 1);
    }
  }
}

std::vector<uint8_t> pack_tl(GgmlType t, const int8_t* trits, const TlConfig& c, float scale) {
  check_tl_config(t, c);
  TERN_ASSERT(trits != nullptr);
  if (!std::isfinite(scale)) fail("pack_tl: scale ", scale, " is not finite");
  const int64_t n = c.rows * c.cols;
  for (int64_t i = 0; i < n; ++i)
    if (trits[i] < -1 || trits[i] > 1)
      fail("pack_tl: element ", i, " is ", int(trits[i]), ", not a trit in {-1, 0, 1}");
  const uint64_t off = tl_scale_offset(t, c.rows, c.cols);
  std::vector<uint8_t> out(off + 32, 0);
  const int64_t K = c.cols;
  for (int64_t i0 = 0; i0 < c.rows / c.block_rows; ++i0) {
    const int8_t* tb = trits + i0 * c.block_rows * K;
    auto nibble = [&](uint64_t p, bool hi, int v) { out[p] = uint8_t(out[p] | (v << (hi ? 4 : 0))); };
    auto tri = [&](int64_t row, int64_t col) {
      const int8_t* x = tb + row * K + col;
      return 9 * x[0] + 3 * x[1] + x[2];
    };
    walk_block(
        t, c, i0,
        [&](uint64_t p, bool hi, int64_t row, int64_t col) {
          const int8_t* x = tb + row * K + col;
          nibble(p, hi, 3 * (x[0] + 1) + (x[1] + 1));
        },
        [&](uint64_t p, bool hi, int64_t row, int64_t col) { nibble(p, hi, std::abs(tri(row, col))); },
        [&](uint64_t p, int bit, int64_t row, int64_t col) {
          if (tri(row, col) < 0) out[p] = uint8_t(out[p] | (1 << bit));
        });
  }
  std::memcpy(out.data() + off, &scale, sizeof scale);
  return out;
}

}  // namespace tern::formats
