// Packed tensor formats: scalar reference quantize / dequantize for every type tern reads or
// writes. Bit layouts are documented in docs/FORMATS.md and pinned by static_asserts in
// blocks.h. These are references (clear, exact); hot paths use kernels/ on repacked data.
#pragma once

#include <cstdint>
#include <vector>

#include "gguf/types.h"

namespace tern::formats {

// True when dequantize_rows supports `t` (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, TQ1_0,
// TQ2_0, I2_S).
bool can_dequantize(GgmlType t);
// True when quantize_rows supports `t` (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, TQ1_0, TQ2_0,
// I2_S). Q4_0/Q4_K/Q6_K use a plain round-to-nearest search (good enough for tests and for
// --quant-embd; not llama.cpp's importance-weighted search).
bool can_quantize(GgmlType t);

// Dequantizes rows [row0, row0 + nrows) of a tensor with `ncols` elements per row whose whole
// data (all rows, as stored in the file) starts at `tensor`, into dst (nrows * ncols floats).
// `tensor_rows` is the tensor's total row count (I2_S keeps one scale after all rows).
// Throws tern::Error for an unsupported type.
void dequantize_rows(GgmlType t, const uint8_t* tensor, int64_t tensor_rows, int64_t ncols,
                     int64_t row0, int64_t nrows, float* dst);

// Quantizes a whole tensor [nrows x ncols] of floats into `t`; returns the bytes (exactly
// ggml_tensor_nbytes). For ternary types the input must already be ternary times a scale
// (see quantize_ternary) or it is ternarized per block (TQ*) / per tensor (I2_S) by absmax.
std::vector<uint8_t> quantize_tensor(GgmlType t, const float* src, int64_t nrows, int64_t ncols);

// Ternary tensors: trits in {-1,0,1} (row-major, nrows x ncols) and one scale for the whole
// tensor, so that value = trit * scale. Writes the exact bytes bitnet.cpp (I2_S) or
// llama.cpp (TQ1_0, TQ2_0: every block's fp16 d = scale) would store.
std::vector<uint8_t> pack_ternary(GgmlType t, const int8_t* trits, int64_t nrows, int64_t ncols,
                                  float scale);

// Decodes row `row` of a ternary tensor into trits (ncols values in {-1,0,1}) and the scale of
// each block of that row: I2_S gives one scale (the tensor's), TQ1_0/TQ2_0 one per 256
// elements (fp16 d widened to float). Code 3 in I2_S / TQ2_0 (never written) decodes as 0.
void unpack_ternary_row(GgmlType t, const uint8_t* tensor, int64_t tensor_rows, int64_t ncols,
                        int64_t row, int8_t* trits, std::vector<float>& block_scales);

bool is_ternary(GgmlType t);  // I2_S, TQ1_0, TQ2_0

}  // namespace tern::formats
