// bitnet.cpp's lookup-table weight layouts TL1 (ggml type 38, ARM) and TL2 (type 39, x86).
//
// Both store the trits of a [rows x cols] projection (rows = M = ne1 = output features,
// cols = K = ne0 = input features) permuted into the tile order of the kernel bitnet.cpp's code
// generator (utils/codegen_tl1.py / codegen_tl2.py) emitted for that shape, followed by one
// f32 scale (value = trit * scale). The permutation depends on three tiling parameters chosen
// at bitnet.cpp build time per (M, K) and written to its include/kernel_config.ini:
//   BM (ini key "bm")  = block_rows: rows per kernel tile (M % BM == 0);
//   BK (ini key "bk")  = block_cols: columns per kernel tile;
//   bm (ini key "bmm") = simd_rows:  rows per SIMD group inside a tile.
// The GGUF file records none of them, so a reader needs the configuration from elsewhere:
// tl_builtin_config() knows the one setup_env.py uses for each published model shape, and
// parse_tl_kernel_config() reads a kernel_config.ini. Bit layouts: docs/FORMATS.md "TL1" and
// "TL2"; source: microsoft/BitNet utils/convert-hf-to-gguf-bitnet.py (preprocess_weights_tl1,
// preprocess_weights_tl2) and 3rdparty/llama.cpp gguf-py gguf_writer.py (the scale slot).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/types.h"

namespace tern::formats {

struct TlConfig {
  int64_t rows = 0;        // M
  int64_t cols = 0;        // K
  int64_t block_rows = 0;  // BM
  int64_t block_cols = 0;  // BK
  int64_t simd_rows = 0;   // bm
  bool operator==(const TlConfig&) const = default;
};

bool is_tl(GgmlType t);  // TL1 or TL2

// The tiling setup_env.py (bitnet.cpp's documented build) generates for a shape of
// bitnet_b1_58-large, bitnet_b1_58-3B or Llama3-8B-1.58-100B-tokens; nullopt for any other
// shape (bitnet.cpp's converter cannot write TL files for shapes its kernel_config.ini lacks).
std::optional<TlConfig> tl_builtin_config(GgmlType t, int64_t rows, int64_t cols);

// Parses the text of a bitnet.cpp include/kernel_config.ini ([Kernels_N] sections with keys
// m, k, bm, bk, bmm). Throws tern::Error naming `source` for malformed input.
std::vector<TlConfig> parse_tl_kernel_config(std::string_view text, const std::string& source);

// Throws tern::Error (message names the type, shape and the broken rule) when `cfg` cannot
// tile a [cfg.rows x cfg.cols] tensor of type `t` the way bitnet.cpp's converter does.
void check_tl_config(GgmlType t, const TlConfig& cfg);

// Byte offset of the f32 scale in the tensor's data: rows*cols/4 for TL1; for TL2 bitnet.cpp's
// padded code size ((cols-256)*rows/3*5/8 + 256*rows/2*4/8, rounded up to 32). The tensor's
// GGUF size (ggml_tensor_nbytes) is this + 32. Throws for shapes the type cannot store.
uint64_t tl_scale_offset(GgmlType t, int64_t rows, int64_t cols);
// Bytes of codes the layout actually uses (<= tl_scale_offset for a valid config).
uint64_t tl_code_bytes(GgmlType t, const TlConfig& cfg);

// The scale stored after the codes. `tensor` must hold ggml_tensor_nbytes bytes.
float tl_scale(GgmlType t, std::span<const uint8_t> tensor, int64_t rows, int64_t cols);

// Decodes rows [block * BM, (block + 1) * BM) into trits (BM x cols, row-major). Checks the
// config (check_tl_config) and that `tensor` holds exactly ggml_tensor_nbytes bytes; throws
// tern::Error on a code no converter writes (a TL1/TL2 pair index above 8, a TL2 triple index
// above 13), which means the file is damaged.
void unpack_tl_block(GgmlType t, std::span<const uint8_t> tensor, const TlConfig& cfg,
                     int64_t block, int8_t* trits);

// Encodes trits (rows x cols, values in {-1,0,1}) as bitnet.cpp's converter does, zero padding
// up to the scale slot, then `scale` as f32 and 28 zero bytes (what its GGUF writer leaves in
// the slot after the codes). Returns exactly ggml_tensor_nbytes bytes. For tests and tools.
std::vector<uint8_t> pack_tl(GgmlType t, const int8_t* trits, const TlConfig& cfg, float scale);

}  // namespace tern::formats
