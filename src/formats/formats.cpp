// Public entry points of formats.h: argument validation (messages for input from outside) and
// dispatch by type to the row functions of rows.h.
#include "formats/formats.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/fp16.h"
#include "formats/blocks.h"
#include "formats/rows.h"

namespace tern::formats {
namespace {

using DequantRowFn = void (*)(const uint8_t*, int64_t, float*);
using QuantRowFn = void (*)(const float*, int64_t, uint8_t*);

// One row of the table per supported type: block geometry and its row codec. I2_S's codec
// here covers only the code stream; its tensor-wide scale is handled by the callers below.
struct Codec {
  GgmlType type;
  int64_t block_elems;
  int64_t block_bytes;
  DequantRowFn dequantize;  // nullptr for I2_S (needs the scale)
  QuantRowFn quantize;      // nullptr for I2_S (needs the whole tensor's absmax)
};

constexpr Codec kCodecs[] = {
    {GgmlType::F32, 1, 4, dequantize_row_f32, quantize_row_f32},
    {GgmlType::F16, 1, 2, dequantize_row_f16, quantize_row_f16},
    {GgmlType::BF16, 1, 2, dequantize_row_bf16, quantize_row_bf16},
    {GgmlType::Q8_0, kQK8_0, sizeof(BlockQ8_0), dequantize_row_q8_0, quantize_row_q8_0},
    {GgmlType::Q4_0, kQK4_0, sizeof(BlockQ4_0), dequantize_row_q4_0, quantize_row_q4_0},
    {GgmlType::Q4_K, kQK_K, sizeof(BlockQ4_K), dequantize_row_q4_k, quantize_row_q4_k},
    {GgmlType::Q6_K, kQK_K, sizeof(BlockQ6_K), dequantize_row_q6_k, quantize_row_q6_k},
    {GgmlType::TQ1_0, kQK_K, sizeof(BlockTQ1_0), dequantize_row_tq1_0, quantize_row_tq1_0},
    {GgmlType::TQ2_0, kQK_K, sizeof(BlockTQ2_0), dequantize_row_tq2_0, quantize_row_tq2_0},
    {GgmlType::I2_S, kQK_I2S, kQK_I2S / 4, nullptr, nullptr},
};

const Codec* find_codec(GgmlType t) {
  for (const auto& c : kCodecs)
    if (c.type == t) return &c;
  return nullptr;
}

// "tq2_0" or, for an id this build does not name, "type 37".
std::string type_str(GgmlType t) {
  const auto name = ggml_type_name(t);
  if (name == "unknown") return str_cat("type ", static_cast<uint32_t>(t));
  return std::string(name);
}

std::string shape_str(GgmlType t, int64_t nrows, int64_t ncols) {
  return str_cat(type_str(t), " tensor of ", nrows, " rows x ", ncols, " columns");
}

// Validates a [nrows x ncols] tensor of `t` for operation `op`; returns its codec.
const Codec& check_shape(const char* op, GgmlType t, int64_t nrows, int64_t ncols) {
  const Codec* c = find_codec(t);
  if (!c)
    fail(op, ": ", type_str(t), " is not supported (supported: f32, f16, bf16, q8_0, q4_0, ",
         "q4_k, q6_k, tq1_0, tq2_0, i2_s)");
  if (nrows <= 0 || ncols <= 0)
    fail(op, ": ", shape_str(t, nrows, ncols), " is empty or has a negative dimension");
  if (ncols % c->block_elems != 0)
    fail(op, ": ", shape_str(t, nrows, ncols), ": row length ", ncols, " is not a multiple of the ",
         type_str(t), " block (", c->block_elems, " elements); pad rows to a multiple of ",
         c->block_elems, " or use another type");
  if (nrows > std::numeric_limits<int64_t>::max() / ncols)
    fail(op, ": ", shape_str(t, nrows, ncols), " has too many elements");
  return *c;
}

int64_t row_bytes(const Codec& c, int64_t ncols) { return ncols / c.block_elems * c.block_bytes; }

void check_row_range(const char* op, GgmlType t, int64_t tensor_rows, int64_t ncols, int64_t row0,
                     int64_t nrows) {
  if (row0 < 0 || nrows < 0 || row0 > tensor_rows || nrows > tensor_rows - row0)
    fail(op, ": rows [", row0, ", ", row0 + nrows, ") are outside the ",
         shape_str(t, tensor_rows, ncols));
}

// Bytes of a shape check_shape accepted (so nrows * ncols fits int64 and row bytes are
// smaller than that; the total cannot overflow uint64).
uint64_t bytes_of(const Codec& c, int64_t nrows, int64_t ncols) {
  return uint64_t(nrows) * uint64_t(row_bytes(c, ncols)) +
         (c.type == GgmlType::I2_S ? uint64_t(kI2STailBytes) : 0);
}

void check_data_size(const char* op, GgmlType t, std::span<const uint8_t> tensor,
                     int64_t tensor_rows, int64_t ncols) {
  const uint64_t want = bytes_of(check_shape(op, t, tensor_rows, ncols), tensor_rows, ncols);
  if (tensor.size() != want)
    fail(op, ": ", shape_str(t, tensor_rows, ncols), " needs ", want, " bytes but its data is ",
         tensor.size(), " bytes: the file is truncated or the shape or type is wrong");
}

float load_i2_s_scale(const uint8_t* tensor, int64_t tensor_rows, int64_t ncols) {
  float s;
  std::memcpy(&s, tensor + tensor_rows * ncols / 4, sizeof s);
  return s;
}

}  // namespace

bool can_dequantize(GgmlType t) { return find_codec(t) != nullptr; }
bool can_quantize(GgmlType t) { return find_codec(t) != nullptr; }

bool is_ternary(GgmlType t) {
  return t == GgmlType::I2_S || t == GgmlType::TQ1_0 || t == GgmlType::TQ2_0;
}

uint64_t tensor_bytes(GgmlType t, int64_t nrows, int64_t ncols) {
  return bytes_of(check_shape("tensor_bytes", t, nrows, ncols), nrows, ncols);
}

void dequantize_rows(GgmlType t, const uint8_t* tensor, int64_t tensor_rows, int64_t ncols,
                     int64_t row0, int64_t nrows, float* dst) {
  const Codec& c = check_shape("dequantize_rows", t, tensor_rows, ncols);
  check_row_range("dequantize_rows", t, tensor_rows, ncols, row0, nrows);
  if (nrows == 0) return;
  TERN_ASSERT(tensor != nullptr && dst != nullptr);
  const int64_t rb = row_bytes(c, ncols);
  const uint8_t* src = tensor + row0 * rb;
  if (t == GgmlType::I2_S) {
    const float scale = load_i2_s_scale(tensor, tensor_rows, ncols);
    dequantize_codes_i2_s(src, nrows * ncols, scale, dst);  // rows are contiguous codes
    return;
  }
  for (int64_t r = 0; r < nrows; ++r) c.dequantize(src + r * rb, ncols, dst + r * ncols);
}

void dequantize_rows(GgmlType t, std::span<const uint8_t> tensor, int64_t tensor_rows,
                     int64_t ncols, int64_t row0, int64_t nrows, float* dst) {
  check_data_size("dequantize_rows", t, tensor, tensor_rows, ncols);
  dequantize_rows(t, tensor.data(), tensor_rows, ncols, row0, nrows, dst);
}

std::vector<uint8_t> quantize_tensor(GgmlType t, const float* src, int64_t nrows, int64_t ncols) {
  const Codec& c = check_shape("quantize_tensor", t, nrows, ncols);
  TERN_ASSERT(src != nullptr);
  const int64_t n = nrows * ncols;
  const bool plain = t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16;
  if (!plain) {
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(src[i]))
        fail("quantize_tensor: ", shape_str(t, nrows, ncols), ": element [row ", i / ncols,
             ", column ", i % ncols, "] is ", src[i], "; only finite values can be quantized");
    }
  }
  std::vector<uint8_t> out(bytes_of(c, nrows, ncols), 0);
  const int64_t rb = row_bytes(c, ncols);
  if (t == GgmlType::I2_S) {
    // bitnet.cpp's quantize_i2_s: the scale is the tensor's absmax (taken in double), and
    // each element keeps only its sign (see i2_s_trit_of).
    double amax = 0.0;
    for (int64_t i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(double(src[i])));
    std::vector<int8_t> trits(size_t(ncols), 0);
    for (int64_t r = 0; r < nrows; ++r) {
      for (int64_t j = 0; j < ncols; ++j) trits[size_t(j)] = i2_s_trit_of(src[r * ncols + j]);
      pack_codes_i2_s(trits.data(), ncols, out.data() + r * rb);
    }
    const float scale = float(amax);
    std::memcpy(out.data() + n / 4, &scale, sizeof scale);  // the other 28 tail bytes stay 0
    return out;
  }
  for (int64_t r = 0; r < nrows; ++r) c.quantize(src + r * ncols, ncols, out.data() + r * rb);
  return out;
}

