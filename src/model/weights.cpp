// Binding GGUF tensors to the model: shape checks, and exact repacking of every ternary
// projection (I2_S, TQ1_0, TQ2_0, or float weights that are ternary or latent) into T2.
#include <cmath>
#include <cstring>
#include <mutex>

#include "core/error.h"
#include "core/fp16.h"
#include "core/log.h"
#include "core/timer.h"
#include "formats/formats.h"
#include "formats/tl.h"
#include "kernels/table.h"
#include "model/model.h"
#include "model/names.h"
#include "ops/ops.h"

namespace tern {

class ModelLoader {
 public:
  ModelLoader(Model& m, const LoadOptions& opt) : m_(m), opt_(opt), pool_(opt.n_threads) {}
  void run();

 private:
  const gguf::TensorInfo& expect(const std::string& name, int64_t ne0, int64_t ne1) const;
  void load_norm(const std::string& name, int64_t n, AlignedBuffer<float>& out) const;
  // Where file row r of a projection lands in the fused matrix.
  struct RowMap {
    int64_t row0 = 0;  // rows [row0, row0 + rows)
    // > 0: the file's rows are in llama.cpp's q/k order for interleaved RoPE (arch "llama");
    // file row h*hd + 2j + s is model row h*hd + s*hd/2 + j (NeoX pairs).
    int64_t permute_hd = 0;
    int glu = -1;  // 0 / 1: the gate / up half of a GLU-interleaved matrix (ops::glu_row)
    int64_t operator()(int64_t r) const;
  };
  // Repacks tensor `name` ([cols -> rows]) into the rows of `m` that `map` names.
  void load_ternary(const std::string& name, int64_t cols, int64_t rows, TernaryMatrix& m, RowMap map);
  // bitnet.cpp TL1/TL2 tensor `t` ([cols -> rows]) likewise.
  void load_tl(const gguf::TensorInfo& t, int64_t cols, int64_t rows, TernaryMatrix& m, RowMap map,
               float extra);
  formats::TlConfig tl_config_for(const gguf::TensorInfo& t, int64_t rows, int64_t cols) const;
  void load_head();

