// The kernel function table: every hot loop in tern goes through these pointers, filled once
// at start-up from the CPU's features (dispatch.cpp). Each kernel is single-threaded, does not
// allocate, and has a scalar reference in ref/ that tests compare against (exactly for the
// integer kernels).
//
// Ternary weights use tern's repacked layout "TR16" (docs/PERFORMANCE.md): rows are grouped 16
// at a time (rows padded to a multiple of 16 with zero weights), columns padded to K_pad (K
// rounded up to 128). A group is K_pad/16 blocks of 64 bytes, one per 16 columns, stored in
// column order; group g starts at byte g * 4 * K_pad. In block b of group g:
//
//   byte i (0..63):  row   = 16 g + i / 4
//                    bits 2s+1:2s (s = 0..3) = code of column 16 b + 4 s + (i % 4)
//
// so after (byte >> 2s) & 3 each 32-bit lane holds 4 consecutive columns of one row: exactly
// the operand vpdpbusd (AVX-512 VNNI, one lane per row), maddubs (AVX2, 8 rows per register)
// and sdot (NEON, 4 rows per register) want, with the 4 matching activations broadcast.
// Codes are t + 1 in {0,1,2}. Kernels return raw sums S = sum(code * q); the caller recovers
// sum(t * q) = S - sum(q). TN16 (below) packs the same codes at 1.67 bits for decode.
//
// Files built with different instruction-set flags include this header, so its functions have
// internal linkage (static): a shared inline copy compiled with AVX-512 flags could otherwise
// be the one the linker keeps for every path (tests/check_isa_objects.sh checks the objects).
#pragma once

#include <cstdint>
#include <string>

