// Every kernel of every ISA this host can run, against the scalar reference: exactly for the
// integer paths, within a small relative bound for float sums (summation order differs).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/aligned.h"
#include "core/error.h"
#include "core/fp16.h"
#include "formats/formats.h"
#include "kernels/table.h"
#include "ops/ops.h"
#include "ops/ternary_matrix.h"

namespace tern {
namespace {

std::vector<const KernelTable*> runnable_tables() {
  std::vector<const KernelTable*> out;
  int n = 0;
  const char* const* names = kernel_isa_names(&n);
  for (int i = 0; i < n; ++i) {
    if (const KernelTable* t = kernel_table_for(names[i])) out.push_back(t);
  }
  return out;
}

// Packs trits (row-major nrows x k) into TR16 groups, written straight from the layout
// description in table.h (independent of TernaryMatrix).
std::vector<uint8_t> pack_tr16(const std::vector<int8_t>& trits, int64_t nrows, int64_t k) {
  const int64_t k_pad = round_up_k(k), rows_pad = round_up_rows(nrows);
  std::vector<uint8_t> out(static_cast<size_t>(rows_pad * k_pad / 4), 0x55);  // code 1 = zero
  for (int64_t g = 0; g < rows_pad / 16; ++g) {
    for (int64_t b = 0; b < k_pad / 16; ++b) {
      for (int i = 0; i < 64; ++i) {
        const int64_t row = 16 * g + i / 4;
        uint8_t v = 0;
        for (int s = 0; s < 4; ++s) {
          const int64_t col = 16 * b + 4 * s + i % 4;
          const int code = (row < nrows && col < k) ? trits[row * k + col] + 1 : 1;
          v |= static_cast<uint8_t>(code << (2 * s));
        }
        out[static_cast<size_t>(g * 4 * k_pad + b * 64 + i)] = v;
      }
    }
  }
  return out;
}

TEST(Kernels, ReferenceIsAlwaysAvailableAndTheDefaultIsTheBestRunnable) {
  ASSERT_NE(kernel_table_for("ref"), nullptr);
  EXPECT_EQ(kernel_table_for("no-such-isa"), nullptr);
  // The table in use is a complete, runnable one; without TERN_ISA it is the best this CPU runs.
  const KernelTable& k = kernels();
  EXPECT_EQ(kernel_table_for(k.isa), &k);
  EXPECT_TRUE(k.quantize_act && k.tr16_gemm && k.f16_gemm && k.f32_gemm && k.q8_0_gemm && k.q6_k_gemm &&
              k.attn_scores && k.attn_values && k.softmax && k.bitlinear_out && k.rms_norm && k.relu_sqr_mul);
  if (!std::getenv("TERN_ISA")) {
    EXPECT_EQ(&k, runnable_tables().back()) << k.isa;
  }
}

TEST(Kernels, ForcingAnUnknownIsaNamesTheRunnableOnes) {
  const char* before = kernels().isa;
  try {
    set_kernel_isa("sparc");
    FAIL() << "an unknown ISA was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const KernelTable* t : runnable_tables()) EXPECT_NE(msg.find(t->isa), std::string::npos) << msg;
  }
  EXPECT_STREQ(kernels().isa, before);  // the path in use is unchanged
}

TEST(Kernels, QuantizeActMatchesReferenceExactly) {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  const KernelTable& ref = *kernel_table_for("ref");
  for (const KernelTable* kt : runnable_tables()) {
    for (int64_t n = 1; n <= 4 * 64 + 3; n += (n < 70 ? 1 : 13)) {
      for (int misalign = 0; misalign < 2; ++misalign) {
        std::vector<float> xbuf(static_cast<size_t>(n + 1));
        float* x = xbuf.data() + misalign;
        for (int64_t i = 0; i < n; ++i) x[i] = nd(rng);
        // exact half-way values exercise round-half-to-even
        if (n > 3) {
          x[0] = 10.0f;
          x[1] = 0.5f * 10.0f / 127.0f;
        }
        const int64_t n_pad = round_up_k(n);
        std::vector<int8_t> q1(static_cast<size_t>(n_pad + 1), 7), q2(static_cast<size_t>(n_pad + 1), 9);
        float s1 = 0, s2 = 0;
        int32_t sum1 = 0, sum2 = 0;
        ref.quantize_act(x, n, n_pad, q1.data(), &s1, &sum1);
        kt->quantize_act(x, n, n_pad, q2.data() + misalign, &s2, &sum2);
        ASSERT_EQ(s1, s2) << kt->isa << " n=" << n;
        ASSERT_EQ(sum1, sum2) << kt->isa << " n=" << n;
        for (int64_t i = 0; i < n_pad; ++i) ASSERT_EQ(q1[i], q2[i + misalign]) << kt->isa << " n=" << n << " i=" << i;
      }
    }
  }
}

TEST(Kernels, QuantizeActSemantics) {
  const KernelTable& ref = *kernel_table_for("ref");
  // absmax 2.0 -> s = 63.5; 1.0 * 63.5 = 63.5 rounds to 64 (even), -2 -> -127
  std::vector<float> x = {2.0f, 1.0f, -2.0f, 0.0f, 3.0f / 63.5f};
  std::vector<int8_t> q(128);
  float s;
  int32_t sum;
  ref.quantize_act(x.data(), 5, 128, q.data(), &s, &sum);
  EXPECT_EQ(s, 63.5f);
  EXPECT_EQ(q[0], 127);
  EXPECT_EQ(q[1], 64);
  EXPECT_EQ(q[2], -127);
  EXPECT_EQ(q[3], 0);
  EXPECT_EQ(q[4], 3);
  EXPECT_EQ(sum, 127 + 64 - 127 + 0 + 3);
  for (int i = 5; i < 128; ++i) EXPECT_EQ(q[i], 0);
  // all-zero input: scale from the 1e-5 floor, no division by zero
  std::vector<float> z(10, 0.0f);
  ref.quantize_act(z.data(), 10, 128, q.data(), &s, &sum);
  EXPECT_EQ(s, 127.0f / 1e-5f);
  EXPECT_EQ(sum, 0);
}

TEST(Kernels, TernaryGemmMatchesReferenceExactly) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> trit(-1, 1), act(-128, 127);
  const KernelTable& ref = *kernel_table_for("ref");
  const int64_t ks[] = {1, 5, 127, 128, 129, 256, 384, 640, 1000, 6912};  // 6912: the 2B FFN down K
  const int64_t toks[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 17};
  const int64_t row_counts[] = {7, 16, 33, 64, 80};
  for (int64_t k : ks) {
    const int64_t k_pad = round_up_k(k);
    for (int64_t nrows : row_counts) {
      const int64_t rows_pad = round_up_rows(nrows), n_groups = rows_pad / 16;
      std::vector<int8_t> trits(static_cast<size_t>(nrows * k));
      for (auto& t : trits) t = static_cast<int8_t>(trit(rng));
      // edge values: row 0 all +1 (code 2), row 1 all -1 (code 0)
      for (int64_t i = 0; i < k; ++i) trits[i] = 1;
      if (nrows > 1) {
        for (int64_t i = 0; i < k; ++i) trits[k + i] = -1;
      }
      const std::vector<uint8_t> packed = pack_tr16(trits, nrows, k);
      // misaligned codes on purpose (kernels must not assume alignment)
      std::vector<uint8_t> cbuf(packed.size() + 64);
      uint8_t* codes = cbuf.data() + 3;
      std::copy(packed.begin(), packed.end(), codes);
      for (int64_t nt : toks) {
        const int64_t q_stride = k_pad + 16;  // a stride wider than k_pad must work
        AlignedBuffer<int8_t> qbuf(static_cast<size_t>(nt * q_stride + 64));
        int8_t* q = qbuf.data() + 1;  // misaligned on purpose
        for (int64_t t = 0; t < nt; ++t) {
          for (int64_t i = 0; i < q_stride; ++i) q[t * q_stride + i] = i < k ? static_cast<int8_t>(act(rng)) : 0;
        }
        // edge values: all -128 in token 0, all 127 in the last token
        for (int64_t i = 0; i < k; ++i) q[i] = -128;
        if (nt > 1) {
          for (int64_t i = 0; i < k; ++i) q[(nt - 1) * q_stride + i] = 127;
        }
        const int64_t out_stride = rows_pad + 5;
        std::vector<int32_t> want(static_cast<size_t>(nt * out_stride), -7);
        ref.tr16_gemm(codes, n_groups, k_pad, q, q_stride, nt, want.data(), out_stride);
        // the reference against a direct sum over trits (padding rows sum to sum(q))
        for (int64_t t = 0; t < nt; ++t) {
          int64_t qs = 0;
          for (int64_t i = 0; i < k; ++i) qs += q[t * q_stride + i];
          for (int64_t r = 0; r < rows_pad; ++r) {
            int64_t direct = 0;
            for (int64_t i = 0; r < nrows && i < k; ++i) direct += trits[r * k + i] * q[t * q_stride + i];
            ASSERT_EQ(want[t * out_stride + r] - qs, direct) << "ref k=" << k << " rows=" << nrows;
          }
          ASSERT_EQ(want[t * out_stride + rows_pad], -7) << "ref wrote past its rows";
        }
        for (const KernelTable* kt : runnable_tables()) {
          std::vector<int32_t> got(want.size(), -7);
          kt->tr16_gemm(codes, n_groups, k_pad, q, q_stride, nt, got.data(), out_stride);
          ASSERT_EQ(got, want) << kt->isa << " k=" << k << " rows=" << nrows << " n_tok=" << nt;
        }
      }
    }
  }
}

// tr16_bitlinear (BitLinear with its epilogue, plain and GLU) on every ISA against a direct
// evaluation of TrEpilogue's definition from the trits: bit-identical, and nothing written past
// n_out or outside the token rows.
TEST(Kernels, TernaryBitLinearMatchesDefinitionExactly) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> trit(-1, 1), act(-128, 127);
  std::uniform_real_distribution<float> pos(0.01f, 2.0f);
  const int64_t ks[] = {128, 640, 1000};
  const int64_t group_counts[] = {1, 2, 3, 4, 6};
  const int64_t toks[] = {1, 2, 4, 5, 8, 9, 13, 17};
  const TrAct acts[] = {TrAct::kNone, TrAct::kReluSqr, TrAct::kSilu};
  int checked = 0;
  for (int64_t k : ks) {
    const int64_t k_pad = round_up_k(k);
    for (int64_t n_groups : group_counts) {
      const int64_t rows = n_groups * 16;
      std::vector<int8_t> trits(static_cast<size_t>(rows * k));
      for (auto& t : trits) t = static_cast<int8_t>(trit(rng));
      const std::vector<uint8_t> codes = pack_tr16(trits, rows, k);
      std::vector<float> row_scale(static_cast<size_t>(rows));
      for (auto& r : row_scale) r = pos(rng);
      row_scale[1] = 0.0f;  // a zero scale (padding rows have one)
      for (int64_t nt : toks) {
        const int64_t q_stride = k_pad + 32;
        std::vector<int8_t> q(static_cast<size_t>(nt * q_stride), 0);
        std::vector<int32_t> qsum(static_cast<size_t>(nt), 0);
        std::vector<float> inv(static_cast<size_t>(nt));
        for (int64_t t = 0; t < nt; ++t) {
          for (int64_t i = 0; i < k; ++i) {
            q[static_cast<size_t>(t * q_stride + i)] = static_cast<int8_t>(act(rng));
            qsum[static_cast<size_t>(t)] += q[static_cast<size_t>(t * q_stride + i)];
          }
          inv[static_cast<size_t>(t)] = pos(rng) / 127.0f;
        }
        // o(r, t) as TrEpilogue defines it, from the trits (S - qsum = sum of trit * q)
        auto o = [&](int64_t r, int64_t t) {
          int32_t d = 0;
          for (int64_t i = 0; i < k; ++i) d += trits[static_cast<size_t>(r * k + i)] * q[static_cast<size_t>(t * q_stride + i)];
          return static_cast<float>(d) * inv[static_cast<size_t>(t)] * row_scale[static_cast<size_t>(r)];
        };
        for (TrAct a : acts) {
          if (a != TrAct::kNone && n_groups % 2 != 0) continue;
          const int64_t max_out = a == TrAct::kNone ? rows : rows / 2;
          for (int64_t n_out : {max_out, max_out - 5}) {
            const int64_t y_stride = max_out + 7;
            std::vector<float> want(static_cast<size_t>(nt * y_stride + 3), -3.5f);
            for (int64_t t = 0; t < nt; ++t) {
              for (int64_t j = 0; j < n_out; ++j) {
                float& w = want[static_cast<size_t>(t * y_stride + j)];
                if (a == TrAct::kNone) {
                  w = o(j, t);
                  continue;
                }
                const int64_t p = j / 16, i = j % 16;
                const float g = o(32 * p + i, t), u = o(32 * p + 16 + i, t);
                if (a == TrAct::kReluSqr) {
                  const float r = g > 0.0f ? g : 0.0f;
                  w = r * r * u;
                } else {
                  w = g / (1.0f + std::exp(-g)) * u;
                }
              }
            }
            TrEpilogue ep;
            ep.qsum = qsum.data();
            ep.inv_scale = inv.data();
            ep.row_scale = row_scale.data();
            ep.n_out = n_out;
            ep.act = a;
            for (const KernelTable* kt : runnable_tables()) {
              std::vector<float> got(want.size(), -3.5f);
              kt->tr16_bitlinear(codes.data(), n_groups, k_pad, q.data(), q_stride, nt, ep, got.data(), y_stride);
              for (size_t i = 0; i < got.size(); ++i) {
                ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
                    << kt->isa << " k=" << k << " groups=" << n_groups << " n_tok=" << nt << " act="
                    << static_cast<int>(a) << " n_out=" << n_out << " at token " << i / static_cast<size_t>(y_stride)
                    << " column " << i % static_cast<size_t>(y_stride) << ": " << got[i] << " vs " << want[i];
              }
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 300);
}

TEST(Kernels, TernaryMatrixRoundTripsThroughTr16) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> trit(-1, 1);
  for (int64_t k : {3, 128, 300}) {
    const int64_t rows = 21;
    TernaryMatrix m;
    m.allocate(rows, k);
    std::vector<int8_t> trits(static_cast<size_t>(rows * k));
    for (auto& t : trits) t = static_cast<int8_t>(trit(rng));
    for (int64_t r = 0; r < rows; ++r) m.set_row(r, trits.data() + r * k, 0.5f);
    EXPECT_EQ(std::vector<uint8_t>(m.codes.data(), m.codes.data() + m.codes.size()), pack_tr16(trits, rows, k));
    std::vector<int8_t> back(static_cast<size_t>(k));
    for (int64_t r = 0; r < rows; ++r) {
      m.get_row(r, back.data());
      ASSERT_EQ(back, std::vector<int8_t>(trits.begin() + r * k, trits.begin() + (r + 1) * k)) << "row " << r;
    }
  }
}

// Packs trits into TN16 groups from the layout description in table.h (independent of
// TernaryMatrix and of the kernels' decoding).
std::vector<uint8_t> pack_tn16(const std::vector<int8_t>& trits, int64_t nrows, int64_t k) {
  const int64_t k_pad = round_up_k(k), rows_pad = round_up_rows(nrows), gb = tn_group_bytes(k_pad);
  const int64_t n_super = k_pad / 96;
  auto code = [&](int64_t row, int64_t col) { return (row < nrows && col < k) ? trits[row * k + col] + 1 : 1; };
  std::vector<uint8_t> out(static_cast<size_t>(rows_pad / 16 * gb), 0);
  for (int64_t g = 0; g < rows_pad / 16; ++g) {
    uint8_t* grp = out.data() + g * gb;
    for (int64_t s = 0; s < n_super; ++s) {
      for (int j = 0; j < 4; ++j) {
        for (int h = 0; h < 2; ++h) {
          for (int i = 0; i < 64; ++i) {
            const int64_t row = 16 * g + i / 4, c = 96 * s + 24 * j + 12 * h + i % 4;
            const int x = 9 * code(row, c) + 3 * code(row, c + 4) + code(row, c + 8);
            grp[s * 320 + 64 * j + i] |= static_cast<uint8_t>((x <= 13 ? x : 26 - x) << (4 * h));
            if (x > 13) grp[s * 320 + 256 + 16 * j + 8 * h + i / 8] |= static_cast<uint8_t>(1 << (i % 8));
          }
        }
      }
    }
    for (int64_t b = 0; b < (k_pad - 96 * n_super) / 16; ++b) {  // the tail, as TR16
      for (int i = 0; i < 64; ++i) {
        uint8_t v = 0;
        for (int sh = 0; sh < 4; ++sh) v |= static_cast<uint8_t>(code(16 * g + i / 4, 96 * n_super + 16 * b + 4 * sh + i % 4) << (2 * sh));
        grp[n_super * 320 + b * 64 + i] = v;
      }
    }
  }
  return out;
}

TEST(Kernels, TernaryMatrixRoundTripsThroughTn16) {
  std::mt19937 rng(6);
  std::uniform_int_distribution<int> trit(-1, 1);
  // K_pad 128, 256, 384, 640: tails of 32, 64, 0 and 64 columns after the superblocks
  for (int64_t k : {3, 200, 384, 600}) {
    const int64_t rows = 37;
    std::vector<int8_t> trits(static_cast<size_t>(rows * k));
    for (auto& t : trits) t = static_cast<int8_t>(trit(rng));
    TernaryMatrix m, m2;
    m.allocate(rows, k, true);
    for (int64_t r = 0; r < rows; ++r) m.set_row(r, trits.data() + r * k, 0.5f);
    const std::vector<uint8_t> want = pack_tn16(trits, rows, k);
    ASSERT_EQ(std::vector<uint8_t>(m.codes.data(), m.codes.data() + m.codes.size()), want) << "k=" << k;
    // Rows set from two threads (neighbours share sign bytes), and a row set twice, end the same.
    m2.allocate(rows, k, true);
    std::vector<int8_t> flipped(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) flipped[i] = static_cast<int8_t>(-trits[i]);
    m2.set_row(0, flipped.data(), 0.5f);
    std::thread other([&] {
      for (int64_t r = 1; r < rows; r += 2) m2.set_row(r, trits.data() + r * k, 0.5f);
    });
    for (int64_t r = 0; r < rows; r += 2) m2.set_row(r, trits.data() + r * k, 0.5f);
    other.join();
    ASSERT_EQ(std::vector<uint8_t>(m2.codes.data(), m2.codes.data() + m2.codes.size()), want) << "k=" << k;
    std::vector<int8_t> back(static_cast<size_t>(k));
    for (int64_t r = 0; r < rows; ++r) {
      m.get_row(r, back.data());
      ASSERT_EQ(back, std::vector<int8_t>(trits.begin() + r * k, trits.begin() + (r + 1) * k)) << "row " << r;
    }
  }
}

// Matrices placed in a caller's block (how a model packs its projections, ModelLoader::run) use
// exactly their code_bytes there, keep the neighbours' bytes intact, and survive being moved.
TEST(Kernels, TernaryMatricesPlacedInOneBlockStayWithinTheirSlots) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> trit(-1, 1);
  for (bool tn16 : {false, true}) {
    const int64_t shapes[2][2] = {{37, 200}, {20, 600}};
    size_t sizes[2], total = 0;
    for (int i = 0; i < 2; ++i) {
      sizes[i] = TernaryMatrix::code_bytes(shapes[i][0], shapes[i][1], tn16);
      total += sizes[i] + 64;  // a 64-byte guard after each
    }
    AlignedBuffer<uint8_t> block(total);
    std::memset(block.data(), 0xa5, total);
    std::vector<TernaryMatrix> mats(2);
    std::vector<std::vector<int8_t>> trits(2);
    uint8_t* at = block.data();
    for (int i = 0; i < 2; ++i) {
      mats[i].allocate(shapes[i][0], shapes[i][1], tn16, at);
      ASSERT_EQ(mats[i].codes.data(), at);
      ASSERT_EQ(mats[i].codes.size(), sizes[i]);
      at += sizes[i] + 64;
      trits[i].resize(static_cast<size_t>(shapes[i][0] * shapes[i][1]));
      for (auto& t : trits[i]) t = static_cast<int8_t>(trit(rng));
      for (int64_t r = 0; r < shapes[i][0]; ++r) mats[i].set_row(r, trits[i].data() + r * shapes[i][1], 1.0f);
    }
    std::vector<TernaryMatrix> moved = std::move(mats);
    for (int i = 0; i < 2; ++i) {
      const uint8_t* guard = moved[i].codes.data() + sizes[i];
      for (int b = 0; b < 64; ++b) ASSERT_EQ(guard[b], 0xa5) << "tn16=" << tn16 << " matrix " << i << " wrote past its slot";
      std::vector<int8_t> back(static_cast<size_t>(shapes[i][1]));
      for (int64_t r = 0; r < shapes[i][0]; ++r) {
        moved[i].get_row(r, back.data());
        ASSERT_EQ(back, std::vector<int8_t>(trits[i].begin() + r * shapes[i][1], trits[i].begin() + (r + 1) * shapes[i][1]))
            << "tn16=" << tn16 << " matrix " << i << " row " << r;
      }
    }
    // Without a place the matrix owns its codes, and they move with it: still readable once
    // the moved-from matrix is gone.
    std::vector<TernaryMatrix> owners;
    {
      TernaryMatrix own;
      own.allocate(shapes[0][0], shapes[0][1], tn16);
      for (int64_t r = 0; r < shapes[0][0]; ++r) own.set_row(r, trits[0].data() + r * shapes[0][1], 1.0f);
      owners.push_back(std::move(own));
    }
    owners.resize(8);  // reallocates, moving the matrix again
    std::vector<int8_t> back(static_cast<size_t>(shapes[0][1]));
    for (int64_t r = 0; r < shapes[0][0]; ++r) {
      owners[0].get_row(r, back.data());
      ASSERT_EQ(back, std::vector<int8_t>(trits[0].begin() + r * shapes[0][1], trits[0].begin() + (r + 1) * shapes[0][1]))
          << "tn16=" << tn16 << " owned row " << r;
    }
  }
}

// TN16 on every ISA: tn16_gemm gives TR16's exact sums, tn16_to_tr16 TR16's exact bytes.
TEST(Kernels, Tn16KernelsMatchTr16Exactly) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> trit(-1, 1), act(-128, 127);
  const KernelTable& ref = *kernel_table_for("ref");
  for (int64_t k : {5, 200, 384, 600, 2560}) {
    const int64_t k_pad = round_up_k(k);
    for (int64_t nrows : {16, 50}) {
      const int64_t rows_pad = round_up_rows(nrows), n_groups = rows_pad / 16;
      std::vector<int8_t> trits(static_cast<size_t>(nrows * k));
      for (auto& t : trits) t = static_cast<int8_t>(trit(rng));
      for (int64_t i = 0; i < k; ++i) trits[i] = 1;  // row 0 all +1, row 1 all -1
      for (int64_t i = 0; i < k; ++i) trits[k + i] = -1;
      const std::vector<uint8_t> tr = pack_tr16(trits, nrows, k), tn_packed = pack_tn16(trits, nrows, k);
      std::vector<uint8_t> cbuf(tn_packed.size() + 64);
      uint8_t* tn = cbuf.data() + 5;  // misaligned on purpose
      std::copy(tn_packed.begin(), tn_packed.end(), tn);
      for (int64_t nt : {1, 2, 3, 4, 6}) {
        const int64_t q_stride = k_pad + 32;
        AlignedBuffer<int8_t> qbuf(static_cast<size_t>(nt * q_stride + 64));
        int8_t* q = qbuf.data() + 3;
        for (int64_t t = 0; t < nt; ++t) {
          for (int64_t i = 0; i < q_stride; ++i) q[t * q_stride + i] = i < k ? static_cast<int8_t>(act(rng)) : 0;
        }
        for (int64_t i = 0; i < k; ++i) q[i] = -128;
        const int64_t out_stride = rows_pad + 3;
        std::vector<int32_t> want(static_cast<size_t>(nt * out_stride), -7);
        ref.tr16_gemm(tr.data(), n_groups, k_pad, q, q_stride, nt, want.data(), out_stride);
        for (const KernelTable* kt : runnable_tables()) {
          std::vector<int32_t> got(want.size(), -7);
          kt->tn16_gemm(tn, n_groups, k_pad, q, q_stride, nt, got.data(), out_stride);
          ASSERT_EQ(got, want) << kt->isa << " k=" << k << " rows=" << nrows << " n_tok=" << nt;
        }
      }
      for (const KernelTable* kt : runnable_tables()) {
        std::vector<uint8_t> got(tr.size() + 64, 0xee);
        kt->tn16_to_tr16(tn, n_groups, k_pad, got.data());
        ASSERT_EQ(std::vector<uint8_t>(got.begin(), got.begin() + static_cast<int64_t>(tr.size())), tr) << kt->isa << " k=" << k;
        ASSERT_EQ(got[tr.size()], 0xee) << kt->isa << " wrote past its groups";
      }
    }
  }
}

TEST(Kernels, FloatGemmsMatchReference) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const KernelTable& ref = *kernel_table_for("ref");
  for (int64_t k : {1, 7, 16, 33, 100, 256, 259, 512, 1030}) {  // 1030: two full 512-column blocks + a partial one
   // One token takes the single-row GEMV path; 2..9 tokens the row x token tiles (4 tokens
   // per pass, then the remainder), with 9 rows leaving a row tail.
   for (int64_t nt : {1, 2, 3, 4, 5, 8, 9}) {
    const int64_t nrows = 9 + 31 * (nt % 4);  // 9, 40, 71, 102 rows: partial 64-row supergroups
    std::vector<uint16_t> wh(static_cast<size_t>(nrows * k));
    std::vector<float> wf(static_cast<size_t>(nrows * k)), x(static_cast<size_t>(nt * k));
    for (size_t i = 0; i < wh.size(); ++i) {
      wf[i] = nd(rng);
      wh[i] = f32_to_fp16(wf[i]);
    }
    for (auto& v : x) v = nd(rng);
    std::vector<uint16_t> wr4(static_cast<size_t>(f16_r4_size(nrows, k)));
    pack_f16_r4(wh.data(), nrows, k, wr4.data());
    // The reference over R4 must equal the plain definition over the row-major matrix.
    std::vector<float> want_h(static_cast<size_t>(nt * nrows)), want_f(want_h.size());
    ref.f16_gemm(wr4.data(), nrows, k, x.data(), nt, want_h.data(), nrows);
    for (int64_t t = 0; t < nt; ++t) {
      for (int64_t r = 0; r < nrows; ++r) {
        double d = 0.0;
        for (int64_t i = 0; i < k; ++i) d += static_cast<double>(fp16_to_f32(wh[static_cast<size_t>(r * k + i)])) * x[static_cast<size_t>(t * k + i)];
        ASSERT_NEAR(want_h[static_cast<size_t>(t * nrows + r)], d, 1e-4 * (1.0 + std::fabs(d))) << "ref R4 r=" << r << " t=" << t;
      }
    }
    ref.f32_gemm(wf.data(), nrows, k, x.data(), nt, want_f.data(), nrows);
    for (const KernelTable* kt : runnable_tables()) {
      std::vector<float> got_h(want_h.size()), got_f(want_f.size());
      kt->f16_gemm(wr4.data(), nrows, k, x.data(), nt, got_h.data(), nrows);
      kt->f32_gemm(wf.data(), nrows, k, x.data(), nt, got_f.data(), nrows);
      const float tol = 1e-5f * std::sqrt(static_cast<float>(k)) * 4.0f;
      for (size_t i = 0; i < want_h.size(); ++i) {
        ASSERT_NEAR(got_h[i], want_h[i], tol * (1.0f + std::fabs(want_h[i]))) << kt->isa << " k=" << k << " nt=" << nt << " i=" << i;
        ASSERT_NEAR(got_f[i], want_f[i], tol * (1.0f + std::fabs(want_f[i]))) << kt->isa << " k=" << k;
      }
    }
   }
  }
}

// Random Q8_0 / Q6_K rows in GGUF's layout: every quant, high-bit and sub-scale byte random
// (so every code and sign occurs), the fp16 block scales finite; the first block of row 0 gets
// the extreme codes (q8_0 q = -128, q6_k q = -32 with scale -128).
std::vector<uint8_t> random_quant_rows(GgmlType t, int64_t nrows, int64_t k, std::mt19937& rng) {
  const bool q8 = t == GgmlType::Q8_0;
  const int64_t elems = q8 ? kQ8_0Elems : kQ6_KElems, bytes = q8 ? kQ8_0Bytes : kQ6_KBytes;
  const int64_t d_off = q8 ? 0 : 208;
  std::vector<uint8_t> w(static_cast<size_t>(nrows * k / elems * bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
  for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
  for (int64_t blk = 0; blk < nrows * k / elems; ++blk) {
    const uint16_t d = f32_to_fp16(scale(rng));
    w[static_cast<size_t>(blk * bytes + d_off)] = static_cast<uint8_t>(d & 0xff);
    w[static_cast<size_t>(blk * bytes + d_off + 1)] = static_cast<uint8_t>(d >> 8);
  }
  if (q8) {
    for (int i = 0; i < 32; ++i) w[static_cast<size_t>(2 + i)] = 0x80;
  } else {
    for (int i = 0; i < 192; ++i) w[static_cast<size_t>(i)] = 0;  // ql = qh = 0: q - 32 = -32
    w[192] = 0x80;
  }
  EXPECT_EQ(w.size(), formats::tensor_bytes(t, nrows, k));
  return w;
}

// With one-hot activations (token t = e_t) every kernel must return each stored weight exactly,
// and those weights must be what formats::dequantize_rows (ggml's decoder) reads.
TEST(Kernels, QuantGemmsDecodeExactlyTheStoredWeights) {
  std::mt19937 rng(6);
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q6_K}) {
    const int64_t k = 512, nrows = 3;
    const std::vector<uint8_t> w = random_quant_rows(t, nrows, k, rng);
    std::vector<float> want(static_cast<size_t>(nrows * k));
    formats::dequantize_rows(t, w.data(), nrows, k, 0, nrows, want.data());
    std::vector<float> eye(static_cast<size_t>(k * k), 0.0f);
    for (int64_t i = 0; i < k; ++i) eye[static_cast<size_t>(i * k + i)] = 1.0f;
    for (const KernelTable* kt : runnable_tables()) {
      std::vector<float> got(static_cast<size_t>(k * nrows), -1.0f);  // [token i][row r]
      (t == GgmlType::Q8_0 ? kt->q8_0_gemm : kt->q6_k_gemm)(w.data(), nrows, k, eye.data(), k, got.data(), nrows);
      for (int64_t r = 0; r < nrows; ++r) {
        for (int64_t i = 0; i < k; ++i) {
          ASSERT_EQ(got[static_cast<size_t>(i * nrows + r)], want[static_cast<size_t>(r * k + i)])
              << kt->isa << " " << ggml_type_name(t) << " row " << r << " weight " << i;
        }
      }
    }
  }
}

// Random activations, batches of 1..9 tokens, misaligned weights, a wide output stride:
// float sums within a relative bound of the reference (summation order differs); the
// reference itself equals f32_gemm over the dequantized weights.
TEST(Kernels, QuantGemmsMatchReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const KernelTable& ref = *kernel_table_for("ref");
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q6_K}) {
    const bool q8 = t == GgmlType::Q8_0;
    const std::vector<int64_t> ks = q8 ? std::vector<int64_t>{32, 64, 96, 256, 2560} : std::vector<int64_t>{256, 512, 2560};
    for (int64_t k : ks) {
      const int64_t nrows = 7;
      const std::vector<uint8_t> packed = random_quant_rows(t, nrows, k, rng);
      std::vector<uint8_t> wbuf(packed.size() + 1);
      uint8_t* w = wbuf.data() + 1;  // misaligned on purpose
      std::copy(packed.begin(), packed.end(), w);
      std::vector<float> deq(static_cast<size_t>(nrows * k));
      formats::dequantize_rows(t, packed.data(), nrows, k, 0, nrows, deq.data());
      auto gemm = q8 ? &KernelTable::q8_0_gemm : &KernelTable::q6_k_gemm;
      for (int64_t nt : {1, 2, 3, 4, 5, 9}) {
        std::vector<float> x(static_cast<size_t>(nt * k));
        for (auto& v : x) v = nd(rng);
        const int64_t os = nrows + 3;
        std::vector<float> want(static_cast<size_t>(nt * os), -5.0f), via_f32(want.size(), -5.0f);
        (ref.*gemm)(w, nrows, k, x.data(), nt, want.data(), os);
        ref.f32_gemm(deq.data(), nrows, k, x.data(), nt, via_f32.data(), os);
        ASSERT_EQ(want, via_f32) << ggml_type_name(t) << " ref k=" << k;
        for (const KernelTable* kt : runnable_tables()) {
          std::vector<float> got(want.size(), -5.0f);
          (kt->*gemm)(w, nrows, k, x.data(), nt, got.data(), os);
          for (int64_t tok = 0; tok < nt; ++tok) {
            for (int64_t r = 0; r < os; ++r) {
              const size_t i = static_cast<size_t>(tok * os + r);
              if (r >= nrows) {
                ASSERT_EQ(got[i], -5.0f) << kt->isa << " wrote past its rows";
                continue;
              }
              // error bound relative to sum |w x| (cancellation can make the result tiny)
              double abs_sum = 0.0;
              for (int64_t c = 0; c < k; ++c) abs_sum += std::fabs(deq[static_cast<size_t>(r * k + c)] * x[static_cast<size_t>(tok * k + c)]);
              const double tol = 4e-7 * std::sqrt(static_cast<double>(k)) * abs_sum + 1e-30;
              ASSERT_NEAR(got[i], want[i], tol) << kt->isa << " " << ggml_type_name(t) << " k=" << k << " n_tok=" << nt
                                                << " token " << tok << " row " << r;
            }
          }
        }
      }
    }
  }
}

