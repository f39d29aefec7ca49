// NEON kernel parity, cross-built for AArch64 and run under qemu-aarch64 by
// run_neon_parity.sh (a CTest test). Standalone (no gtest: the host's gtest is not built for
// AArch64): the NEON table against the scalar reference, exactly for the integer kernels, over
// odd sizes, misaligned pointers and strides. Exit status 0 = all equal.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "core/cpu.h"
#include "core/fp16.h"
#include "kernels/table.h"

namespace tern::neon {
const KernelTable& table();
}

namespace {

using tern::KernelTable;
int g_failures = 0;

void check(bool ok, const char* what, long long a, long long b, long long c) {
  if (ok) return;
  if (++g_failures <= 20) std::printf("neon FAIL %s (%lld, %lld, %lld)\n", what, a, b, c);
}

std::vector<uint8_t> pack_tr16(const std::vector<int8_t>& trits, int64_t nrows, int64_t k) {
  const int64_t k_pad = tern::round_up_k(k), rows_pad = tern::round_up_rows(nrows);
  std::vector<uint8_t> out(static_cast<size_t>(rows_pad * k_pad / 4));
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

void test_quantize(const KernelTable& ref, const KernelTable& kt) {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (int64_t n = 1; n <= 4 * 16 + 3; ++n) {
    for (int mis = 0; mis < 2; ++mis) {
      std::vector<float> xb(static_cast<size_t>(n + 1));
      float* x = xb.data() + mis;
      for (int64_t i = 0; i < n; ++i) x[i] = nd(rng);
      if (n > 3) {
        x[0] = 10.0f;
        x[1] = 0.5f * 10.0f / 127.0f;  // a tie: round half to even
      }
      const int64_t n_pad = tern::round_up_k(n);
      std::vector<int8_t> q1(static_cast<size_t>(n_pad + 1), 7), q2(q1.size(), 9);
      float s1 = 0, s2 = 0;
      int32_t c1 = 0, c2 = 0;
      ref.quantize_act(x, n, n_pad, q1.data(), &s1, &c1);
      kt.quantize_act(x, n, n_pad, q2.data() + mis, &s2, &c2);
      check(s1 == s2 && c1 == c2, "quantize_act scale/sum", n, mis, 0);
      for (int64_t i = 0; i < n_pad; ++i) check(q1[i] == q2[i + mis], "quantize_act q", n, mis, i);
    }
  }
}

void test_tr16(const KernelTable& ref, const KernelTable& kt) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> trit(-1, 1), act(-128, 127);
  for (int64_t k : {1, 5, 128, 129, 384, 1000, 2560}) {
    const int64_t k_pad = tern::round_up_k(k);
    for (int64_t nrows : {7, 16, 33}) {
      const int64_t rows_pad = tern::round_up_rows(nrows);
      std::vector<int8_t> trits(static_cast<size_t>(nrows * k));
      for (auto& t : trits) t = static_cast<int8_t>(trit(rng));
      for (int64_t i = 0; i < k; ++i) trits[static_cast<size_t>(i)] = 1;  // row 0: the largest codes
      const std::vector<uint8_t> packed = pack_tr16(trits, nrows, k);
      std::vector<uint8_t> cbuf(packed.size() + 64);
      uint8_t* codes = cbuf.data() + 3;
      std::copy(packed.begin(), packed.end(), codes);
      for (int64_t nt : {1, 2, 3, 4, 5, 9}) {
        const int64_t qs = k_pad + 16, os = rows_pad + 5;
        std::vector<int8_t> qb(static_cast<size_t>(nt * qs + 64));
        int8_t* q = qb.data() + 1;
        for (int64_t i = 0; i < nt * qs; ++i) q[i] = (i % qs) < k ? static_cast<int8_t>(act(rng)) : 0;
        for (int64_t i = 0; i < k; ++i) q[i] = -128;  // token 0: the largest products (int16 sums)
        for (int64_t i = 0; i < k; ++i) q[i] = -128;
        std::vector<int32_t> want(static_cast<size_t>(nt * os), -7), got(want.size(), -7);
        ref.tr16_gemm(codes, rows_pad / 16, k_pad, q, qs, nt, want.data(), os);
        kt.tr16_gemm(codes, rows_pad / 16, k_pad, q, qs, nt, got.data(), os);
        for (size_t i = 0; i < want.size(); ++i) check(want[i] == got[i], "tr16_gemm", k, nrows, nt);
      }
    }
  }
}

// tr16_bitlinear, plain and GLU (relu_sqr, silu), with an n_out tail: bit-identical.
void test_bitlinear(const KernelTable& ref, const KernelTable& kt) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> trit(-1, 1), act(-128, 127);
  std::uniform_real_distribution<float> pos(0.01f, 2.0f);
  const int64_t k = 300, k_pad = tern::round_up_k(k), n_groups = 4, rows = 64;
  std::vector<int8_t> trits(static_cast<size_t>(rows * k));
  for (auto& t : trits) t = static_cast<int8_t>(trit(rng));
  const std::vector<uint8_t> codes = pack_tr16(trits, rows, k);
  std::vector<float> rs(static_cast<size_t>(rows));
  for (auto& r : rs) r = pos(rng);
  for (int64_t nt : {1, 3, 4, 5, 9}) {
    const int64_t qs = k_pad + 16;
    std::vector<int8_t> q(static_cast<size_t>(nt * qs), 0);
    std::vector<int32_t> qsum(static_cast<size_t>(nt), 0);
    std::vector<float> inv(static_cast<size_t>(nt));
    for (int64_t t = 0; t < nt; ++t) {
      for (int64_t i = 0; i < k; ++i) {
        q[static_cast<size_t>(t * qs + i)] = static_cast<int8_t>(act(rng));
        qsum[static_cast<size_t>(t)] += q[static_cast<size_t>(t * qs + i)];
      }
      inv[static_cast<size_t>(t)] = pos(rng) / 127.0f;
    }
    for (int a = 0; a < 3; ++a) {
      tern::TrEpilogue ep;
      ep.qsum = qsum.data();
      ep.inv_scale = inv.data();
      ep.row_scale = rs.data();
      ep.act = static_cast<tern::TrAct>(a);
      ep.n_out = (a == 0 ? rows : rows / 2) - 3;
      const int64_t ys = rows + 5;
      std::vector<float> want(static_cast<size_t>(nt * ys), -3.5f), got(want.size(), -3.5f);
      ref.tr16_bitlinear(codes.data(), n_groups, k_pad, q.data(), qs, nt, ep, want.data(), ys);
      kt.tr16_bitlinear(codes.data(), n_groups, k_pad, q.data(), qs, nt, ep, got.data(), ys);
      for (size_t i = 0; i < want.size(); ++i) check(want[i] == got[i], "tr16_bitlinear", nt, a, static_cast<long long>(i));
    }
  }
}