  Model& m_;
  const LoadOptions& opt_;
  ThreadPool pool_;
};

namespace {

bool is_float_type(GgmlType t) {
  return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16;
}

}  // namespace

const gguf::TensorInfo& ModelLoader::expect(const std::string& name, int64_t ne0,
                                            int64_t ne1) const {
  const gguf::File& f = *m_.file_;
  const gguf::TensorInfo& t = f.tensor(name);
  const int64_t want_dims = ne1 > 1 ? 2 : 1;
  const bool ok = t.ne[0] == ne0 && t.ne[1] == ne1 && t.ne[2] == 1 && t.ne[3] == 1 &&
                  (t.n_dims == want_dims || (t.n_dims == 2 && ne1 == 1));
  if (!ok) {
    fail(f.path(), ": tensor ", name, " has shape ", t.shape_str(), ", expected ", ne0,
         ne1 > 1 ? str_cat(" x ", ne1) : std::string(),
         ": the file is damaged or not a BitNet b1.58 model of the size its metadata says");
  }
  if (!formats::can_dequantize(t.type) && !formats::is_ternary(t.type) && !formats::is_tl(t.type)) {
    fail(f.path(), ": tensor ", name, " has type ", ggml_type_name(t.type),
         ", which tern cannot read (supported: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, tq1_0, tq2_0, i2_s, tl1, tl2)");
  }
  return t;
}

void ModelLoader::load_norm(const std::string& name, int64_t n, AlignedBuffer<float>& out) const {
  const gguf::TensorInfo& t = expect(name, n, 1);
  out.resize(static_cast<size_t>(n));
  formats::dequantize_rows(t.type, t.data, 1, n, 0, 1, out.data());
}

int64_t ModelLoader::RowMap::operator()(int64_t r) const {
  if (glu >= 0) return ops::glu_row(r, glu == 1);
  if (permute_hd <= 0) return row0 + r;
  const int64_t hd = permute_hd, h = r / hd, i = r % hd;
  return row0 + h * hd + (i % 2) * (hd / 2) + i / 2;
}

void ModelLoader::load_ternary(const std::string& name, int64_t cols, int64_t rows,
                               TernaryMatrix& m, RowMap map) {
  const gguf::File& f = *m_.file_;
  int64_t file_cols = cols;
  if (const gguf::TensorInfo* pt = f.find_tensor(name);
      pt && formats::is_ternary(pt->type) && pt->ne[0] != cols && pt->ne[0] == formats::padded_row_length(pt->type, cols)) {
    file_cols = pt->ne[0];
  }
  const gguf::TensorInfo& t = expect(name, file_cols, rows);
  // llama.cpp's BitNet graph may carry the per-tensor scale as a separate tensor.
  float extra = 1.0f;
  if (const gguf::TensorInfo* st = f.find_tensor(name.substr(0, name.size() - 6) + "scale")) {
    if (st->n_elements() != 1) fail(f.path(), ": tensor ", st->name, " should hold one scale");
    float v = 0.0f;
    formats::dequantize_rows(st->type, st->data, 1, 1, 0, 1, &v);
    extra = v;
  }

  if (formats::is_tl(t.type)) {
    load_tl(t, cols, rows, m, map, extra);
    return;
  }
  if (formats::is_ternary(t.type)) {
    if (m_.proj_type_.empty()) m_.proj_type_ = std::string(ggml_type_name(t.type));
    std::mutex err_mu;
    std::string err;
    constexpr int64_t kRowsPerTask = 64;
    pool_.parallel_for((rows + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task, int) {
      std::vector<int8_t> trits(static_cast<size_t>(file_cols));
      std::vector<float> bs;
      const int64_t r1 = std::min(rows, (task + 1) * kRowsPerTask);
      for (int64_t r = task * kRowsPerTask; r < r1; ++r) {
        formats::unpack_ternary_row(t.type, t.data, rows, file_cols, r, trits.data(), bs);
        for (int64_t i = cols; i < file_cols; ++i) {
          if (trits[static_cast<size_t>(i)] != 0) {
            std::lock_guard<std::mutex> lock(err_mu);
            err = str_cat(f.path(), ": tensor ", name, " row ", r, " has non-zero weights in the padding after column ",
                          cols, ": the file is damaged or its hyper-parameters are wrong");
            return;
          }
        }
        // One scale per row: every block with a non-zero weight must agree.
        const int64_t per = bs.size() > 1 ? file_cols / static_cast<int64_t>(bs.size()) : file_cols;
        float scale = 0.0f;
        bool have = false;
        for (size_t b = 0; b < bs.size(); ++b) {
          bool nonzero = false;
          for (int64_t i = static_cast<int64_t>(b) * per; i < static_cast<int64_t>(b + 1) * per && i < file_cols; ++i) {
            if (trits[static_cast<size_t>(i)] != 0) { nonzero = true; break; }
          }
          if (!nonzero) continue;
          if (!have) { scale = bs[b]; have = true; }
          else if (bs[b] != scale) {
            std::lock_guard<std::mutex> lock(err_mu);
            err = str_cat(f.path(), ": tensor ", name, " row ", r, " has blocks with different scales (",
                          scale, " and ", bs[b], "): tern needs one scale per row, as BitNet b1.58 models have; "
                          "this file was not quantized from a ternary model");
            return;
          }
        }
        m.set_row(map(r), trits.data(), scale * extra);
      }
    });
    if (!err.empty()) throw Error(err);
    f.release(t);  // repacked: the file's copy need not stay resident
    return;
  }

  if (!is_float_type(t.type)) {
    fail(f.path(), ": projection ", name, " has type ", ggml_type_name(t.type),
         ": tern runs ternary projections (i2_s, tq1_0, tq2_0) or float ones (f32, f16, bf16)");
  }
  if (m_.proj_type_.empty()) m_.proj_type_ = std::string(ggml_type_name(t.type));
  // Float weights: either already ternary times one value (exact), or latent full-precision
  // weights that BitLinear ternarizes on the fly with the per-tensor absmean.
  std::vector<float> w(static_cast<size_t>(rows * cols));
  formats::dequantize_rows(t.type, t.data, rows, cols, 0, rows, w.data());
  float amax = 0.0f;
  double asum = 0.0;
  for (float v : w) {
    amax = std::fmax(amax, std::fabs(v));
    asum += std::fabs(v);
  }
  bool exact = true;
  for (float v : w) {
    if (v != 0.0f && std::fabs(v) != amax) { exact = false; break; }
  }
  if (!exact && m_.cfg_.arch == "llama") {
    fail(f.path(), ": projection ", name, " holds full-precision weights: this llama file is not a ternary "
         "(1.58-bit) model, and tern runs BitNet models only");
  }
  const float scale = exact ? amax : std::fmax(static_cast<float>(asum / static_cast<double>(w.size())), 1e-5f);
  std::vector<int8_t> trits(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const float v = std::nearbyint(w[static_cast<size_t>(r * cols + c)] / scale);
      trits[static_cast<size_t>(c)] = static_cast<int8_t>(std::fmin(std::fmax(v, -1.0f), 1.0f));
    }
    m.set_row(map(r), trits.data(), scale * extra);
  }
  f.release(t);  // ternarized and repacked, like the ternary types above
}