// The threaded head op over a quantized matrix: rows split into tasks (600 rows = 3 tasks of
// 256, the last partial) must address each task's rows at the right byte offset.
TEST(Kernels, FloatMatmulOverQuantizedMatrixMatchesDequantizedF32) {
  std::mt19937 rng(8);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  ThreadPool pool(2);
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q6_K}) {
    const int64_t rows = 600, cols = 512;
    const std::vector<uint8_t> w = random_quant_rows(t, rows, cols, rng);
    std::vector<float> deq(static_cast<size_t>(rows * cols));
    formats::dequantize_rows(t, w.data(), rows, cols, 0, rows, deq.data());
    ops::FloatMatrix mq, mf;
    mq.rows = mf.rows = rows;
    mq.cols = mf.cols = cols;
    (t == GgmlType::Q8_0 ? mq.q8_0 : mq.q6_k) = w.data();
    mf.f32 = deq.data();
    for (int64_t nt : {1, 5}) {
      std::vector<float> x(static_cast<size_t>(nt * cols));
      for (auto& v : x) v = nd(rng);
      const int64_t ys = rows + 1;
      std::vector<float> yq(static_cast<size_t>(nt * ys), -2.0f), yf(yq.size(), -2.0f);
      ops::float_matmul(pool, mq, x.data(), nt, yq.data(), ys);
      ops::float_matmul(pool, mf, x.data(), nt, yf.data(), ys);
      for (size_t i = 0; i < yq.size(); ++i) {
        ASSERT_NEAR(yq[i], yf[i], 1e-4f * (1.0f + std::fabs(yf[i]))) << ggml_type_name(t) << " n_tok=" << nt << " i=" << i;
      }
    }
  }
}