namespace tern {

inline constexpr int64_t kTrKAlign = 128;  // K padding (activations are padded to match)
inline constexpr int64_t kTrRows = 16;     // rows per group
inline constexpr int64_t kTrBlockCols = 16;  // columns per 64-byte block
inline constexpr int64_t round_up_k(int64_t k) { return (k + kTrKAlign - 1) / kTrKAlign * kTrKAlign; }
inline constexpr int64_t round_up_rows(int64_t r) { return (r + kTrRows - 1) / kTrRows * kTrRows; }
// Bytes of one 16-row group.
inline constexpr int64_t tr_group_bytes(int64_t k_pad) { return k_pad * kTrRows / 4; }

// "TN16", 1.67 bits per weight (docs/PERFORMANCE.md, "TN16"): the same 16-row groups, K_pad and
// codes, 16% fewer bytes for decode to stream; the layout AVX-512 with VBMI loads weights into.
// A group is S = K_pad / 96 superblocks of 320 bytes, then (K_pad - 96 S) / 16 blocks of TR16
// (the tail; K_pad - 96 S is 0, 32 or 64). Superblock s covers columns 96 s + [0, 96) in 128
// triples (j = 0..3, h = 0..1, i = 0..63):
//   triple (j, h, i): row 16 g + i / 4, columns c, c + 4, c + 8 with c = 96 s + 24 j + 12 h + i % 4
//   x = 9 c0 + 3 c1 + c2 (its codes, x in [0, 27)); x <= 13: n = x, sign 0; else n = 26 - x, sign 1
//   (26 - x is the triple with every code c turned into 2 - c, i.e. every weight negated)
//   byte 64 j + i:                    n of (j, 0, i) in bits 3:0, n of (j, 1, i) in bits 7:4
//   bytes 256 + 16 j + 8 h + [0, 8):   the signs of (j, h, 0..63), bit i of the little-endian word
// One 64-byte load is two registers of 16 rows x 4 triples; a table lookup per code position p
// gives 16 rows x 4 consecutive columns (c + 4 p), the operand TR16 unpacks to.
inline constexpr int64_t kTnSuperCols = 96, kTnSuperBytes = 320;
inline constexpr int64_t tn_supers(int64_t k_pad) { return k_pad / kTnSuperCols; }
inline constexpr int64_t tn_group_bytes(int64_t k_pad) {
  return tn_supers(k_pad) * kTnSuperBytes + (k_pad - tn_supers(k_pad) * kTnSuperCols) / kTrBlockCols * 64;
}
// Where (lane, column c < 96 S) of a group lives: nibble byte, nibble shift, sign byte, sign bit
// and code position p (c = triple's c + 4 p).
struct TnSpot {
  int64_t byte, sign_byte;
  int shift, sign_bit, p;
};
inline constexpr TnSpot tn16_locate(int64_t lane, int64_t c) {
  const int64_t s = c / kTnSuperCols, w = c % kTnSuperCols, j = w / 24, h = (w % 24) / 12, p = (w % 12) / 4;
  const int64_t i = lane * 4 + w % 4, base = s * kTnSuperBytes;
  return TnSpot{base + 64 * j + i, base + 256 + 16 * j + 8 * h + i / 8, static_cast<int>(4 * h),
                static_cast<int>(i % 8), static_cast<int>(p)};
}
// Code (0..2) at position p of the triple stored as nibble n (0..13) and sign.
inline constexpr int tn16_code(int n, int sign, int p) {
  const int c = p == 0 ? n / 9 : p == 1 ? n / 3 % 3 : n % 3;
  return sign ? 2 - c : c;
}
// The code of (lane, column c) in one group, read one at a time as the layouts describe (the
// reference TN16 kernels, TernaryMatrix::get_row): TR16, and TN16 with its TR16 tail.
static inline int tr16_code_at(const uint8_t* grp, int64_t lane, int64_t c) {
  return (grp[c / kTrBlockCols * 64 + lane * 4 + c % 4] >> (2 * ((c % kTrBlockCols) / 4))) & 3;
}
static inline int tn16_code_at(const uint8_t* grp, int64_t k_pad, int64_t lane, int64_t c) {
  const int64_t main_cols = tn_supers(k_pad) * kTnSuperCols;
  if (c >= main_cols) return tr16_code_at(grp + tn_supers(k_pad) * kTnSuperBytes, lane, c - main_cols);
  const TnSpot at = tn16_locate(lane, c);
  return tn16_code((grp[at.byte] >> at.shift) & 15, (grp[at.sign_byte] >> at.sign_bit) & 1, at.p);
}

// GGUF block sizes the quantized float GEMMs read (the same as formats/blocks.h, repeated here
// because the kernels are cross-built without the formats library).
inline constexpr int64_t kQ8_0Elems = 32, kQ8_0Bytes = 34;
inline constexpr int64_t kQ6_KElems = 256, kQ6_KBytes = 210;

// What tr16_bitlinear writes for token t (0 <= t < n_tok), with
//   o(r) = float(S(r, t) - qsum[t]) * inv_scale[t] * row_scale[r]    (bitlinear_out)
// and S the tr16_gemm sums of the call's rows:
//   act kNone:    y[t * y_stride + r] = o(r)                                  for r < n_out
//   GLU (others): the groups come in pairs, gate rows 32 p + i then up rows 32 p + 16 + i, and
//                 y[t * y_stride + 16 p + i] = act(o(32 p + i)) * o(32 p + 16 + i)  for 16 p + i < n_out
//     kReluSqr: relu_sqr_mul (max(g, 0)^2 * u);  kSilu: silu_mul_ref (scalar on every path).
// Nothing past n_out is written (n_out <= 16 n_groups, or 8 n_groups with n_groups even for GLU).
enum class TrAct : uint8_t { kNone, kReluSqr, kSilu };
struct TrEpilogue {
  const int32_t* qsum = nullptr;     // [n_tok]
  const float* inv_scale = nullptr;  // [n_tok]
  const float* row_scale = nullptr;  // [16 n_groups]
  int64_t n_out = 0;
  TrAct act = TrAct::kNone;
};

// out[j] = g[j] / (1 + exp(-g[j])) * u[j]: the SiLU gate of llama.cpp-style BitNet files (rare;
// scalar on every path so that all agree).
static inline void silu_mul_ref(const float* g, const float* u, float* out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] = g[j] / (1.0f + __builtin_expf(-g[j])) * u[j];
}

struct KernelTable {
  const char* isa = "ref";

  // Per-token absmax int8 quantization (BitNet b1.58): s = 127 / max(max|x|, 1e-5);
  // q = round_half_even(x * s) clamped to [-128, 127]. Writes n values of q, zero-fills
  // q[n, n_pad), returns s and the sum of q.
  void (*quantize_act)(const float* x, int64_t n, int64_t n_pad, int8_t* q, float* scale,
                       int32_t* qsum) = nullptr;