std::vector<uint8_t> pack_ternary(GgmlType t, const int8_t* trits, int64_t nrows, int64_t ncols,
                                  float scale) {
  if (!is_ternary(t))
    fail("pack_ternary: ", type_str(t), " is not a ternary type (i2_s, tq1_0, tq2_0)");
  const Codec& c = check_shape("pack_ternary", t, nrows, ncols);
  TERN_ASSERT(trits != nullptr);
  if (!std::isfinite(scale) || scale < 0.0f)
    fail("pack_ternary: ", shape_str(t, nrows, ncols), ": scale ", scale,
         " must be finite and >= 0 (fold a negative sign into the trits)");
  if (t != GgmlType::I2_S && !std::isfinite(fp16_to_f32(f32_to_fp16(scale))))
    fail("pack_ternary: ", shape_str(t, nrows, ncols), ": scale ", scale,
         " does not fit the fp16 block scale of ", type_str(t), " (max 65504)");
  const int64_t n = nrows * ncols;
  bool any_nonzero = false;
  for (int64_t i = 0; i < n; ++i) {
    if (trits[i] < -1 || trits[i] > 1)
      fail("pack_ternary: ", shape_str(t, nrows, ncols), ": element [row ", i / ncols, ", column ",
           i % ncols, "] is ", int(trits[i]), ", not a trit in {-1, 0, 1}");
    any_nonzero = any_nonzero || trits[i] != 0;
  }
  std::vector<uint8_t> out(bytes_of(c, nrows, ncols), 0);
  const int64_t rb = row_bytes(c, ncols);
  for (int64_t r = 0; r < nrows; ++r) {
    const int8_t* tr = trits + r * ncols;
    uint8_t* dst = out.data() + r * rb;
    switch (t) {
      case GgmlType::TQ1_0:
        pack_row_tq1_0(tr, ncols, scale, dst);
        break;
      case GgmlType::TQ2_0:
        pack_row_tq2_0(tr, ncols, scale, dst);
        break;
      default:
        pack_codes_i2_s(tr, ncols, dst);
        break;
    }
  }
  if (t == GgmlType::I2_S) {
    const float s = any_nonzero ? scale : 0.0f;  // bitnet.cpp's absmax of an all-zero tensor
    std::memcpy(out.data() + n / 4, &s, sizeof s);
  }
  return out;
}

