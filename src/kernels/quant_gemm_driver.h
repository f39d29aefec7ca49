// The block-quantized head GEMMs (q8_0_gemm, q6_k_gemm) built from an ISA's row kernels.
// Included by each ISA file inside its own namespace, after it defines
//   template <int NT> void q8_0_row(const uint8_t* row, int64_t k, const float* x, float* out, int64_t os);
//   template <int NT> void q6_k_row(...same...);
// (one row against NT <= 4 tokens, out[t * os]): the loop over rows and token groups is the
// same on every ISA.
#pragma once

// Rows outer, up to 4 tokens per pass over a row (the row stays in L1 for the next 4).
// Q names the row kernel family (Q::row<NT>) and its block size.
template <class Q>
void quant_gemm(const uint8_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
                float* out, int64_t out_stride) {
  const int64_t row_bytes = k / Q::kElems * Q::kBytes;
  for (int64_t r = 0; r < nrows; ++r) {
    const uint8_t* wr = w + r * row_bytes;
    for (int64_t t0 = 0; t0 < n_tok; t0 += 4) {
      const float* xt = x + t0 * k;
      float* o = out + t0 * out_stride + r;
      switch (n_tok - t0 < 4 ? n_tok - t0 : 4) {
        case 1: Q::template row<1>(wr, k, xt, o, out_stride); break;
        case 2: Q::template row<2>(wr, k, xt, o, out_stride); break;
        case 3: Q::template row<3>(wr, k, xt, o, out_stride); break;
        default: Q::template row<4>(wr, k, xt, o, out_stride); break;
      }
    }
  }
}

struct Q8_0Rows {
  static constexpr int64_t kElems = kQ8_0Elems, kBytes = kQ8_0Bytes;
  template <int NT>
  static void row(const uint8_t* wr, int64_t k, const float* x, float* out, int64_t os) { q8_0_row<NT>(wr, k, x, out, os); }
};
struct Q6_KRows {
  static constexpr int64_t kElems = kQ6_KElems, kBytes = kQ6_KBytes;
  template <int NT>
  static void row(const uint8_t* wr, int64_t k, const float* x, float* out, int64_t os) { q6_k_row<NT>(wr, k, x, out, os); }
};

void q8_0_gemm(const uint8_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
               float* out, int64_t out_stride) {
  quant_gemm<Q8_0Rows>(w, nrows, k, x, n_tok, out, out_stride);
}

void q6_k_gemm(const uint8_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
               float* out, int64_t out_stride) {
  quant_gemm<Q6_KRows>(w, nrows, k, x, n_tok, out, out_stride);
}