formats::TlConfig ModelLoader::tl_config_for(const gguf::TensorInfo& t, int64_t rows,
                                             int64_t cols) const {
  const gguf::File& f = *m_.file_;
  const std::string type(ggml_type_name(t.type));
  std::optional<formats::TlConfig> cfg;
  std::string from;
  for (const auto& c : opt_.tl_configs) {
    if (c.rows == rows && c.cols == cols) {
      cfg = c;
      from = opt_.tl_config_source.empty() ? std::string("the given kernel config") : opt_.tl_config_source;
      break;
    }
  }
  if (!cfg) {
    cfg = formats::tl_builtin_config(t.type, rows, cols);
    from = "tern's table of bitnet.cpp setup_env.py tilings";
  }
  if (!cfg) {
    fail(f.path(), ": tensor ", t.name, " is ", type, " with ", rows, " rows x ", cols,
         " columns, a shape tern has no ", type, " tiling for. bitnet.cpp lays ", type,
         " weights out in the tiles of the kernel its code generator built for each matrix shape "
         "(BM, BK, bm in its include/kernel_config.ini) and the file does not record them; tern "
         "knows the tilings setup_env.py uses for bitnet_b1_58-large, bitnet_b1_58-3B and "
         "Llama3-8B-1.58-100B-tokens. Pass the kernel_config.ini this file was converted with "
         "(--tl-config FILE), or convert the original checkpoint with `tern convert` (or to i2_s "
         "with bitnet.cpp) instead");
  }
  try {
    formats::check_tl_config(t.type, *cfg);
  } catch (const Error& e) {
    fail(f.path(), ": tensor ", t.name, ": ", e.what(), " (tiling from ", from, ")");
  }
  return *cfg;
}