void unpack_ternary_row(GgmlType t, const uint8_t* tensor, int64_t tensor_rows, int64_t ncols,
                        int64_t row, int8_t* trits, std::vector<float>& block_scales) {
  if (!is_ternary(t))
    fail("unpack_ternary_row: ", type_str(t), " is not a ternary type (i2_s, tq1_0, tq2_0)");
  const Codec& c = check_shape("unpack_ternary_row", t, tensor_rows, ncols);
  check_row_range("unpack_ternary_row", t, tensor_rows, ncols, row, 1);
  TERN_ASSERT(tensor != nullptr && trits != nullptr);
  const uint8_t* src = tensor + row * row_bytes(c, ncols);
  switch (t) {
    case GgmlType::TQ1_0:
      block_scales.resize(size_t(ncols / kQK_K));
      unpack_row_tq1_0(src, ncols, trits, block_scales.data());
      break;
    case GgmlType::TQ2_0:
      block_scales.resize(size_t(ncols / kQK_K));
      unpack_row_tq2_0(src, ncols, trits, block_scales.data());
      break;
    default:
      block_scales.assign(1, load_i2_s_scale(tensor, tensor_rows, ncols));
      unpack_codes_i2_s(src, ncols, trits);
      break;
  }
}

void unpack_ternary_row(GgmlType t, std::span<const uint8_t> tensor, int64_t tensor_rows,
                        int64_t ncols, int64_t row, int8_t* trits,
                        std::vector<float>& block_scales) {
  check_data_size("unpack_ternary_row", t, tensor, tensor_rows, ncols);
  unpack_ternary_row(t, tensor.data(), tensor_rows, ncols, row, trits, block_scales);
}

int64_t padded_row_length(GgmlType t, int64_t cols) {
  const int64_t b = t == GgmlType::I2_S ? 128 : (t == GgmlType::TQ1_0 || t == GgmlType::TQ2_0) ? 256 : 1;
  return (cols + b - 1) / b * b;
}

}  // namespace tern::formats
