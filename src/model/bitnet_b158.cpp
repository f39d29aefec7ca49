// The BitNet b1.58 forward pass (microsoft/BitNet-b1.58-2B-4T; modeling_bitnet.py), one
// straight line per layer:
//   x = attn_norm(h); q,k,v = BitLinear(x); rope(q,k); a = attention(q, K, V)
//   a = attn_sub_norm(a); h += BitLinear_o(a)
//   x = ffn_norm(h); g,u = BitLinear(x); m = act(g) * u; m = ffn_sub_norm(m); h += BitLinear_down(m)
//   logits = head(output_norm(h))
// BitLinear = per-token int8 absmax quantization, exact int32 ternary sum, * weight scale / s.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/phase_profile.h"
#include "kernels/table.h"
#include "model/model.h"

namespace tern {
namespace {

// TERN_PROFILE=1: the pass's wall time by phase (core/phase_profile.h), prompts and decoding apart.
enum Phase : size_t { kSetup, kQkv, kRopeKv, kAttention, kAttnSubNorm, kWo, kAddFfnNorm, kGateUp, kFfnSubNorm, kDown, kAddAttnNorm, kOutput };
PhaseProfile& profile_for(int64_t n_tok) {
  static const std::initializer_list<const char*> names = {
      "setup", "qkv", "rope+kv", "attention", "attn_sub_norm", "wo", "add+ffn_norm", "gate_up", "ffn_sub_norm", "down",
      "add+attn_norm", "output"};
  static PhaseProfile prompt("forward passes of 2+ tokens (prompts, batches)", names);
  static PhaseProfile decode("forward passes of 1 token (decoding)", names);
  return n_tok > 1 ? prompt : decode;
}

void grow(AlignedBuffer<float>& b, int64_t n) {
  if (b.size() < static_cast<size_t>(n)) b.resize(static_cast<size_t>(n));
}

// Copies a column slice [col0, col0 + dim) of a [n, stride] matrix for the dump hook.
void dump_slice(const DumpFn* dump, const char* name, int layer, const float* base, int64_t n,
                int64_t stride, int64_t col0, int64_t dim) {
  if (!dump) return;
  std::vector<float> tmp(static_cast<size_t>(n * dim));
  for (int64_t t = 0; t < n; ++t) std::copy_n(base + t * stride + col0, dim, tmp.data() + t * dim);
  (*dump)(name, layer, tmp.data(), dim, n);
}

}  // namespace

void Model::forward(ThreadPool& pool, KvCache& kv, const Batch& batch, ForwardScratch& s,
                    std::vector<float>& logits, const DumpFn* dump) const {
  const ModelConfig& c = cfg_;
  const int64_t n = batch.size();
  if (n == 0) {
    logits.clear();
    return;
  }
  const int64_t D = c.n_embd, qd = c.q_dim(), kvd = c.kv_dim(), F = c.n_ff, hd = c.head_dim;
  TERN_ASSERT(kv.kv_dim() == kvd);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t tok = batch.tokens[i];
    if (tok < 0 || tok >= c.n_vocab) fail("token id ", tok, " is outside the vocabulary (0..", c.n_vocab - 1, ")");
    if (batch.seq[i] < 0 || batch.seq[i] >= kv.n_seq()) fail("sequence ", batch.seq[i], " has no cache slot");
    if (batch.pos[i] < 0 || batch.pos[i] >= kv.n_ctx()) {
      fail("context full: position ", batch.pos[i], " does not fit the context of ", kv.n_ctx(),
           " tokens; raise --ctx-size (-c) or shorten the prompt / -n");
    }
  }
  PhaseProfile::Clock clock(profile_for(n));
  const KernelTable& kt = kernels();
  grow(s.h, n * D);
  grow(s.x, n * std::max(D, F));
  grow(s.qkv, n * (qd + 2 * kvd));
  grow(s.attn, n * qd);
  grow(s.ffn, n * D);
  // Attention tiles: runs of consecutive batch entries of one sequence, at most kAttTile long.
  constexpr int64_t kAttTile = 8;
  std::vector<int64_t> att_tiles;  // tile t is [att_tiles[t], att_tiles[t + 1])
  for (int64_t i = 0; i < n; ++i) {
    if (i == 0 || batch.seq[i] != batch.seq[i - 1] || i - att_tiles.back() == kAttTile) att_tiles.push_back(i);
  }
  const int64_t n_att_tiles = static_cast<int64_t>(att_tiles.size());
  att_tiles.push_back(n);
  const int64_t group = c.n_head / c.n_head_kv;
  // Attention tasks: (tile, KV head, key range). A lone token (decode) over a long context is
  // split into key chunks, each with its own softmax, merged afterwards (att_merge): otherwise
  // decode at depth has only n_head_kv tasks, each streaming a long K and V on one thread. The
  // split depends only on the position, never on the thread count.
  constexpr int64_t kAttChunk = 256, kAttSplitFrom = 2 * kAttChunk;
  struct AttTask {
    int64_t tile, kvh, j0, j1, part;  // part >= 0: slot of a key chunk's partial result
  };
  struct AttSplit {
    int64_t tile, part0, n_parts;
  };
  std::vector<AttTask> att_tasks;
  std::vector<AttSplit> att_splits;
  std::vector<double> weights;  // the merge's per-chunk weights: sum_c * exp(max_c - max)
  int64_t n_parts = 0;
  for (int64_t t = 0; t < n_att_tiles; ++t) {
    const int64_t i0 = att_tiles[static_cast<size_t>(t)], i1 = att_tiles[static_cast<size_t>(t) + 1];
    int64_t nk = 0;
    for (int64_t i = i0; i < i1; ++i) nk = std::max<int64_t>(nk, batch.pos[i] + 1);
    if (i1 - i0 == 1 && nk > kAttSplitFrom) {
      const int64_t chunks = (nk + kAttChunk - 1) / kAttChunk;
      att_splits.push_back({t, n_parts, chunks});
      for (int64_t ch = 0; ch < chunks; ++ch) {
        for (int64_t kvh = 0; kvh < c.n_head_kv; ++kvh) {
          att_tasks.push_back({t, kvh, ch * kAttChunk, std::min(nk, (ch + 1) * kAttChunk), (n_parts + ch) * c.n_head_kv + kvh});
        }
      }
      n_parts += chunks;
    } else {
      for (int64_t kvh = 0; kvh < c.n_head_kv; ++kvh) att_tasks.push_back({t, kvh, 0, nk, -1});
    }
  }
  // Longest first (work ~ queries x keys), so the join waits on a short task.
  std::stable_sort(att_tasks.begin(), att_tasks.end(), [&](const AttTask& a, const AttTask& b) {
    auto work = [&](const AttTask& x) {
      return (att_tiles[static_cast<size_t>(x.tile) + 1] - att_tiles[static_cast<size_t>(x.tile)]) * (x.j1 - x.j0);
    };
    return work(a) > work(b);
  });
  const int64_t part_floats = group * (hd + 2);  // per (chunk, KV head): outputs [group][hd], then (max, sum) per row
  grow(s.att_parts, n_parts * c.n_head_kv * part_floats);
  if (static_cast<int>(s.att_scores.size()) < pool.n_threads()) s.att_scores.resize(static_cast<size_t>(pool.n_threads()));
  const int64_t att_rows = kAttTile * (c.n_head / c.n_head_kv);
  for (auto& b : s.att_scores) grow(b, att_rows * (2 * hd + kv.n_ctx()));
  const bool kv_f16 = kv.type() == KvType::kF16;
  if (kv_f16) {
    if (static_cast<int>(s.att_kv.size()) < pool.n_threads()) s.att_kv.resize(static_cast<size_t>(pool.n_threads()));
    for (auto& b : s.att_kv) grow(b, 2 * kv.n_ctx() * hd);
  }

