// Packed block structs of every block-quantized type tern reads or writes, byte for byte as
// ggml (llama.cpp ggml/src/ggml-common.h) lays them out. Every field is a byte array (fp16
// values are two little-endian bytes), so a struct has alignment 1, no padding, and a size
// pinned below; reference code copies blocks in and out with memcpy, so file data needs no
// alignment. Diagrams and decoding formulas: docs/FORMATS.md.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "core/fp16.h"

namespace tern::formats {

static_assert(std::endian::native == std::endian::little,
              "GGUF data is little-endian; tern's reference formats assume a little-endian host");

constexpr int64_t kQK8_0 = 32;  // elements per Q8_0 / Q4_0 block
constexpr int64_t kQK4_0 = 32;
constexpr int64_t kQK_K = 256;    // elements per K-quant and TQ super-block
constexpr int64_t kQK_I2S = 128;  // elements per I2_S 32-byte code block (bitnet.cpp x86 layout)
constexpr int64_t kI2STailBytes = 32;  // I2_S: f32 scale + 28 zero bytes after all codes

// Q8_0: 32 elements, x = d * qs[i].
struct BlockQ8_0 {
  uint8_t d[2];       // fp16 scale
  int8_t qs[kQK8_0];  // quants
};
static_assert(sizeof(BlockQ8_0) == 34);

// Q4_0: 32 elements, x = d * (nibble - 8); byte j holds element j (low) and j+16 (high).
struct BlockQ4_0 {
  uint8_t d[2];            // fp16 scale
  uint8_t qs[kQK4_0 / 2];  // nibbles
};
static_assert(sizeof(BlockQ4_0) == 18);

// Q4_K: 256 elements in 8 sub-blocks of 32; x = d*sc[j]*q - dmin*m[j], q in [0, 15];
// sc/m are 6-bit, packed into 12 bytes (see get_scale_min_q4_k).
struct BlockQ4_K {
  uint8_t d[2];           // fp16 super-scale of the sub-block scales
  uint8_t dmin[2];        // fp16 super-scale of the sub-block mins
  uint8_t scales[12];     // 8 x (6-bit scale, 6-bit min)
  uint8_t qs[kQK_K / 2];  // 4-bit quants, 32 bytes per 64 elements
};
static_assert(sizeof(BlockQ4_K) == 144);

// Q6_K: 256 elements in 16 sub-blocks of 16; x = d * scales[j] * (q - 32), q 6-bit.
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];      // low 4 bits of q
  uint8_t qh[kQK_K / 4];      // high 2 bits of q
  int8_t scales[kQK_K / 16];  // signed 8-bit sub-block scales
  uint8_t d[2];               // fp16 super-scale
};
static_assert(sizeof(BlockQ6_K) == 210);

// TQ1_0: 256 trits; 5 per byte in qs (base 3, fixed-point), 4 per byte in qh, then fp16 d.
struct BlockTQ1_0 {
  uint8_t qs[48];  // 32 bytes x 5 trits (elements 0..159) + 16 x 5 (160..239)
  uint8_t qh[4];   // 4 bytes x 4 trits (elements 240..255)
  uint8_t d[2];    // fp16 block scale (absmax)
};
static_assert(sizeof(BlockTQ1_0) == 54);

// TQ2_0: 256 trits as 2-bit codes t+1, then fp16 d.
struct BlockTQ2_0 {
  uint8_t qs[kQK_K / 4];  // 2 x 32 bytes, 4 codes per byte
  uint8_t d[2];           // fp16 block scale (absmax)
};
static_assert(sizeof(BlockTQ2_0) == 66);

inline uint16_t load_u16(const uint8_t b[2]) { return uint16_t(b[0] | (b[1] << 8)); }
inline void store_u16(uint8_t b[2], uint16_t v) {
  b[0] = uint8_t(v & 0xff);
  b[1] = uint8_t(v >> 8);
}
inline float load_fp16(const uint8_t b[2]) { return fp16_to_f32(load_u16(b)); }
inline void store_fp16(uint8_t b[2], float f) { store_u16(b, f32_to_fp16(f)); }

// Copies block `i` of a packed stream into a local struct (file data may be unaligned).
template <class Block>
inline Block load_block(const uint8_t* src, int64_t i) {
  Block b;
  std::memcpy(&b, src + i * int64_t(sizeof(Block)), sizeof(Block));
  return b;
}
template <class Block>
inline void store_block(uint8_t* dst, int64_t i, const Block& b) {
  std::memcpy(dst + i * int64_t(sizeof(Block)), &b, sizeof(Block));
}

}  // namespace tern::formats