  // GEMM over TR16 groups: for r in [0, 16 n_groups), t in [0, n_tok):
  //   out[t * out_stride + r] = sum_k code(r, k) * q[t * q_stride + k],  k in [0, k_pad)
  // codes: the first group (groups follow each other). n_tok may be 1 (decode). q needs no
  // alignment; q_stride >= k_pad.
  void (*tr16_gemm)(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                    int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) = nullptr;
  // BitLinear whole: tr16_gemm's sums for rows [0, 16 n_groups) x n_tok tokens turned into
  // floats by bitlinear_out, and for a GLU feed-forward also through the activation, written
  // straight to y (the fused paths never store the integer sums). ep (TrEpilogue below) holds
  // the per-token and per-row factors; the result is bit-identical to tr16_gemm followed by
  // bitlinear_out (and relu_sqr_mul / silu_mul_ref) on the same path.
  void (*tr16_bitlinear)(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                         int64_t q_stride, int64_t n_tok, const TrEpilogue& ep, float* y,
                         int64_t y_stride) = nullptr;

  // TN16 (above): the same sums as tr16_gemm for n_tok <= 4 (decode; ops sends more tokens
  // through tn16_to_tr16 and the TR16 kernels). codes: the first group, tn_group_bytes apart.
  void (*tn16_gemm)(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                    int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) = nullptr;
  // Rewrites n_groups TN16 groups as TR16 groups (tr_group_bytes apart at tr), exactly.
  void (*tn16_to_tr16)(const uint8_t* tn, int64_t n_groups, int64_t k_pad, uint8_t* tr) = nullptr;
  // Whether weights load as TN16 on this path (its tn16 kernels are fast; elsewhere they are
  // the reference's, for tests).
  bool prefers_tn16 = false;

  // Float GEMM with an F16 (IEEE half) weight matrix in the R4 layout (f16_r4_index below):
  //   out[t * out_stride + r] = sum_i w(r, i) * x[t * k + i]   for r < nrows, t < n_tok
  // w starts a 64-row supergroup; rows past nrows (zero padding) are not written.
  void (*f16_gemm)(const uint16_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
                   float* out, int64_t out_stride) = nullptr;
  // Same with an F32 weight matrix.
  void (*f32_gemm)(const float* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
                   float* out, int64_t out_stride) = nullptr;
  // Same with a block-quantized weight matrix in GGUF's byte layout (formats/blocks.h,
  // docs/FORMATS.md), rows back to back with no padding, no alignment needed:
  //   q8_0: k % 32 == 0, a row is k/32 blocks of 34 bytes (fp16 d, 32 x int8 q), w = d * q
  //   q6_k: k % 256 == 0, a row is k/256 super-blocks of 210 bytes, w = d * scale_j * (q - 32)
  // Activations stay float (no activation quantization): the weights are decoded in registers,
  // so the result is the float product with exactly the stored weights.
  void (*q8_0_gemm)(const uint8_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
                    float* out, int64_t out_stride) = nullptr;
  void (*q6_k_gemm)(const uint8_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
                    float* out, int64_t out_stride) = nullptr;

  // Attention over one KV head, for nq query rows that share it (GQA heads, tokens):
  //   scores:  out[i * out_stride + j] = dot(q + i * q_stride, k + j * k_stride) over d
  //   values:  out[i * out_stride + c] = sum_j p[i * p_stride + j] * v[j * v_stride + c], c < d
  // (values overwrites out). No alignment needed.
  void (*attn_scores)(const float* q, int64_t nq, int64_t q_stride, const float* k, int64_t nk,
                      int64_t k_stride, int64_t d, float* out, int64_t out_stride) = nullptr;
  void (*attn_values)(const float* p, int64_t nq, int64_t p_stride, const float* v, int64_t nk,
                      int64_t v_stride, int64_t d, float* out, int64_t out_stride) = nullptr;
  // Scaled softmax over one row of attention scores: with m = max_j(scale * x[j]) over j < n,
  //   x[j] = exp(scale * x[j] - m) / sum_j exp(scale * x[j] - m)   for j < n   (n >= 1)
  //   x[j] = 0                                                      for n <= j < n_total
  // (keys past a query's position are masked). Vector paths use a polynomial exp within a
  // few ulp of std::exp. If max_sum is not null it receives m and the sum (the row's share when
  // attention over a long context is split into key chunks and merged).
  void (*softmax)(float* x, int64_t n, int64_t n_total, float scale, float* max_sum) = nullptr;

