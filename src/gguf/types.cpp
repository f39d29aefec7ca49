#include "gguf/types.h"

#include <array>
#include <cctype>
#include <cstdint>

namespace tern {
namespace {

// Block geometry from ggml (ggml.c type_traits; the same numbers as GGML_QUANT_SIZES in
// gguf-py/gguf/constants.py) and bitnet.cpp (I2_S, TL1, TL2). TQ1_0 is 2 (fp16 d) + 4 (qh)
// + 48 (qs) = 54 bytes per 256 weights; TQ2_0 is 64 + 2 = 66 (ggml-common.h static_asserts).
// Types tern cannot compute with are still sized here so that `tern info` can list any file.
constexpr std::array<GgmlTypeTraits, 37> kTraits = {{
    {GgmlType::F32, "f32", 1, 4, false},
    {GgmlType::F16, "f16", 1, 2, false},
    {GgmlType::Q4_0, "q4_0", 32, 18, false},
    {GgmlType::Q4_1, "q4_1", 32, 20, false},
    {GgmlType::Q5_0, "q5_0", 32, 22, false},
    {GgmlType::Q5_1, "q5_1", 32, 24, false},
    {GgmlType::Q8_0, "q8_0", 32, 34, false},
    {GgmlType::Q8_1, "q8_1", 32, 36, false},
    {GgmlType::Q2_K, "q2_k", 256, 84, false},
    {GgmlType::Q3_K, "q3_k", 256, 110, false},
    {GgmlType::Q4_K, "q4_k", 256, 144, false},
    {GgmlType::Q5_K, "q5_k", 256, 176, false},
    {GgmlType::Q6_K, "q6_k", 256, 210, false},
    {GgmlType::Q8_K, "q8_k", 256, 292, false},
    {GgmlType::IQ2_XXS, "iq2_xxs", 256, 66, false},
    {GgmlType::IQ2_XS, "iq2_xs", 256, 74, false},
    {GgmlType::IQ3_XXS, "iq3_xxs", 256, 98, false},
    {GgmlType::IQ1_S, "iq1_s", 256, 50, false},
    {GgmlType::IQ4_NL, "iq4_nl", 32, 18, false},
    {GgmlType::IQ3_S, "iq3_s", 256, 110, false},
    {GgmlType::IQ2_S, "iq2_s", 256, 82, false},
    {GgmlType::IQ4_XS, "iq4_xs", 256, 136, false},
    {GgmlType::I8, "i8", 1, 1, false},
    {GgmlType::I16, "i16", 1, 2, false},
    {GgmlType::I32, "i32", 1, 4, false},
    {GgmlType::I64, "i64", 1, 8, false},
    {GgmlType::F64, "f64", 1, 8, false},
    {GgmlType::IQ1_M, "iq1_m", 256, 56, false},
    {GgmlType::BF16, "bf16", 1, 2, false},
    {GgmlType::Q4_0_4_4, "q4_0_4_4", 32, 18, false},
    {GgmlType::Q4_0_4_8, "q4_0_4_8", 32, 18, false},
    {GgmlType::Q4_0_8_8, "q4_0_8_8", 32, 18, false},
    {GgmlType::TQ1_0, "tq1_0", 256, 54, false},
    {GgmlType::TQ2_0, "tq2_0", 256, 66, false},
    // I2_S: 4 codes per byte over the whole tensor, then a 32-byte tail holding the f32 scale.
    {GgmlType::I2_S, "i2_s", 4, 1, true},
    // TL1/TL2: bitnet.cpp's lookup-table layouts, sized by its ggml_nbytes special cases
    // (ggml.c in the fork above); formats/tl.cpp decodes them (with the kernel tiling).
    {GgmlType::TL1, "tl1", 4, 1, true},
    {GgmlType::TL2, "tl2", 4, 1, true},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// bitnet.cpp sizes these from the element count, not per block (its ggml_nbytes).
std::optional<uint64_t> whole_tensor_nbytes(GgmlType t, uint64_t n_elements, uint64_t row_elems) {
  if (n_elements % row_elems != 0) return std::nullopt;
  if (t == GgmlType::TL2) {
    // 3 weights in 5 bits for the first ne0 - 256 columns, 2 in 4 bits for the last 256, per
    // row; rounded up to 32 bytes, then a 32-byte scale tail. ggml evaluates left to right
    // with truncating division, and so do we.
    // Both products are <= n_elements and x / 3 * 5 < 2^64 for n_elements < 2^63.
    if (row_elems < 256 || n_elements > uint64_t(INT64_MAX)) return std::nullopt;
    const uint64_t rows = n_elements / row_elems;
    uint64_t nb = (row_elems - 256) * rows / 3 * 5 / 8 + 256 * rows / 2 * 4 / 8;
    nb = (nb + 31) / 32 * 32;
    return nb + 32;
  }
  // I2_S, TL1: n/4 bytes of 2-bit codes, then 32 bytes whose first 4 hold the f32 scale.
  // bitnet.cpp's x86 I2_S kernels walk rows in 128-element blocks.
  if (t == GgmlType::I2_S && row_elems % 128 != 0) return std::nullopt;
  if (n_elements % 4 != 0) return std::nullopt;
  return n_elements / 4 + 32;
}

}  // namespace

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t id) {
  for (const auto& t : kTraits) {
    if (t.block_elems != 0 && static_cast<uint32_t>(t.type) == id) return t;
  }
  return std::nullopt;
}

std::string_view ggml_type_name(GgmlType t) {
  auto tr = ggml_type_traits(static_cast<uint32_t>(t));
  return tr ? tr->name : std::string_view("unknown");
}

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  for (const auto& t : kTraits) {
    if (t.block_elems != 0 && iequals(t.name, name)) return t.type;
  }
  return std::nullopt;
}

std::optional<uint64_t> ggml_tensor_nbytes(GgmlType t, uint64_t n_elements, uint64_t row_elems) {
  auto tr = ggml_type_traits(static_cast<uint32_t>(t));
  if (!tr || row_elems == 0) return std::nullopt;
  const uint64_t be = static_cast<uint64_t>(tr->block_elems);
  const uint64_t bb = static_cast<uint64_t>(tr->block_bytes);
  if (tr->whole_tensor) return whole_tensor_nbytes(t, n_elements, row_elems);
  if (row_elems % be != 0 || n_elements % row_elems != 0) return std::nullopt;
  const uint64_t blocks = n_elements / be;
  if (bb != 0 && blocks > UINT64_MAX / bb) return std::nullopt;
  return blocks * bb;
}

uint32_t gguf_file_type_for(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1;
    case GgmlType::BF16: return 32;
    case GgmlType::TQ1_0: return 36;
    case GgmlType::TQ2_0: return 37;
    case GgmlType::I2_S: return 40;
    default: return 0;
  }
}

}  // namespace tern