TEST(Kernels, AttentionKernelsMatchReference) {
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> ud(0.0f, 1.0f);
  const KernelTable& ref = *kernel_table_for("ref");
  for (int64_t d : {5, 16, 64, 100, 128, 130, 200}) {
    // 4 and 5: the quad blocks (AVX2: 16+ keys, d even; AVX-512: 32+ keys, d % 4 == 0); 8+ / 16+:
    // the AVX2 8-query blocks (16+ keys) and the AVX-512 16-query blocks (32+ keys)
    for (int64_t nq : {1, 3, 4, 5, 9, 16, 21, 32}) {
      for (int64_t nk : {1, 3, 4, 7, 17, 32, 45, 64}) {
        // padded strides, then packed rows as the engine passes them (key stride d: the score
        // blocks' constant-stride form at d = 128)
        for (const bool packed : {false, true}) {
          const int64_t qs = packed ? d : d + 3, ks = packed ? d : d + 5, os = packed ? nk : nk + 2;
          const int64_t vs = packed ? d : d + 1, ps = packed ? nk : nk + 1, o2 = packed ? d : d + 7;
          std::vector<float> qb(static_cast<size_t>(nq * qs + 1)), kb(static_cast<size_t>(nk * ks + 1));
          std::vector<float> vb(static_cast<size_t>(nk * vs + 1)), pb(static_cast<size_t>(nq * ps + 1));
          for (auto& v : qb) v = nd(rng);
          for (auto& v : kb) v = nd(rng);
          for (auto& v : vb) v = nd(rng);
          for (auto& v : pb) v = ud(rng);
          // +1: misaligned on purpose
          const float *q = qb.data() + 1, *k = kb.data() + 1, *v = vb.data() + 1, *p = pb.data() + 1;
          std::vector<float> want(static_cast<size_t>(nq * os), -3.0f), want_v(static_cast<size_t>(nq * o2), -3.0f);
          ref.attn_scores(q, nq, qs, k, nk, ks, d, want.data(), os);
          ref.attn_values(p, nq, ps, v, nk, vs, d, want_v.data(), o2);
          const float tol = 1e-5f * std::sqrt(static_cast<float>(d + nk)) * 4.0f;
          for (const KernelTable* kt : runnable_tables()) {
            std::vector<float> got(want.size(), -3.0f), got_v(want_v.size(), -3.0f);
            kt->attn_scores(q, nq, qs, k, nk, ks, d, got.data(), os);
            kt->attn_values(p, nq, ps, v, nk, vs, d, got_v.data(), o2);
            for (size_t i = 0; i < want.size(); ++i) {
              ASSERT_NEAR(got[i], want[i], tol * (1.0f + std::fabs(want[i]))) << kt->isa << " scores d=" << d << " nq=" << nq << " nk=" << nk << " packed=" << packed << " i=" << i;
            }
            for (size_t i = 0; i < want_v.size(); ++i) {
              ASSERT_NEAR(got_v[i], want_v[i], tol * (1.0f + std::fabs(want_v[i]))) << kt->isa << " values d=" << d << " nq=" << nq << " nk=" << nk << " packed=" << packed << " i=" << i;
            }
          }
        }
      }
    }
  }
}

