// ggml tensor type ids as stored in GGUF files, and how many bytes a row of each takes.
// Ids follow ggml.h (llama.cpp) plus bitnet.cpp's additions. Checked against bitnet.cpp's
// llama.cpp fork (github.com/Eddie-Wang1120/llama.cpp, branch merge-dev, ggml/include/ggml.h and
// gguf-py/gguf/constants.py): TQ1_0 = 34, TQ2_0 = 35, I2_S = 36, I8_S = 37 (activations only,
// never stored), TL1 = 38, TL2 = 39.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tern {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  Q4_0_4_4 = 31,  // ARM repacked Q4_0 (removed from later llama.cpp; kept so old files list)
  Q4_0_4_8 = 32,
  Q4_0_8_8 = 33,
  TQ1_0 = 34,
  TQ2_0 = 35,
  I2_S = 36,  // bitnet.cpp: 2-bit codes + one f32 scale for the whole tensor
  TL1 = 38,   // bitnet.cpp lookup-table layouts (ARM / x86)
  TL2 = 39,
};

struct GgmlTypeTraits {
  GgmlType type;
  std::string_view name;  // "f32", "tq2_0", "i2_s", ...
  int64_t block_elems;    // elements per block (1 for plain types)
  int64_t block_bytes;    // bytes per block
  bool whole_tensor;      // size is not blocks * block_bytes (I2_S, TL1: n/4 + 32; TL2)
};

// Traits of a known type id, or nullopt for an id this build does not know.
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t id);
std::string_view ggml_type_name(GgmlType t);
std::optional<GgmlType> ggml_type_from_name(std::string_view name);  // case-insensitive

// Bytes of a tensor of `n_elements` whose rows hold `row_elems`. nullopt when the shape does
// not fit the type (row length not a multiple of the block) or the size overflows.
std::optional<uint64_t> ggml_tensor_nbytes(GgmlType t, uint64_t n_elements, uint64_t row_elems);

// general.file_type for a model whose projections are `t` (llama.h LLAMA_FTYPE_*, bitnet.cpp's
// MOSTLY_I2_S = 40); reference engines print it and otherwise label the file "guessed".
uint32_t gguf_file_type_for(GgmlType t);

}  // namespace tern
