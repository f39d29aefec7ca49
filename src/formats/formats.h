// Packed tensor formats: scalar reference quantize / dequantize for every type tern reads or
// writes. Bit layouts are documented in docs/FORMATS.md and pinned by static_asserts in
// blocks.h; per-type row functions are in rows.h. These are references (clear, exact); hot
// paths use kernels/ on repacked data.
//
// Shapes: a tensor is `nrows` rows of `ncols` elements, row-major as stored in GGUF (ncols is
// GGUF's ne0). Every function below validates its shape and arguments and throws tern::Error
// with a message naming the type, the shape and what is wrong: row length not a multiple of
// the type's block (32 for Q8_0/Q4_0, 256 for K-quants and TQ*, 128 for I2_S), rows out of
// range, data size mismatch, unsupported type, non-ternary trits, non-finite input.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gguf/types.h"

namespace tern::formats {

// True when dequantize_rows supports `t` (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, TQ1_0,
// TQ2_0, I2_S).
bool can_dequantize(GgmlType t);
// True when quantize_tensor supports `t` (the same list). Q8_0, Q4_0, TQ1_0, TQ2_0 and I2_S
// write the bytes llama.cpp / bitnet.cpp's reference quantizers write; Q4_K/Q6_K use a plain
// round-to-nearest fit (good enough for tests and for --quant-embd; not llama.cpp's
// importance-weighted search, so bytes differ from llama-quantize's).
bool can_quantize(GgmlType t);

bool is_ternary(GgmlType t);  // I2_S, TQ1_0, TQ2_0

// Row length a tensor of type `t` stores for rows of `cols` values: ternary rows are zero-padded
// to the type's block (128 for I2_S, 256 for TQ1_0 / TQ2_0) when `cols` is not a multiple of it
// (docs/CONVERT.md "Padding"); other types store `cols`.
int64_t padded_row_length(GgmlType t, int64_t cols);

// Exact bytes of a [nrows x ncols] tensor of type `t` (I2_S: nrows*ncols/4 + 32-byte tail).
// Throws for a shape the type cannot hold or an unsupported type.
uint64_t tensor_bytes(GgmlType t, int64_t nrows, int64_t ncols);

// Dequantizes rows [row0, row0 + nrows) of a tensor with `ncols` elements per row whose whole
// data (all rows, as stored in the file) starts at `tensor`, into dst (nrows * ncols floats).
// `tensor_rows` is the tensor's total row count (I2_S keeps one scale after all rows).
void dequantize_rows(GgmlType t, const uint8_t* tensor, int64_t tensor_rows, int64_t ncols,
                     int64_t row0, int64_t nrows, float* dst);
// Same, and first checks that `tensor` holds exactly tensor_bytes(t, tensor_rows, ncols).
void dequantize_rows(GgmlType t, std::span<const uint8_t> tensor, int64_t tensor_rows,
                     int64_t ncols, int64_t row0, int64_t nrows, float* dst);

// Quantizes a whole tensor [nrows x ncols] of floats into `t`; returns the bytes (exactly
// tensor_bytes). Ternary types ternarize like their reference quantizers:
//   TQ1_0/TQ2_0 (llama.cpp): per 256-block d = absmax, trit = round-half-away(x / d);
//   I2_S (bitnet.cpp): scale = absmax of the whole tensor, trit = 0 where |x| < 1e-6, else
//   sign(x) -- magnitudes are dropped, so the input should already be trit * scale (convert
//   absmean-ternarizes bf16 masters before calling this, or uses pack_ternary).
// Quantized types reject NaN / infinite input.
std::vector<uint8_t> quantize_tensor(GgmlType t, const float* src, int64_t nrows, int64_t ncols);

// Ternary tensors: trits in {-1,0,1} (row-major, nrows x ncols) and one scale >= 0 for the
// whole tensor, so that value = trit * scale. Writes the exact bytes bitnet.cpp (I2_S) or
// llama.cpp (TQ1_0, TQ2_0) write when quantizing the floats trit * scale: every TQ block's
// fp16 d = scale, and the I2_S tail holds scale as f32 -- except that a TQ block whose trits
// are all zero gets d = 0, and an all-zero I2_S tensor gets scale 0, as those quantizers do.
// (For I2_S, bitnet.cpp would also zero everything if scale < 1e-6; pack keeps the trits.)
std::vector<uint8_t> pack_ternary(GgmlType t, const int8_t* trits, int64_t nrows, int64_t ncols,
                                  float scale);

// Decodes row `row` of a ternary tensor into trits (ncols values in {-1,0,1}) and the scale of
// each block of that row: I2_S gives one scale (the tensor's), TQ1_0/TQ2_0 one per 256
// elements (fp16 d widened to float). Code 3 in I2_S / TQ2_0 (never written) decodes as 0.
void unpack_ternary_row(GgmlType t, const uint8_t* tensor, int64_t tensor_rows, int64_t ncols,
                        int64_t row, int8_t* trits, std::vector<float>& block_scales);
// Same, and first checks that `tensor` holds exactly tensor_bytes(t, tensor_rows, ncols).
void unpack_ternary_row(GgmlType t, std::span<const uint8_t> tensor, int64_t tensor_rows,
                        int64_t ncols, int64_t row, int8_t* trits,
                        std::vector<float>& block_scales);

}  // namespace tern::formats