void test_half(const KernelTable& ref, const KernelTable& kt) {
  std::mt19937 rng(8);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t n : {1, 5, 8, 37}) {
    std::vector<float> x(static_cast<size_t>(n)), fa(x.size()), fb(x.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = nd(rng) * (i % 3 == 0 ? 1e-6f : i % 3 == 1 ? 1.0f : 70000.0f);
    std::vector<uint16_t> ha(x.size()), hb(x.size());
    ref.f32_to_f16(x.data(), n, ha.data());
    kt.f32_to_f16(x.data(), n, hb.data());
    ref.f16_to_f32(ha.data(), n, fa.data());
    kt.f16_to_f32(ha.data(), n, fb.data());
    for (size_t i = 0; i < x.size(); ++i) {
      check(ha[i] == hb[i], "f32_to_f16", n, static_cast<long long>(i), 0);
      check(fa[i] == fb[i], "f16_to_f32", n, static_cast<long long>(i), 0);
    }
  }
}

void test_float(const KernelTable& ref, const KernelTable& kt) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t k : {1, 7, 16, 33, 259}) {
    const int64_t nrows = 5, nt = 2;
    std::vector<uint16_t> wh(static_cast<size_t>(nrows * k));
    std::vector<float> wf(wh.size()), x(static_cast<size_t>(nt * k));
    for (size_t i = 0; i < wh.size(); ++i) {
      wf[i] = nd(rng);
      wh[i] = tern::f32_to_fp16(wf[i]);
    }
    for (auto& v : x) v = nd(rng);
    std::vector<float> a(static_cast<size_t>(nrows * nt)), b(a.size()), c(a.size()), d(a.size());
    std::vector<uint16_t> wr4(static_cast<size_t>(tern::f16_r4_size(nrows, k)));
    tern::pack_f16_r4(wh.data(), nrows, k, wr4.data());
    ref.f16_gemm(wr4.data(), nrows, k, x.data(), nt, a.data(), nrows);
    kt.f16_gemm(wr4.data(), nrows, k, x.data(), nt, b.data(), nrows);
    ref.f32_gemm(wf.data(), nrows, k, x.data(), nt, c.data(), nrows);
    kt.f32_gemm(wf.data(), nrows, k, x.data(), nt, d.data(), nrows);
    const float tol = 4e-5f * std::sqrt(static_cast<float>(k));
    for (size_t i = 0; i < a.size(); ++i) {
      check(std::fabs(a[i] - b[i]) <= tol * (1 + std::fabs(a[i])), "f16_gemm", k, static_cast<long long>(i), 0);
      check(std::fabs(c[i] - d[i]) <= tol * (1 + std::fabs(c[i])), "f32_gemm", k, static_cast<long long>(i), 0);
    }
    // attention: 5 queries against 2 rows of keys/values (the rows of wf as keys)
    std::vector<float> s1(10), s2(10), o1(static_cast<size_t>(5 * k)), o2(o1.size());
    ref.attn_scores(x.data(), 2, k, wf.data(), 5, k, k, s1.data(), 5);
    kt.attn_scores(x.data(), 2, k, wf.data(), 5, k, k, s2.data(), 5);
    for (size_t i = 0; i < s1.size(); ++i) check(std::fabs(s1[i] - s2[i]) <= tol * (1 + std::fabs(s1[i])), "attn_scores", k, static_cast<long long>(i), 0);
    ref.attn_values(s1.data(), 2, 5, wf.data(), 5, k, k, o1.data(), k);
    kt.attn_values(s1.data(), 2, 5, wf.data(), 5, k, k, o2.data(), k);
    for (int64_t i = 0; i < 2 * k; ++i) check(std::fabs(o1[i] - o2[i]) <= tol * (1 + std::fabs(o1[i])), "attn_values", k, i, 0);
  }
}