  // IEEE half <-> float for an F16 KV cache: exact one way, round-to-nearest-even the other
  // (core/fp16.h; the F16C / NEON conversion instructions give the same bits).
  void (*f16_to_f32)(const uint16_t* src, int64_t n, float* dst) = nullptr;
  void (*f32_to_f16)(const float* src, int64_t n, uint16_t* dst) = nullptr;

  // Element-wise work of the forward pass; every path gives bit-identical results (the same
  // float operations in the same order, only more lanes at a time).
  // BitLinear's epilogue for one token: y[r] = float(acc[r] - qsum) * inv_scale * row_scale[r],
  // r < n (the exact integer sums of tr16_gemm back to floats). The engine reaches it and
  // relu_sqr_mul through tr16_bitlinear, which is defined by them (tr16_bitlinear_by_parts); they
  // stay in the table so each path's parts are tested on their own (odd lengths, NaN gates).
  void (*bitlinear_out)(const int32_t* acc, int64_t n, int32_t qsum, float inv_scale,
                        const float* row_scale, float* y) = nullptr;
  // RMSNorm: out[i] = x[i] * inv * w[i] with inv = rms_norm_inv(partials of x, ...) below: the
  // mean of squares in double from 32 partial sums (partial j adds x[32 m + j]^2 in order of m;
  // 32 so that SIMD paths run 4+ independent chains instead of waiting on one).
  // out may alias x.
  void (*rms_norm)(const float* x, const float* w, int64_t n, float eps, float* out) = nullptr;
  // out[j] = max(g[j], 0)^2 * u[j] (a NaN gate gives 0); out must not overlap g or u.
  void (*relu_sqr_mul)(const float* g, const float* u, float* out, int64_t n) = nullptr;
};

// RMSNorm's 1 / rms from the 32 partial sums of squares of the first n / 32 * 32 values; the
// tail past them joins partial 0, then the partials are added pairwise (j + 16 into j, then
// j + 8, ...). Shared by every path so that all agree to the bit.
inline constexpr int kNormParts = 32;
static inline float rms_norm_inv(const double* part32, const float* x, int64_t n, float eps) {
  double p[kNormParts];
  for (int j = 0; j < kNormParts; ++j) p[j] = part32[j];
  for (int64_t i = n / kNormParts * kNormParts; i < n; ++i) p[0] += static_cast<double>(x[i]) * x[i];
  for (int w = kNormParts / 2; w >= 1; w /= 2) {
    for (int j = 0; j < w; ++j) p[j] += p[j + w];
  }
  return 1.0f / __builtin_sqrtf(static_cast<float>(p[0] / static_cast<double>(n)) + eps);
}