// The F16 KV cache's conversions: every path gives the reference's bits (core/fp16.h: exact
// widening, round-to-nearest-even narrowing) for finite values, subnormals, overflow to inf.
TEST(Kernels, HalfConversionsMatchReferenceExactly) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const KernelTable& ref = *kernel_table_for("ref");
  for (int64_t n : {1, 7, 8, 15, 16, 17, 33, 200}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (size_t i = 0; i < x.size(); ++i) {
      const float scales[] = {1.0f, 1e-6f, 3e-8f, 70000.0f, 0.01f};
      x[i] = nd(rng) * scales[i % 5];
    }
    x[0] = 1.0f + 1.0f / 2048.0f;  // a tie between two halves: rounds to even
    std::vector<uint16_t> h_want(x.size()), h_got(x.size());
    ref.f32_to_f16(x.data(), n, h_want.data());
    std::vector<float> f_want(x.size()), f_got(x.size());
    ref.f16_to_f32(h_want.data(), n, f_want.data());
    // The reference itself, against properties rather than its own source: widening is exact
    // (narrowing it again returns the same half), and the half is the nearest one: within half
    // an ulp (2^-11 relative) for normal values, 2^-25 absolute below them, inf above 65504.
    for (int64_t i = 0; i < n; ++i) {
      const float xi = x[static_cast<size_t>(i)], fi = f_want[static_cast<size_t>(i)];
      uint16_t back = 0;
      ref.f32_to_f16(&fi, 1, &back);
      ASSERT_EQ(back, h_want[static_cast<size_t>(i)]) << xi;
      if (std::fabs(xi) >= 65520.0f) {
        ASSERT_TRUE(std::isinf(fi) && (fi > 0) == (xi > 0)) << xi;
      } else if (std::fabs(xi) >= 6.103515625e-05f) {
        ASSERT_LE(std::fabs(fi - xi), std::ldexp(std::fabs(xi), -11)) << xi;
      } else {
        ASSERT_LE(std::fabs(fi - xi), std::ldexp(1.0f, -25)) << xi;
      }
    }
    EXPECT_EQ(h_want[0], 0x3c00) << "1 + 2^-11 is a tie: even is 1.0";
    for (const KernelTable* kt : runnable_tables()) {
      kt->f32_to_f16(x.data(), n, h_got.data());
      kt->f16_to_f32(h_want.data(), n, f_got.data());
      EXPECT_EQ(h_got, h_want) << kt->isa << " n=" << n;
      EXPECT_EQ(std::memcmp(f_got.data(), f_want.data(), f_got.size() * sizeof(float)), 0) << kt->isa << " n=" << n;
    }
  }
}