void ModelLoader::load_tl(const gguf::TensorInfo& t, int64_t cols, int64_t rows,
                          TernaryMatrix& m, RowMap map, float extra) {
  const gguf::File& f = *m_.file_;
  const formats::TlConfig cfg = tl_config_for(t, rows, cols);
  const std::span<const uint8_t> data(t.data, t.nbytes);
  // bitnet.cpp's kernels read the f32 scale right after the codes (the slot its GGUF writer
  // fills with the unlisted `<name>_scale` tensor). A writer that lists that tensor puts it in
  // the same place; if a rewritten file lists it elsewhere, the listed one is the truth.
  float scale = formats::tl_scale(t.type, data, rows, cols);
  if (const gguf::TensorInfo* st = f.find_tensor(t.name + "_scale")) {
    if (st->n_elements() != 1 || !formats::can_dequantize(st->type))
      fail(f.path(), ": tensor ", st->name, " should hold one float scale");
    float v = 0.0f;
    formats::dequantize_rows(st->type, st->data, 1, 1, 0, 1, &v);
    if (v != scale) log_warn(f.path(), ": ", st->name, " is ", v, " but the scale slot after ", t.name, " holds ", scale, "; using ", v);
    scale = v;
  }
  if (!std::isfinite(scale) || scale < 0.0f) {
    fail(f.path(), ": tensor ", t.name, " has scale ", scale,
         " (bitnet.cpp writes max|w| >= 0): the file is damaged or was not written by bitnet.cpp");
  }
  if (m_.proj_type_.empty()) m_.proj_type_ = std::string(ggml_type_name(t.type));
  std::mutex err_mu;
  std::string err;
  const int64_t blocks = rows / cfg.block_rows;
  pool_.parallel_for(blocks, [&](int64_t block, int) {
    try {
      std::vector<int8_t> trits(static_cast<size_t>(cfg.block_rows * cols));
      formats::unpack_tl_block(t.type, data, cfg, block, trits.data());
      for (int64_t r = 0; r < cfg.block_rows; ++r) {
        const int64_t fr = block * cfg.block_rows + r;
        m.set_row(map(fr), trits.data() + r * cols, scale * extra);
      }
    } catch (const Error& e) {
      std::lock_guard<std::mutex> lock(err_mu);
      if (err.empty()) err = str_cat(f.path(), ": tensor ", t.name, ": ", e.what());
    }
  });
  if (!err.empty()) throw Error(err);
}

