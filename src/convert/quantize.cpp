// tern quantize: GGUF -> GGUF with a re-typed token embedding / output head (convert/quantize.h).
#include "convert/quantize.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>

#include "core/error.h"
#include "formats/formats.h"
#include "gguf/gguf.h"
#include "model/names.h"
#include "threading/pool.h"

namespace tern::convert {
namespace {

namespace fs = std::filesystem;

bool is_head_tensor(const std::string& name) {
  return name == tensors::kTokenEmbd || name == tensors::kOutput;
}

// Rows per quantization task: 256 rows of 2560 floats (2.6 MB of scratch per task).
constexpr int64_t kRowsPerTask = 256;

}  // namespace

bool is_valid_embd_type(GgmlType t) {
  return t == GgmlType::F16 || t == GgmlType::Q8_0 || t == GgmlType::Q6_K;
}

QuantizeResult quantize_gguf(const std::string& in, const std::string& out,
                             const QuantizeOptions& opt) {
  if (!is_valid_embd_type(opt.embd_type)) {
    fail("tern quantize: --embd-type ", ggml_type_name(opt.embd_type),
         " is not supported (use f16, q8_0 or q6_k)");
  }
  if (out.empty())
    fail("tern quantize: give the output file (tern quantize IN.gguf OUT.gguf --embd-type q8_0)");
  std::error_code ec;
  if (fs::exists(out, ec) && fs::equivalent(in, out, ec)) {
    fail("tern quantize: ", out, " is the input file: give a new output file (tern quantize never ",
         "overwrites its input)");
  }
  const std::unique_ptr<gguf::File> f = gguf::File::open(in);
  const gguf::TensorInfo* emb = f->find_tensor(tensors::kTokenEmbd);
  if (!emb)
    fail(in, ": has no ", tensors::kTokenEmbd, ": not a model tern can re-type the embedding of");

  QuantizeResult res;
  gguf::Writer w;
  for (const auto& [key, value] : f->metadata()) w.set_value(key, value);
  const bool quantized_out = opt.embd_type != GgmlType::F16;
  // llama.cpp writes this key in every file with quantized tensors.
  if (quantized_out && !f->has("general.quantization_version"))
    w.set_u32("general.quantization_version", 2);
  // general.file_type names the type of the bulk of the weights (the projections, as
  // llama-quantize's ftype does): the head type does not change it.

  auto pool = std::make_shared<ThreadPool>(std::max(1, opt.n_threads));
  for (const gguf::TensorInfo& t : f->tensors()) {
    std::vector<int64_t> ne(t.ne, t.ne + std::max(1, t.n_dims));
    if (!is_head_tensor(t.name) || t.type == opt.embd_type) {
      if (is_head_tensor(t.name))
        res.notes.push_back(str_cat(t.name, " is already ", ggml_type_name(t.type), ": copied"));
      const uint8_t* src = t.data;
      const uint64_t n = t.nbytes;
      w.add_tensor(t.name, t.type, ne, [src, n](uint8_t* dst) { std::memcpy(dst, src, n); });
      continue;
    }
    if (!formats::can_dequantize(t.type) || formats::is_ternary(t.type)) {
      fail(in, ": tensor ", t.name, " has type ", ggml_type_name(t.type),
           ", which tern cannot re-type");
    }
    const int64_t cols = t.ne[0], rows = t.n_rows();
    const auto traits = ggml_type_traits(static_cast<uint32_t>(opt.embd_type));
    if (cols % traits->block_elems != 0) {
      fail(in, ": tensor ", t.name, " rows hold ", cols, " values; ", ggml_type_name(opt.embd_type),
           " stores rows in blocks of ", traits->block_elems, " (use f16 or q8_0)");
    }
    if (formats::can_quantize(t.type) && t.type != GgmlType::F32 && t.type != GgmlType::F16 &&
        t.type != GgmlType::BF16) {
      res.notes.push_back(str_cat(
          t.name, " was already quantized (", ggml_type_name(t.type),
          "): re-quantizing adds the errors of both types; start from an f16 file if you can"));
    }
    res.changed.push_back({t.name, t.type, opt.embd_type});
    const GgmlType to = opt.embd_type;
    const GgmlType from = t.type;
    const uint8_t* src = t.data;
    const uint64_t row_bytes = formats::tensor_bytes(to, 1, cols);
    const std::string name = t.name;
    w.add_tensor(t.name, to, ne, [=](uint8_t* dst) {
      // Workers must not throw (the pool does not carry exceptions): keep the first error.
      std::mutex mu;
      std::string err;
      pool->parallel_for((rows + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task, int) {
        try {
          const int64_t r0 = task * kRowsPerTask, n = std::min(kRowsPerTask, rows - r0);
          std::vector<float> x(static_cast<size_t>(n * cols));
          formats::dequantize_rows(from, src, rows, cols, r0, n, x.data());
          const std::vector<uint8_t> q = formats::quantize_tensor(to, x.data(), n, cols);
          std::memcpy(dst + static_cast<uint64_t>(r0) * row_bytes, q.data(), q.size());
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(mu);
          if (err.empty()) err = str_cat(in, ": tensor ", name, ": ", e.what());
        }
      });
      if (!err.empty()) throw Error(err);
    });
  }
  res.n_tensors = static_cast<int64_t>(f->tensors().size());
  w.write(out, opt.progress);

  // Read the result back: it must parse and hold the same tensors with the new types.
  const std::unique_ptr<gguf::File> g = gguf::File::open(out);
  if (g->tensors().size() != f->tensors().size())
    fail(out, ": wrote ", g->tensors().size(), " tensors, expected ", f->tensors().size());
  for (const QuantizedTensor& c : res.changed) {
    if (g->tensor(c.name).type != c.to)
      fail(out, ": tensor ", c.name, " was not written as ", ggml_type_name(c.to));
  }
  res.bytes_in = f->file_size();
  res.bytes_out = g->file_size();
  return res;
}

}  // namespace tern::convert