  float* h = s.h.data();
  for (int64_t i = 0; i < n; ++i) embed(batch.tokens[i], h + i * D);
  // RoPE angles depend only on the position: once per token, not per layer and per q/k.
  grow(s.rope, n * c.rope_dim);
  for (int64_t i = 0; i < n; ++i) ops::rope_angles(batch.pos[i], c.rope_dim, c.rope_theta, s.rope.data() + i * c.rope_dim);
  // Per-token element-wise work (norms, rope, activation) runs on the pool during prefill, so
  // it does not leave the other threads idle; a single token runs inline.
  auto per_token = [&](auto&& fn) {
    if (n < 2) {
      for (int64_t i = 0; i < n; ++i) fn(i);
    } else {
      pool.parallel_for(n, [&](int64_t i, int) { fn(i); });
    }
  };

  const int64_t qkv_w = qd + 2 * kvd;
  const float att_scale = 1.0f / std::sqrt(static_cast<float>(hd));

  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = layers_[static_cast<size_t>(l)];
    const int li = static_cast<int>(l);
    // --- attention block ---
    float* x = s.x.data();
    // Each norm's output is quantized for the next matmul as soon as the token's row is
    // written (still in L1), not in a separate pass over all tokens.
    if (l == 0) {
      ops::prepare_acts(n, D, s.qa);
      per_token([&](int64_t i) {
        ops::rms_norm(h + i * D, L.attn_norm.data(), D, c.rms_eps, x + i * D);
        ops::quantize_act_row(x + i * D, i, s.qa);
      });
    }
    // (later layers: fused into the previous layer's last residual add)
    if (l == 0) clock.mark(kSetup);
    dump_slice(dump, "attn_norm", li, x, n, D, 0, D);
    float* qkv = s.qkv.data();
    ops::ternary_matmul(pool, L.wqkv, s.qa, qkv, qkv_w);
    clock.mark(kQkv);
    dump_slice(dump, "q_proj", li, qkv, n, qkv_w, 0, qd);
    dump_slice(dump, "k_proj", li, qkv, n, qkv_w, qd, kvd);
    dump_slice(dump, "v_proj", li, qkv, n, qkv_w, qd + kvd, kvd);
    per_token([&](int64_t i) {
      float* row = qkv + i * qkv_w;
      const float* cs = s.rope.data() + i * c.rope_dim;
      ops::rope_apply(row, c.n_head, hd, c.rope_dim, cs);
      ops::rope_apply(row + qd, c.n_head_kv, hd, c.rope_dim, cs);
      for (int64_t kh = 0; kh < c.n_head_kv; ++kh) {
        if (kv_f16) {
          kt.f32_to_f16(row + qd + kh * hd, hd, kv.k16(l, batch.seq[i], kh, batch.pos[i]));
          kt.f32_to_f16(row + qd + kvd + kh * hd, hd, kv.v16(l, batch.seq[i], kh, batch.pos[i]));
        } else {
          std::copy_n(row + qd + kh * hd, hd, kv.k(l, batch.seq[i], kh, batch.pos[i]));
          std::copy_n(row + qd + kvd + kh * hd, hd, kv.v(l, batch.seq[i], kh, batch.pos[i]));
        }
      }
    });
    clock.mark(kRopeKv);
    // Attention, one task per (tile of up to kAttTile consecutive tokens of one sequence, KV
    // head, key range): the tile's queries of every head sharing that KV head (GQA) are scored
    // against the keys together, so each key and value row is read once per tile, not once per
    // query.
    float* attn = s.attn.data();
    pool.parallel_for(static_cast<int64_t>(att_tasks.size()), [&](int64_t task, int worker) {
      const AttTask& at = att_tasks[static_cast<size_t>(task)];
      const int64_t kvh = at.kvh, j0 = at.j0, nk = at.j1 - at.j0;
      const int64_t i0 = att_tiles[static_cast<size_t>(at.tile)], i1 = att_tiles[static_cast<size_t>(at.tile) + 1];
      const int64_t rows = (i1 - i0) * group, seq = batch.seq[i0];
      float* qbuf = s.att_scores[static_cast<size_t>(worker)].data();  // [rows, hd]
      float* obuf = qbuf + kAttTile * group * hd;                       // [rows, hd]
      float* sc = obuf + kAttTile * group * hd;                         // [rows, nk]
      for (int64_t i = i0; i < i1; ++i) {
        std::copy_n(qkv + i * qkv_w + kvh * group * hd, group * hd, qbuf + (i - i0) * group * hd);
      }
      // The task's keys and values [j0, j0 + nk) as floats: in place from an F32 cache, widened
      // into the worker's scratch from an F16 one.
      const float *kp, *vp;
      if (kv_f16) {
        float* wide = s.att_kv[static_cast<size_t>(worker)].data();
        kt.f16_to_f32(kv.k16(l, seq, kvh, j0), nk * hd, wide);
        kt.f16_to_f32(kv.v16(l, seq, kvh, j0), nk * hd, wide + nk * hd);
        kp = wide;
        vp = wide + nk * hd;
      } else {
        kp = kv.k(l, seq, kvh, j0);
        vp = kv.v(l, seq, kvh, j0);
      }
      kt.attn_scores(qbuf, rows, hd, kp, nk, hd, hd, sc, nk);
      if (at.part >= 0) {
        // A key chunk of a lone token (every key is at or before its position): the chunk's
        // softmax and weighted values, with each row's (max, sum) for the merge below.
        float* part = s.att_parts.data() + at.part * part_floats;
        for (int64_t r = 0; r < rows; ++r) kt.softmax(sc + r * nk, nk, nk, att_scale, part + rows * hd + 2 * r);
        kt.attn_values(sc, rows, nk, vp, nk, hd, hd, part, hd);
        return;
      }
      // Causal: keys after a query's own position (later tokens of the tile) get weight 0.
      for (int64_t r = 0; r < rows; ++r) kt.softmax(sc + r * nk, batch.pos[i0 + r / group] + 1, nk, att_scale, nullptr);
      kt.attn_values(sc, rows, nk, vp, nk, hd, hd, obuf, hd);
      for (int64_t i = i0; i < i1; ++i) {
        std::copy_n(obuf + (i - i0) * group * hd, group * hd, attn + i * qd + kvh * group * hd);
      }
    });
    // Merge the key chunks of split tiles: softmax over all keys = each chunk's normalized
    // result weighted by sum_c * exp(max_c - max) / sum over chunks of the same.
    for (const AttSplit& sp : att_splits) {
      const int64_t i0 = att_tiles[static_cast<size_t>(sp.tile)];
      for (int64_t kvh = 0; kvh < c.n_head_kv; ++kvh) {
        for (int64_t r = 0; r < group; ++r) {
          auto chunk = [&](int64_t ch) { return s.att_parts.data() + ((sp.part0 + ch) * c.n_head_kv + kvh) * part_floats; };
          float mx = -INFINITY;
          for (int64_t ch = 0; ch < sp.n_parts; ++ch) mx = std::max(mx, chunk(ch)[group * hd + 2 * r]);
          weights.resize(static_cast<size_t>(sp.n_parts));
          double den = 0.0;
          for (int64_t ch = 0; ch < sp.n_parts; ++ch) {
            const float* st = chunk(ch) + group * hd + 2 * r;
            weights[static_cast<size_t>(ch)] = static_cast<double>(st[1]) * std::exp(static_cast<double>(st[0] - mx));
            den += weights[static_cast<size_t>(ch)];
          }
          float* out = attn + i0 * qd + (kvh * group + r) * hd;
          std::fill_n(out, hd, 0.0f);
          for (int64_t ch = 0; ch < sp.n_parts; ++ch) {
            const float w = static_cast<float>(weights[static_cast<size_t>(ch)] / den);
            const float* o = chunk(ch) + r * hd;
            for (int64_t d = 0; d < hd; ++d) out[d] += w * o[d];
          }
        }
      }
    }
    clock.mark(kAttention);
    if (L.attn_sub_norm.size()) {
      ops::prepare_acts(n, qd, s.qa);
      per_token([&](int64_t i) {
        ops::rms_norm(attn + i * qd, L.attn_sub_norm.data(), qd, c.rms_eps, attn + i * qd);
        ops::quantize_act_row(attn + i * qd, i, s.qa);
      });
      dump_slice(dump, "attn_sub_norm", li, attn, n, qd, 0, qd);
    } else {
      ops::quantize_acts(pool, attn, n, qd, s.qa);
    }
    clock.mark(kAttnSubNorm);
    float* o = s.ffn.data();
    ops::ternary_matmul(pool, L.wo, s.qa, o, D);
    clock.mark(kWo);
    dump_slice(dump, "attn_out", li, o, n, D, 0, D);
    // --- feed-forward block ---
    ops::prepare_acts(n, D, s.qa);
    per_token([&](int64_t i) {
      float* hi = h + i * D;
      const float* oi = o + i * D;
      for (int64_t j = 0; j < D; ++j) hi[j] += oi[j];
      ops::rms_norm(hi, L.ffn_norm.data(), D, c.rms_eps, x + i * D);
      ops::quantize_act_row(x + i * D, i, s.qa);
    });
    clock.mark(kAddFfnNorm);
    dump_slice(dump, "ffn_norm", li, x, n, D, 0, D);
    // gate|up product with the activation applied in its epilogue: m = act(gate) * up.
    float* m = x;  // reuse: [n, F]
    ops::ternary_matmul_glu(pool, L.wgate_up, s.qa, c.act == FfnActivation::kReluSqr ? TrAct::kReluSqr : TrAct::kSilu,
                            F, m, F);
    clock.mark(kGateUp);
    ops::prepare_acts(n, F, s.qa);
    per_token([&](int64_t i) {
      float* mi = m + i * F;
      if (L.ffn_sub_norm.size()) ops::rms_norm(mi, L.ffn_sub_norm.data(), F, c.rms_eps, mi);
      ops::quantize_act_row(mi, i, s.qa);
    });
    if (L.ffn_sub_norm.size()) dump_slice(dump, "ffn_sub_norm", li, m, n, F, 0, F);
    clock.mark(kFfnSubNorm);
    ops::ternary_matmul(pool, L.wdown, s.qa, o, D);
    clock.mark(kDown);
    dump_slice(dump, "ffn_out", li, o, n, D, 0, D);
    const LayerWeights* next = l + 1 < c.n_layer ? &layers_[static_cast<size_t>(l + 1)] : nullptr;
    if (next) ops::prepare_acts(n, D, s.qa);  // the down matmul above has consumed s.qa
    per_token([&](int64_t i) {
      float* hi = h + i * D;
      const float* oi = o + i * D;
      for (int64_t j = 0; j < D; ++j) hi[j] += oi[j];
      if (next) {
        ops::rms_norm(hi, next->attn_norm.data(), D, c.rms_eps, x + i * D);
        ops::quantize_act_row(x + i * D, i, s.qa);
      }
    });
    clock.mark(kAddAttnNorm);
    dump_slice(dump, "h", li, h, n, D, 0, D);
  }

  // --- output ---
  int64_t n_out = 0;
  for (int64_t i = 0; i < n; ++i) n_out += batch.want_logits[i] ? 1 : 0;
  grow(s.logits_in, std::max<int64_t>(n_out, 1) * D);
  float* xin = s.logits_in.data();
  for (int64_t i = 0, j = 0; i < n; ++i) {
    if (!batch.want_logits[i]) continue;
    ops::rms_norm(h + i * D, output_norm_.data(), D, c.rms_eps, xin + j * D);
    ++j;
  }
  dump_slice(dump, "output_norm", -1, xin, n_out, D, 0, D);
  logits.resize(static_cast<size_t>(n_out * c.n_vocab));
  if (n_out > 0) ops::float_matmul(pool, head_, xin, n_out, logits.data(), c.n_vocab);
  clock.mark(kOutput);
}

}  // namespace tern