TEST(Kernels, SoftmaxMatchesReference) {
  std::mt19937 rng(5);
  const KernelTable& ref = *kernel_table_for("ref");
  for (int64_t n : {1, 2, 7, 8, 15, 16, 17, 33, 100, 513}) {
    for (float spread : {0.1f, 3.0f, 40.0f}) {
      std::normal_distribution<float> nd(0.0f, spread);
      const int64_t n_total = n + 5;
      std::vector<float> x(static_cast<size_t>(n_total) + 1);
      for (auto& v : x) v = nd(rng);
      for (const KernelTable* kt : runnable_tables()) {
        std::vector<float> want(x), got(x);
        float ms[2] = {0.0f, 0.0f};
        ref.softmax(want.data() + 1, n, n_total, 0.0883883f, nullptr);  // +1: misaligned on purpose
        kt->softmax(got.data() + 1, n, n_total, 0.0883883f, ms);
        // max_sum: the scaled maximum (exact) and the sum of exp(scaled - max) before normalizing
        float mx = -INFINITY;
        for (int64_t j = 0; j < n; ++j) mx = std::fmax(mx, x[static_cast<size_t>(j + 1)] * 0.0883883f);
        double esum = 0.0;
        for (int64_t j = 0; j < n; ++j) esum += std::exp(static_cast<double>(x[static_cast<size_t>(j + 1)] * 0.0883883f) - mx);
        ASSERT_EQ(ms[0], mx) << kt->isa << " n=" << n;
        ASSERT_NEAR(ms[1], esum, 1e-5 * esum) << kt->isa << " n=" << n;
        double sum = 0.0;
        for (int64_t j = 0; j < n_total; ++j) {
          const float w = want[static_cast<size_t>(j + 1)], g = got[static_cast<size_t>(j + 1)];
          ASSERT_NEAR(g, w, 2e-6f * w + 1e-30f) << kt->isa << " n=" << n << " spread=" << spread << " j=" << j;
          if (j >= n) {
            ASSERT_EQ(g, 0.0f) << kt->isa << " masked key " << j;
          }
          sum += g;
        }
        EXPECT_NEAR(sum, 1.0, 1e-5) << kt->isa;
        EXPECT_EQ(got[0], x[0]) << kt->isa << " wrote before the row";
      }
    }
  }
}