void test_softmax(const KernelTable& ref, const KernelTable& kt) {
  std::mt19937 rng(6);
  std::normal_distribution<float> nd(0.0f, 20.0f);
  for (int64_t n : {1, 3, 4, 9, 64, 301}) {
    std::vector<float> a(static_cast<size_t>(n + 3)), b;
    for (auto& v : a) v = nd(rng);
    b = a;
    float ma[2] = {0, 0}, mb[2] = {0, 0};
    ref.softmax(a.data(), n, n + 3, 0.0883883f, ma);
    kt.softmax(b.data(), n, n + 3, 0.0883883f, mb);
    check(ma[0] == mb[0] && std::fabs(ma[1] - mb[1]) <= 1e-5f * ma[1], "softmax max_sum", n, 0, 0);
    for (int64_t i = 0; i < n + 3; ++i) {
      const float w = a[static_cast<size_t>(i)], g = b[static_cast<size_t>(i)];
      check(std::fabs(w - g) <= 2e-6f * w + 1e-30f && (i < n || g == 0.0f), "softmax", n, i, 0);
    }
  }
}

void test_elementwise(const KernelTable& ref, const KernelTable& kt) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  std::uniform_int_distribution<int32_t> sums(-300000, 300000);
  for (int64_t n : {1, 5, 8, 17, 33, 2560, 6913}) {
    std::vector<int32_t> acc(static_cast<size_t>(n) + 1);
    std::vector<float> x(static_cast<size_t>(n) + 1), w(x.size()), u(x.size());
    for (auto& v : acc) v = sums(rng);
    for (auto& v : x) v = nd(rng);
    for (auto& v : w) v = nd(rng);
    for (auto& v : u) v = nd(rng);
    std::vector<float> a(static_cast<size_t>(n) + 2, -9.0f), b(a);
    ref.bitlinear_out(acc.data() + 1, n, 77, 0.0123f, w.data() + 1, a.data() + 1);
    kt.bitlinear_out(acc.data() + 1, n, 77, 0.0123f, w.data() + 1, b.data() + 1);
    for (size_t i = 0; i < a.size(); ++i) check(a[i] == b[i], "bitlinear_out", n, static_cast<long long>(i), 0);
    ref.rms_norm(x.data() + 1, w.data() + 1, n, 1e-5f, a.data() + 1);
    kt.rms_norm(x.data() + 1, w.data() + 1, n, 1e-5f, b.data() + 1);
    for (size_t i = 0; i < a.size(); ++i) check(a[i] == b[i], "rms_norm", n, static_cast<long long>(i), 0);
    if (n > 3) x[3] = std::nanf("");
    ref.relu_sqr_mul(x.data() + 1, u.data() + 1, a.data() + 1, n);
    kt.relu_sqr_mul(x.data() + 1, u.data() + 1, b.data() + 1, n);
    for (size_t i = 0; i < a.size(); ++i) check(a[i] == b[i], "relu_sqr_mul", n, static_cast<long long>(i), 0);
  }
}