void ModelLoader::load_head() {
  const gguf::File& f = *m_.file_;
  const ModelConfig& c = m_.cfg_;
  const gguf::TensorInfo* t = f.find_tensor(tensors::kOutput);
  if (t) {
    expect(tensors::kOutput, c.n_embd, c.n_vocab);
  } else {
    t = m_.tok_embd_;  // tied
  }
  m_.head_.rows = c.n_vocab;
  m_.head_.cols = c.n_embd;
  const bool tied = t == m_.tok_embd_;
  if (t->type == GgmlType::F16) {
    // Repacked into the kernels' R4 layout (kernels/table.h) in huge-page memory
    // (core/aligned.h): decode streams the whole head every token, as one sequential stream
    // per thread, and from 4 KiB file pages that stream is ~20% slower. The file's pages are
    // then dropped from the resident set, piece by piece as they are copied, so memory use
    // does not grow, not even for a moment (the file's copy and ours would be 2 x 0.66 GB
    // for 2B-4T).
    const int64_t chunk = 1024;  // rows per task, a multiple of 4
    m_.head_owned_f16_.resize(static_cast<size_t>(f16_r4_size(c.n_vocab, c.n_embd)));
    pool_.parallel_for((c.n_vocab + chunk - 1) / chunk, [&](int64_t task, int) {
      const int64_t r0 = task * chunk, n = std::min(chunk, c.n_vocab - r0);
      const size_t off = static_cast<size_t>(r0 * c.n_embd * 2), bytes = static_cast<size_t>(n * c.n_embd * 2);
      std::vector<uint16_t> rows(static_cast<size_t>(n * c.n_embd));
      std::memcpy(rows.data(), t->data + off, bytes);  // file data may be unaligned
      pack_f16_r4(rows.data(), n, c.n_embd, m_.head_owned_f16_.data() + f16_r4_index(r0, 0, c.n_embd));
      f.release(*t, off, bytes);
    });
    m_.head_.f16 = m_.head_owned_f16_.data();
    f.release(*t);
    m_.embd_from_head_ = tied;
  } else if (t->type == GgmlType::F32 && reinterpret_cast<uintptr_t>(t->data) % 4 == 0) {
    m_.head_.f32 = reinterpret_cast<const float*>(t->data);
  } else if (t->type == GgmlType::Q8_0 || t->type == GgmlType::Q6_K) {
    // The q8_0 / q6_k kernels decode blocks in registers, rows unaligned. Copied into huge-page
    // memory for the same reason as the F16 head (one long stream per token), and the file's
    // pages released.
    m_.head_owned_q_.resize(static_cast<size_t>(t->nbytes));
    const int64_t chunk = int64_t(64) << 20;
    pool_.parallel_for((static_cast<int64_t>(t->nbytes) + chunk - 1) / chunk, [&](int64_t task, int) {
      const int64_t o = task * chunk, n = std::min<int64_t>(chunk, static_cast<int64_t>(t->nbytes) - o);
      std::memcpy(m_.head_owned_q_.data() + o, t->data + o, static_cast<size_t>(n));
      f.release(*t, static_cast<size_t>(o), static_cast<size_t>(n));
    });
    f.release(*t);
    (t->type == GgmlType::Q8_0 ? m_.head_.q8_0 : m_.head_.q6_k) = m_.head_owned_q_.data();
    m_.embd_from_head_ = tied;
  } else {
    // Other quantized heads (q4_0, q4_k) and bf16 are widened once to f32 (exact; f16 could
    // not hold every such value).
    // The file's pages are released as for the heads above.
    m_.head_owned_.resize(static_cast<size_t>(c.n_vocab * c.n_embd));
    const int64_t chunk = 1024;
    const size_t row_bytes = t->nbytes / static_cast<size_t>(c.n_vocab);
    pool_.parallel_for((c.n_vocab + chunk - 1) / chunk, [&](int64_t task, int) {
      const int64_t r0 = task * chunk, n = std::min(chunk, c.n_vocab - r0);
      formats::dequantize_rows(t->type, t->data, c.n_vocab, c.n_embd, r0, n,
                               m_.head_owned_.data() + r0 * c.n_embd);
      f.release(*t, static_cast<size_t>(r0) * row_bytes, static_cast<size_t>(n) * row_bytes);
    });
    f.release(*t);
    m_.head_.f32 = m_.head_owned_.data();
    m_.embd_from_head_ = tied;
  }
}