// F16 weights (the output head) use tern's "R4" layout, repacked at load. Rows come in
// supergroups of 64 (zero rows pad the last one), columns are padded with zeros to
// k16 = round_up(k, 16) and cut into blocks of up to 512. A supergroup stores its blocks in
// column order; within a block, each group of 4 rows stores its 16-column chunks in order, and a
// chunk is the 4 rows' 16 values one after another:
//
//   (r, i) -> sg * 64 k16 + kb * 64 * 512 + g * 4 kbw + c * 64 + (r % 4) * 16 + i % 16
//   sg = r / 64, g = (r % 64) / 4, kb = i / 512, c = (i % 512) / 16, kbw = min(512, k16 - 512 kb)
//
// A kernel walks a supergroup front to back: one sequential stream per thread, 4 rows in flight
// per chunk, and the activations of a block (512 columns of up to 4 tokens: 8 KB) stay in L1
// while 16 groups use them. Row-major order with 4 rows at a time was 4 short streams, and
// full-length activations for 4 tokens (40 KB at k = 2560) do not fit L1; each cost Zen 4 about
// half its speed in batched decoding.
inline constexpr int64_t kF16SuperRows = 64;
inline constexpr int64_t kF16BlockCols = 512;
inline constexpr int64_t round_up_16(int64_t k) { return (k + 15) / 16 * 16; }
inline constexpr int64_t f16_r4_index(int64_t r, int64_t i, int64_t k) {
  const int64_t k16 = round_up_16(k), kb = i / kF16BlockCols, rr = r % kF16SuperRows;
  const int64_t kbw = k16 - kb * kF16BlockCols < kF16BlockCols ? k16 - kb * kF16BlockCols : kF16BlockCols;
  return (r / kF16SuperRows) * kF16SuperRows * k16 + kb * kF16SuperRows * kF16BlockCols + (rr / 4) * 4 * kbw +
         ((i % kF16BlockCols) / 16) * 64 + (rr % 4) * 16 + i % 16;
}
// Halves needed for an nrows x k matrix in R4.
inline constexpr int64_t f16_r4_size(int64_t nrows, int64_t k) {
  return (nrows + kF16SuperRows - 1) / kF16SuperRows * kF16SuperRows * round_up_16(k);
}
// Repacks rows [0, nrows) of a row-major F16 matrix (row stride k) into R4 at dst, writing all
// f16_r4_size(nrows, k) halves (padding rows and columns as zeros). dst may be the start of any
// supergroup of a larger R4 matrix (rows packed in pieces).
static inline void pack_f16_r4(const uint16_t* src, int64_t nrows, int64_t k, uint16_t* dst) {
  const int64_t k16 = round_up_16(k);
  const int64_t rows_pad = (nrows + kF16SuperRows - 1) / kF16SuperRows * kF16SuperRows;
  for (int64_t r = 0; r < rows_pad; ++r) {
    for (int64_t c = 0; c < k16; c += 16) {
      uint16_t* d = dst + f16_r4_index(r, c, k);
      const int64_t n = r < nrows ? (k - c < 16 ? k - c : 16) : 0;
      for (int64_t j = 0; j < n; ++j) d[j] = src[r * k + c + j];
      for (int64_t j = n; j < 16; ++j) d[j] = 0;
    }
  }
}

// tr16_bitlinear for a path without a fused kernel (and the reference's definition of it): the
// path's own tr16_gemm into a buffer, then its bitlinear_out and relu_sqr_mul, a block of rows
// at a time. Used for decode on every path (1-4 tokens: the weight stream dominates), and with
// tn16_gemm for TN16 weights (groups are group_bytes apart: tr_group_bytes or tn_group_bytes).
template <class Gemm, class Out, class Relu>
static inline void tr16_bitlinear_by_parts(Gemm gemm, Out out, Relu relu, const uint8_t* codes, int64_t group_bytes,
                                    int64_t n_groups, int64_t k_pad, const int8_t* q, int64_t q_stride,
                                    int64_t n_tok, const TrEpilogue& ep, float* y, int64_t y_stride) {
  constexpr int64_t kBufInts = 8192;  // 32 KB: a 2048-row decode chunk of 4 tokens in one call
  alignas(64) int32_t acc[kBufInts];
  alignas(64) float g[kTrRows], u[kTrRows];
  if (n_tok <= 0) return;
  const bool glu = ep.act != TrAct::kNone;
  const int64_t rows = n_groups * kTrRows;
  const int64_t tok_chunk = n_tok < 64 ? n_tok : 64;
  int64_t row_chunk = kBufInts / tok_chunk / (2 * kTrRows) * (2 * kTrRows);
  if (row_chunk > rows) row_chunk = rows;
  for (int64_t t0 = 0; t0 < n_tok; t0 += tok_chunk) {
    const int64_t nt = n_tok - t0 < tok_chunk ? n_tok - t0 : tok_chunk;
    for (int64_t r0 = 0; r0 < rows; r0 += row_chunk) {
      const int64_t nr = rows - r0 < row_chunk ? rows - r0 : row_chunk;
      gemm(codes + r0 / kTrRows * group_bytes, nr / kTrRows, k_pad, q + t0 * q_stride, q_stride, nt, acc, nr);
      for (int64_t t = 0; t < nt; ++t) {
        const int32_t qs = ep.qsum[t0 + t];
        const float inv = ep.inv_scale[t0 + t];
        const int32_t* at = acc + t * nr;
        float* yt = y + (t0 + t) * y_stride;
        if (!glu) {
          const int64_t n = ep.n_out - r0 < nr ? ep.n_out - r0 : nr;
          if (n > 0) out(at, n, qs, inv, ep.row_scale + r0, yt + r0);
          continue;
        }
        for (int64_t b = 0; b < nr; b += 2 * kTrRows) {
          const int64_t j0 = (r0 + b) / 2;
          const int64_t n = ep.n_out - j0 < kTrRows ? ep.n_out - j0 : kTrRows;
          if (n <= 0) break;
          out(at + b, kTrRows, qs, inv, ep.row_scale + r0 + b, g);
          out(at + b + kTrRows, kTrRows, qs, inv, ep.row_scale + r0 + b + kTrRows, u);
          if (ep.act == TrAct::kReluSqr) {
            relu(g, u, yt + j0, n);
          } else {
            silu_mul_ref(g, u, yt + j0, n);
          }
        }
      }
    }
  }
}