// Q8_0 / Q6_K rows with random bytes and finite fp16 scales (kernels/table.h layouts).
std::vector<uint8_t> random_quant_rows(bool q8, int64_t nrows, int64_t k, std::mt19937& rng) {
  const int64_t elems = q8 ? tern::kQ8_0Elems : tern::kQ6_KElems, bytes = q8 ? tern::kQ8_0Bytes : tern::kQ6_KBytes;
  const int64_t d_off = q8 ? 0 : 208;
  std::vector<uint8_t> w(static_cast<size_t>(nrows * k / elems * bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
  for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
  for (int64_t blk = 0; blk < nrows * k / elems; ++blk) {
    const uint16_t d = tern::f32_to_fp16(scale(rng));
    w[static_cast<size_t>(blk * bytes + d_off)] = static_cast<uint8_t>(d & 0xff);
    w[static_cast<size_t>(blk * bytes + d_off + 1)] = static_cast<uint8_t>(d >> 8);
  }
  return w;
}

void test_quant(const KernelTable& ref, const KernelTable& kt) {
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (bool q8 : {true, false}) {
    auto gemm = q8 ? &KernelTable::q8_0_gemm : &KernelTable::q6_k_gemm;
    const char* what = q8 ? "q8_0_gemm" : "q6_k_gemm";
    for (int64_t k : {256, 512, 768}) {
      const int64_t nrows = 5;
      const std::vector<uint8_t> packed = random_quant_rows(q8, nrows, k, rng);
      std::vector<uint8_t> wbuf(packed.size() + 1);
      uint8_t* w = wbuf.data() + 1;  // misaligned on purpose
      std::copy(packed.begin(), packed.end(), w);
      // one-hot activations: every stored weight exactly, as the reference decodes it
      {
        std::vector<float> eye(static_cast<size_t>(k * k), 0.0f);
        for (int64_t i = 0; i < k; ++i) eye[static_cast<size_t>(i * k + i)] = 1.0f;
        std::vector<float> a(static_cast<size_t>(k * nrows)), b(a.size());
        (ref.*gemm)(w, nrows, k, eye.data(), k, a.data(), nrows);
        (kt.*gemm)(w, nrows, k, eye.data(), k, b.data(), nrows);
        for (size_t i = 0; i < a.size(); ++i) check(a[i] == b[i], what, k, static_cast<long long>(i), -1);
      }
      for (int64_t nt : {1, 2, 3, 4, 5, 9}) {
        std::vector<float> x(static_cast<size_t>(nt * k));
        for (auto& v : x) v = nd(rng);
        const int64_t os = nrows + 3;
        std::vector<float> a(static_cast<size_t>(nt * os), -5.0f), b(a.size(), -5.0f);
        (ref.*gemm)(w, nrows, k, x.data(), nt, a.data(), os);
        (kt.*gemm)(w, nrows, k, x.data(), nt, b.data(), os);
        const float tol = 4e-5f * std::sqrt(static_cast<float>(k));
        for (size_t i = 0; i < a.size(); ++i) check(std::fabs(a[i] - b[i]) <= tol * (1 + std::fabs(a[i])), what, k, nt, static_cast<long long>(i));
      }
    }
  }
}

}  // namespace

int main() {
  const KernelTable& ref = tern::ref::table();
  const KernelTable& kt = tern::neon::table();
  std::printf("neon parity: dot-product extension %s\n", tern::cpu_features().dotprod ? "present (sdot GEMM)" : "absent (smull GEMM)");
  test_quantize(ref, kt);
  test_tr16(ref, kt);
  test_bitlinear(ref, kt);
  test_half(ref, kt);
  test_float(ref, kt);
  test_softmax(ref, kt);
  test_elementwise(ref, kt);
  test_quant(ref, kt);
  if (g_failures) {
    std::printf("neon parity: %d mismatches against the reference\n", g_failures);
    return 1;
  }
  std::printf("neon parity: all kernels match the reference\n");
  return 0;
}