void ModelLoader::run() {
  const double t0 = now_seconds();
  Model& m = m_;
  const gguf::File& f = *m.file_;
  ModelConfig& c = m.cfg_;
  const gguf::TensorInfo& emb = f.tensor(tensors::kTokenEmbd);
  if (c.n_vocab == 0) c.n_vocab = emb.ne[1];
  expect(tensors::kTokenEmbd, c.n_embd, c.n_vocab);
  if (!formats::can_dequantize(emb.type) || formats::is_ternary(emb.type)) {
    fail(f.path(), ": token_embd.weight has type ", ggml_type_name(emb.type), ", which tern cannot use as an embedding");
  }
  m.tok_embd_ = &emb;
  load_norm(tensors::kOutputNorm, c.n_embd, m.output_norm_);
  load_head();

  const int64_t qd = c.q_dim(), kvd = c.kv_dim();
  // Sub-norms (BitNet b1.58's extra RMSNorms) are in every layer or in none; a layer past
  // block_count means metadata that does not describe the file. Either is a damaged file, not
  // one to run with part of its weights ignored.
  auto has_layer_tensor = [&](int64_t l, const char* t) { return f.find_tensor(tensors::layer_tensor(l, t)) != nullptr; };
  const bool sub_norms = has_layer_tensor(0, tensors::kAttnSubNorm) || has_layer_tensor(0, tensors::kFfnSubNorm);
  if (!sub_norms) {
    for (int64_t l = 1; l < c.n_layer; ++l) {
      if (has_layer_tensor(l, tensors::kAttnSubNorm) || has_layer_tensor(l, tensors::kFfnSubNorm)) {
        fail(f.path(), ": layer ", l, " has sub-norm weights but layer 0 has none: the file is damaged");
      }
    }
  }
  for (const auto& t : f.tensors()) {
    if (const int64_t l = tensors::layer_of(t.name); l >= c.n_layer) {
      fail(f.path(), ": the file holds ", t.name, " (layer ", l, ") but its metadata says block_count = ", c.n_layer,
           ": the file is damaged or its metadata was edited");
    }
  }
  // kernels/table.h: TN16 streams 16% fewer bytes per token where the kernels decode it fast.
  const bool tn16 = opt_.tn16 ? *opt_.tn16 : tn16_layout_wanted();
  // The projections' codes share one block, each matrix at a 4 KiB boundary. A buffer per matrix
  // left every part of it beyond its last whole 2 MiB page (all of a 2560 x 2560 one, a third of
  // the 2B-4T's bytes) on 4 KiB pages, which decode streamed 10-14% slower (docs/PERFORMANCE.md).
  const int64_t qkv_rows = qd + 2 * kvd, glu_rows = ops::glu_rows(c.n_ff);
  auto slot = [&](int64_t rows, int64_t cols) { return TernaryMatrix::slot_bytes(rows, cols, tn16); };
  const size_t layer_bytes = slot(qkv_rows, c.n_embd) + slot(c.n_embd, qd) + slot(glu_rows, c.n_embd) + slot(c.n_embd, c.n_ff);
  // In memory a weight takes at most ~2 bits; in the file at least ~1.6. A block much larger
  // than the file means metadata promising layers the file does not hold: fail before mapping it.
  if (static_cast<double>(layer_bytes) * static_cast<double>(c.n_layer) > 2.0 * static_cast<double>(f.file_size()) + (64 << 20)) {
    fail(f.path(), ": its metadata (", c.n_layer, " layers of ", c.n_embd, " x ", c.n_ff,
         ") describes more weights than the file holds: the file is damaged or truncated");
  }
  m.layers_.resize(static_cast<size_t>(c.n_layer));
  m.ternary_block_.resize(layer_bytes * static_cast<size_t>(c.n_layer));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    uint8_t* at = m.ternary_block_.data() + static_cast<size_t>(l) * layer_bytes;
    auto place = [&](int64_t rows, int64_t cols) {
      uint8_t* p = at;
      at += slot(rows, cols);
      return p;
    };
    if (opt_.progress) {
      std::fprintf(stderr, "\rtern: loading %s: layer %lld/%lld", f.path().c_str(),
                   static_cast<long long>(l + 1), static_cast<long long>(c.n_layer));
      std::fflush(stderr);
    }
    LayerWeights& L = m.layers_[static_cast<size_t>(l)];
    using namespace tensors;
    load_norm(layer_tensor(l, kAttnNorm), c.n_embd, L.attn_norm);
    load_norm(layer_tensor(l, kFfnNorm), c.n_embd, L.ffn_norm);
    if (sub_norms) {
      load_norm(layer_tensor(l, kAttnSubNorm), qd, L.attn_sub_norm);
      load_norm(layer_tensor(l, kFfnSubNorm), c.n_ff, L.ffn_sub_norm);
    }
    L.wqkv.allocate(qkv_rows, c.n_embd, tn16, place(qkv_rows, c.n_embd));
    // arch "llama" files carry llama.cpp's q/k row permutation (interleaved RoPE pairs).
    const int64_t perm = c.arch == "llama" ? c.head_dim : 0;
    load_ternary(layer_tensor(l, kQ), c.n_embd, qd, L.wqkv, {.row0 = 0, .permute_hd = perm});
    load_ternary(layer_tensor(l, kK), c.n_embd, kvd, L.wqkv, {.row0 = qd, .permute_hd = perm});
    load_ternary(layer_tensor(l, kV), c.n_embd, kvd, L.wqkv, {.row0 = qd + kvd});
    L.wo.allocate(c.n_embd, qd, tn16, place(c.n_embd, qd));
    load_ternary(layer_tensor(l, kO), qd, c.n_embd, L.wo, {});
    L.wgate_up.allocate(glu_rows, c.n_embd, tn16, place(glu_rows, c.n_embd));
    load_ternary(layer_tensor(l, kGate), c.n_embd, c.n_ff, L.wgate_up, {.glu = 0});
    load_ternary(layer_tensor(l, kUp), c.n_embd, c.n_ff, L.wgate_up, {.glu = 1});
    L.wdown.allocate(c.n_embd, c.n_ff, tn16, place(c.n_embd, c.n_ff));
    load_ternary(layer_tensor(l, kDown), c.n_ff, c.n_embd, L.wdown, {});
  }
  if (opt_.progress) std::fprintf(stderr, "\n");
  log_info("loaded ", f.path(), " in ", now_seconds() - t0, " s");
}

