// The kernel function table: every hot loop in tern goes through these pointers, filled once
// at start-up from the CPU's features (dispatch.cpp). Each kernel is single-threaded, does not
// allocate, and has a scalar reference in ref/ that tests compare against (exactly for the
// integer kernels).
//
// Ternary weights use tern's repacked layout "T2" (docs/FORMATS.md): per row, K_pad/4 bytes
// (K_pad = K rounded up to 128); each 128-element chunk is 32 bytes where byte j holds the
// codes (t + 1, in {0,1,2}) of elements j, j+32, j+64, j+96 in bits 1:0, 3:2, 5:4, 7:6.
// Kernels return raw sums S = sum(code * q); the caller recovers sum(t * q) = S - sum(q).
#pragma once

#include <cstdint>
#include <string>

namespace tern {

inline constexpr int64_t kT2Chunk = 128;  // elements per packed chunk
inline constexpr int64_t round_up_t2(int64_t k) { return (k + kT2Chunk - 1) / kT2Chunk * kT2Chunk; }

struct KernelTable {
  const char* isa = "ref";

  // Per-token absmax int8 quantization (BitNet b1.58): s = 127 / max(max|x|, 1e-5);
  // q = round_half_even(x * s) clamped to [-128, 127]. Writes n values of q, zero-fills
  // q[n, n_pad), returns s and the sum of q.
  void (*quantize_act)(const float* x, int64_t n, int64_t n_pad, int8_t* q, float* scale,
                       int32_t* qsum) = nullptr;

  // GEMM over T2 rows: for r in [0, nrows), t in [0, n_tok):
  //   out[t * out_stride + r] = sum_k code(r, k) * q[t * k_pad + k]
  // codes: row r at codes + r * (k_pad / 4). n_tok may be 1 (decode).
  void (*t2_gemm)(const uint8_t* codes, int64_t nrows, int64_t k_pad, const int8_t* q,
                  int64_t n_tok, int32_t* out, int64_t out_stride) = nullptr;

  // Float GEMM with an F16 (IEEE half) weight matrix w [nrows x k] (row stride k):
  //   out[t * out_stride + r] = sum_k w(r, k) * x[t * k + k']
  void (*f16_gemm)(const uint16_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
                   float* out, int64_t out_stride) = nullptr;
  // Same with an F32 weight matrix.
  void (*f32_gemm)(const float* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
                   float* out, int64_t out_stride) = nullptr;

  // Attention helpers over one head: dot products and weighted accumulation.
  float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
  void (*axpy_f32)(float a, const float* x, float* y, int64_t n) = nullptr;  // y += a * x
};

// The table for the ISA chosen at start-up: TERN_ISA (ref|avx2|avx512|neon) if set (an error
// if the CPU lacks it), otherwise the best the CPU supports.
const KernelTable& kernels();
// Forces a path (tests, --isa). Throws tern::Error if unknown or unsupported here.
void set_kernel_isa(const std::string& isa);
// A specific table, or nullptr when this build or this CPU cannot run it (tests loop over all).
const KernelTable* kernel_table_for(const std::string& isa);
// Every ISA name this build knows, best last: {"ref", "avx2", "avx512"} or {"ref", "neon"}.
const char* const* kernel_isa_names(int* count);

namespace ref {
const KernelTable& table();
}

}  // namespace tern
