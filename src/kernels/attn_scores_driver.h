// attn_scores built from an ISA's score kernels. Included by each x86 ISA file inside its own
// namespace, after it defines
//   constexpr int64_t kScoreBlock;   // B: queries (in the lanes) and keys of one register block
//   constexpr int kTailRows;         // queries per pass of the row kernel
//   template <int64_t kKs> void scores_block(const float* qt, const float* k, int64_t ks, int64_t d,
//                                            float* out, int64_t os, const float* next);
//       // B queries (qt: transposed, [d][B]) x B keys; kKs > 0 is the key stride as a constant;
//       // next: the following key block to prefetch, or null
//   template <int NI> void scores_rows(const float* q, int64_t qs, const float* k, int64_t nk,
//                                      int64_t ks, int64_t d, float* out, int64_t os);
//   constexpr int64_t kQuadKeys, kQuadDims;
//   template <int64_t kKs> void scores_quad(const float* qp, const float* k, int64_t ks, int64_t d,
//                                           float* out, int64_t os);
//       // 4 queries x kQuadKeys keys with (query, kQuadDims consecutive dims) in the lanes:
//       // qp[(c / P) * 4P + P i + p] = q[i][c + p], P = kQuadDims (d a multiple of P)
// The blocking is the same on every ISA; only the block width and the kernels differ.
#pragma once

// Blocks of B queries against at least 2B keys: the queries are transposed once (d x B floats on
// the stack, d <= 256) and run against B x B blocks; leftover keys and queries take the row
// kernel. The engine's packed K (stride d = 128) takes the constant-stride block: with a run-time
// stride GCC keeps one pointer per key row and reloads some from the stack every step.
void attn_scores(const float* q, int64_t nq, int64_t q_stride, const float* k, int64_t nk,
                 int64_t k_stride, int64_t d, float* out, int64_t out_stride) {
  constexpr int64_t B = kScoreBlock;
  // Keys [from, nk) of queries [i0, i0 + rows) through the row kernel (rows: a multiple of
  // kTailRows), after the blocks took the keys before `from`.
  auto rest = [&](int64_t i0, int64_t rows, int64_t from) {
    for (int64_t r = 0; from < nk && r < rows; r += kTailRows) {
      scores_rows<kTailRows>(q + (i0 + r) * q_stride, q_stride, k + from * k_stride, nk - from, k_stride, d,
                             out + (i0 + r) * out_stride + from, out_stride);
    }
  };
  int64_t i = 0;
  if (nk >= 2 * B && d <= 256) {
    alignas(64) float qt[256 * B];
    const int64_t nkb = nk / B * B;
    for (; i + B <= nq; i += B) {
      for (int64_t c = 0; c < d; ++c) {
        for (int64_t r = 0; r < B; ++r) qt[c * B + r] = q[(i + r) * q_stride + c];
      }
      for (int64_t j = 0; j < nkb; j += B) {
        const float* next = j + 2 * B <= nk ? k + (j + B) * k_stride : nullptr;
        float* o = out + i * out_stride + j;
        if (k_stride == 128) {
          scores_block<128>(qt, k + j * k_stride, k_stride, d, o, out_stride, next);
        } else {
          scores_block<0>(qt, k + j * k_stride, k_stride, d, o, out_stride, next);
        }
      }
      rest(i, B, nkb);
    }
  }
  // Groups of 4 queries (a decoded token's GQA heads) against at least 2 blocks of keys.
  constexpr int64_t P = kQuadDims, QK = kQuadKeys;
  if (nk >= 2 * QK && d <= 256 && d % P == 0) {
    alignas(64) float qp[256 * 4];
    const int64_t nkq = nk / QK * QK;
    for (; i + 4 <= nq; i += 4) {
      for (int64_t c = 0; c < d; c += P) {
        for (int64_t r = 0; r < 4; ++r) {
          for (int64_t p = 0; p < P; ++p) qp[c * 4 + P * r + p] = q[(i + r) * q_stride + c + p];
        }
      }
      for (int64_t j = 0; j < nkq; j += QK) {
        float* o = out + i * out_stride + j;
        if (k_stride == 128) {
          scores_quad<128>(qp, k + j * k_stride, k_stride, d, o, out_stride);
        } else {
          scores_quad<0>(qp, k + j * k_stride, k_stride, d, o, out_stride);
        }
      }
      rest(i, 4, nkq);
    }
  }
  const int64_t tiled = (nq - i) / kTailRows * kTailRows;
  rest(i, tiled, 0);
  for (i += tiled; i < nq; ++i) scores_rows<1>(q + i * q_stride, q_stride, k, nk, k_stride, d, out + i * out_stride, out_stride);
}
