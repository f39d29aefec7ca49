// Per-type row functions behind formats.h: one row (or any run of whole blocks) of `n`
// elements. Callers have validated shapes already; these only TERN_ASSERT them. Kernel tests
// may call them directly (e.g. quantize_row_q8_0 to build activations).
#pragma once

#include <cstdint>

namespace tern::formats {

// ---- plain.cpp: F32, F16 (IEEE half), BF16; 1 element per "block".
void dequantize_row_f32(const uint8_t* src, int64_t n, float* dst);
void dequantize_row_f16(const uint8_t* src, int64_t n, float* dst);
void dequantize_row_bf16(const uint8_t* src, int64_t n, float* dst);
void quantize_row_f32(const float* src, int64_t n, uint8_t* dst);
void quantize_row_f16(const float* src, int64_t n, uint8_t* dst);
void quantize_row_bf16(const float* src, int64_t n, uint8_t* dst);

// ---- q8_0.cpp / q4_0.cpp: n % 32 == 0. Quantizers match ggml's *_ref byte for byte.
void dequantize_row_q8_0(const uint8_t* src, int64_t n, float* dst);
void quantize_row_q8_0(const float* src, int64_t n, uint8_t* dst);
void dequantize_row_q4_0(const uint8_t* src, int64_t n, float* dst);
void quantize_row_q4_0(const float* src, int64_t n, uint8_t* dst);

// ---- kquants.cpp: n % 256 == 0. Dequantizers match ggml exactly; quantizers are a plain
// round-to-nearest search (not llama.cpp's weighted one), so bytes differ from llama-quantize.
void dequantize_row_q4_k(const uint8_t* src, int64_t n, float* dst);
void quantize_row_q4_k(const float* src, int64_t n, uint8_t* dst);
void dequantize_row_q6_k(const uint8_t* src, int64_t n, float* dst);
void quantize_row_q6_k(const float* src, int64_t n, uint8_t* dst);

// ---- ternary.cpp
// TQ1_0 / TQ2_0 (n % 256 == 0). unpack: trits[n] in {-1,0,1} and block_scales[n/256] (fp16 d
// widened). pack: every block gets d = fp16(scale), except a block whose trits are all zero,
// which gets d = 0 (what llama.cpp's quantizer writes for such a block).
void unpack_row_tq1_0(const uint8_t* src, int64_t n, int8_t* trits, float* block_scales);
void pack_row_tq1_0(const int8_t* trits, int64_t n, float scale, uint8_t* dst);
void quantize_row_tq1_0(const float* src, int64_t n, uint8_t* dst);  // = quantize_row_tq1_0_ref
void dequantize_row_tq1_0(const uint8_t* src, int64_t n, float* dst);
void unpack_row_tq2_0(const uint8_t* src, int64_t n, int8_t* trits, float* block_scales);
void pack_row_tq2_0(const int8_t* trits, int64_t n, float scale, uint8_t* dst);
void quantize_row_tq2_0(const float* src, int64_t n, uint8_t* dst);  // = quantize_row_tq2_0_ref
void dequantize_row_tq2_0(const uint8_t* src, int64_t n, float* dst);

// I2_S code stream only (n % 128 == 0, n/4 bytes); the tensor's scale lives after all rows
// and is handled in formats.cpp. Code 3 decodes as trit 0.
void unpack_codes_i2_s(const uint8_t* src, int64_t n, int8_t* trits);
void dequantize_codes_i2_s(const uint8_t* src, int64_t n, float scale, float* dst);
void pack_codes_i2_s(const int8_t* trits, int64_t n, uint8_t* dst);

// bitnet.cpp's quantize_i2_s rule for one element given the tensor's absmax: |x| < 1e-6 -> 0,
// else the sign of x (the magnitude is dropped: input is expected to be trit * absmax already).
int8_t i2_s_trit_of(float x);

}  // namespace tern::formats