// The element-wise kernels give the same bits on every path: same operations, same order.
TEST(Kernels, ElementwiseKernelsMatchReferenceExactly) {
  std::mt19937 rng(8);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  std::uniform_int_distribution<int32_t> sums(-300000, 300000);
  const KernelTable& ref = *kernel_table_for("ref");
  for (int64_t n : {1, 5, 8, 15, 16, 17, 31, 32, 33, 100, 2560, 6913}) {
    std::vector<int32_t> acc(static_cast<size_t>(n) + 1);
    std::vector<float> x(static_cast<size_t>(n) + 1), w(x.size()), u(x.size());
    for (auto& v : acc) v = sums(rng);
    for (auto& v : x) v = nd(rng);
    for (auto& v : w) v = nd(rng);
    for (auto& v : u) v = nd(rng);
    if (n > 3) x[3] = std::nanf("");  // a NaN gate acts as 0 (relu_sqr_mul)
    std::vector<float> xs(x);  // rms_norm input without the NaN
    if (n > 3) xs[3] = 1.5f;
    for (const KernelTable* kt : runnable_tables()) {
      // +1 offsets: misaligned on purpose; guards after n must stay untouched
      std::vector<float> want(static_cast<size_t>(n) + 3, -9.0f), got(want);
      ref.bitlinear_out(acc.data() + 1, n, 1234, 0.0123f, w.data() + 1, want.data() + 1);
      kt->bitlinear_out(acc.data() + 1, n, 1234, 0.0123f, w.data() + 1, got.data() + 1);
      ASSERT_EQ(want, got) << kt->isa << " bitlinear_out n=" << n;
      ref.rms_norm(xs.data() + 1, w.data() + 1, n, 1e-5f, want.data() + 1);
      kt->rms_norm(xs.data() + 1, w.data() + 1, n, 1e-5f, got.data() + 1);
      ASSERT_EQ(want, got) << kt->isa << " rms_norm n=" << n;
      std::vector<float> inplace(xs);  // out aliasing x
      kt->rms_norm(inplace.data() + 1, w.data() + 1, n, 1e-5f, inplace.data() + 1);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(inplace[static_cast<size_t>(i + 1)], want[static_cast<size_t>(i + 1)]) << kt->isa;
      ref.relu_sqr_mul(x.data() + 1, u.data() + 1, want.data() + 1, n);
      kt->relu_sqr_mul(x.data() + 1, u.data() + 1, got.data() + 1, n);
      ASSERT_EQ(want, got) << kt->isa << " relu_sqr_mul n=" << n;
    }
  }
  // The reference itself: the definitions in table.h.
  const std::vector<float> g = {-1.0f, 0.0f, 2.0f, std::nanf("")}, uu = {3.0f, 3.0f, 3.0f, 3.0f};
  std::vector<float> out(4);
  ref.relu_sqr_mul(g.data(), uu.data(), out.data(), 4);
  EXPECT_EQ(out, (std::vector<float>{0.0f, 0.0f, 12.0f, 0.0f}));
  const std::vector<int32_t> a = {10, -6};
  const std::vector<float> rs = {0.5f, 2.0f};
  ref.bitlinear_out(a.data(), 2, 2, 0.25f, rs.data(), out.data());
  EXPECT_EQ(out[0], 1.0f);   // (10 - 2) * 0.25 * 0.5
  EXPECT_EQ(out[1], -4.0f);  // (-6 - 2) * 0.25 * 2
  const std::vector<float> xv = {3.0f, 4.0f}, ones = {1.0f, 1.0f};
  ref.rms_norm(xv.data(), ones.data(), 2, 0.0f, out.data());  // rms = sqrt(12.5)
  EXPECT_NEAR(out[0], 3.0f / std::sqrt(12.5f), 1e-6f);
  EXPECT_NEAR(out[1], 4.0f / std::sqrt(12.5f), 1e-6f);
}

TEST(Kernels, ForcingAnIsaWorksAndUnknownIsRejected) {
  const char* before = kernels().isa;
  set_kernel_isa("ref");
  EXPECT_STREQ(kernels().isa, "ref");
  EXPECT_THROW(set_kernel_isa("sparc"), Error);
  set_kernel_isa(before);
  EXPECT_STREQ(kernels().isa, before);
}

}  // namespace
}  // namespace tern