std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& opt) {
  std::unique_ptr<Model> m(new Model());
  m->file_ = gguf::File::open(path);
  m->cfg_ = read_model_config(*m->file_, opt.ffn_act);
  if (m->cfg_.name.empty()) m->cfg_.name = path;
  ModelLoader(*m, opt).run();
  return m;
}

uint64_t Model::weight_bytes() const {
  uint64_t b = 0;
  for (const auto& L : layers_) b += L.wqkv.bytes() + L.wo.bytes() + L.wgate_up.bytes() + L.wdown.bytes();
  const uint64_t n = static_cast<uint64_t>(head_.rows * head_.cols);
  if (head_.q8_0) b += n / kQ8_0Elems * kQ8_0Bytes;
  else if (head_.q6_k) b += n / kQ6_KElems * kQ6_KBytes;
  else b += n * (head_.f16 ? 2 : 4);
  return b;
}

std::string Model::describe_types() const {
  const char* head = head_.f16 ? "f16" : head_.q8_0 ? "q8_0" : head_.q6_k ? "q6_k" : "f32";
  const bool tn16 = !layers_.empty() && layers_[0].wqkv.tn16;  // in memory (kernels/table.h)
  return str_cat(proj_type_, tn16 ? " projections (as tn16), " : " projections, ", head, " head, ",
                 ggml_type_name(tok_embd_->type), " embedding");
}

void Model::embed(int32_t token, float* out) const {
  const gguf::TensorInfo& t = *tok_embd_;
  const int64_t d = cfg_.n_embd;
  if (embd_from_head_) {
    // Rows from the head's own copy: reading them from the file mapping would fault the file's
    // pages back in (with fault-around, ~64 KB per row: +65 MB for a 512-token prompt of the
    // 2B-4T vocabulary, growing towards the whole 0.66 GB table over a long session).
    if (head_.f16) {
      for (int64_t i = 0; i < d; i += 16) {  // R4 keeps each row's 16-column chunks together
        const uint16_t* c = head_.f16 + f16_r4_index(token, i, d);
        for (int64_t j = 0; j < 16 && i + j < d; ++j) out[i + j] = fp16_to_f32(c[j]);
      }
    } else if (head_.f32) {
      std::memcpy(out, head_.f32 + static_cast<int64_t>(token) * d, static_cast<size_t>(d) * sizeof(float));
    } else {
      formats::dequantize_rows(t.type, head_owned_q_.data(), cfg_.n_vocab, d, token, 1, out);
    }
    return;
  }
  if (t.type == GgmlType::F16) {
    const auto* src = reinterpret_cast<const uint8_t*>(t.data) + static_cast<size_t>(token) * cfg_.n_embd * 2;
    for (int64_t i = 0; i < cfg_.n_embd; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      out[i] = fp16_to_f32(h);
    }
    return;
  }
  formats::dequantize_rows(t.type, t.data, cfg_.n_vocab, cfg_.n_embd, token, 1, out);
}

}  // namespace tern