// Defines `const KernelTable& table()` inside an ISA namespace from that namespace's kernels
// (each ISA file names its functions alike), so adding a kernel means one line here.
#define TERN_DEFINE_KERNEL_TABLE(isa_name)        \
  const KernelTable& table() {                    \
    static const KernelTable t = [] {             \
      KernelTable k;                              \
      k.isa = isa_name;                           \
      k.quantize_act = quantize_act;              \
      k.tr16_gemm = tr16_gemm;                    \
      k.tr16_bitlinear = tr16_bitlinear;          \
      k.tn16_gemm = tn16_gemm;                    \
      k.tn16_to_tr16 = tn16_to_tr16;              \
      k.prefers_tn16 = prefers_tn16();            \
      k.f16_gemm = f16_gemm;                      \
      k.f32_gemm = f32_gemm;                      \
      k.q8_0_gemm = q8_0_gemm;                    \
      k.q6_k_gemm = q6_k_gemm;                    \
      k.attn_scores = attn_scores;                \
      k.attn_values = attn_values;                \
      k.softmax = softmax;                        \
      k.f16_to_f32 = f16_to_f32;                  \
      k.f32_to_f16 = f32_to_f16;                  \
      k.bitlinear_out = bitlinear_out;            \
      k.rms_norm = rms_norm;                      \
      k.relu_sqr_mul = relu_sqr_mul;              \
      return k;                                   \
    }();                                          \
    return t;                                     \
  }

// The table for the ISA chosen at start-up: TERN_ISA (ref|avx2|avxvnni|avx512|neon) if set (an error
// if the CPU lacks it), otherwise the best the CPU supports.
const KernelTable& kernels();
// Forces a path (tests, --isa). Throws tern::Error if unknown or unsupported here.
void set_kernel_isa(const std::string& isa);
// A specific table, or nullptr when this build or this CPU cannot run it (tests loop over all).
const KernelTable* kernel_table_for(const std::string& isa);
// Every ISA name this build knows, best last: {"ref", "avx2", "avxvnni", "avx512"} or
// {"ref", "neon"}.
const char* const* kernel_isa_names(int* count);

// Each ISA's table (defined by TERN_DEFINE_KERNEL_TABLE in its file; only those this build
// compiles exist): for dispatch, and for a path that reuses another's kernel.
namespace ref {
const KernelTable& table();
}
namespace avx2 {
const KernelTable& table();
}
namespace avxvnni {
const KernelTable& table();
}
namespace avx512 {
const KernelTable& table();
}
namespace neon {
const KernelTable& table();
}

// The TN16 entries of paths whose weights stay TR16 (AVX2, NEON, AVX-512 without VBMI): the
// reference's, so the table is complete and tests can run them anywhere.
static inline void tn16_gemm_by_ref(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                             int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  ref::table().tn16_gemm(codes, n_groups, k_pad, q, q_stride, n_tok, out, out_stride);
}
static inline void tn16_to_tr16_by_ref(const uint8_t* tn, int64_t n_groups, int64_t k_pad, uint8_t* tr) {
  ref::table().tn16_to_tr16(tn, n_groups, k_pad, tr);
}

}  // namespace tern
