// `tern quantize`: rewrite a GGUF model with its token embedding / output head in another type
// (f16, q8_0, q6_k), like llama-quantize's --token-embedding-type / --output-tensor-type, without
// the Hugging Face checkpoint. Every other tensor and every metadata key is copied unchanged.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gguf/types.h"

namespace tern::convert {

struct QuantizeOptions {
  GgmlType embd_type = GgmlType::Q8_0;  // for token_embd.weight and output.weight (if present)
  int n_threads = 1;
  std::function<void(uint64_t done, uint64_t total)> progress;  // bytes written
};

struct QuantizedTensor {
  std::string name;
  GgmlType from, to;
};

struct QuantizeResult {
  int64_t n_tensors = 0;
  std::vector<QuantizedTensor> changed;  // tensors whose type changed
  uint64_t bytes_in = 0, bytes_out = 0;  // file sizes
  std::vector<std::string> notes;        // e.g. "token_embd.weight is already q8_0: copied"
};

// Head / embedding types `tern quantize --embd-type` writes.
bool is_valid_embd_type(GgmlType t);

// Reads `in`, writes `out`. Throws tern::Error with one line naming the file and the problem:
// unreadable or damaged input, no token_embd.weight, a type tern cannot read or write, rows
// that are not whole blocks of the new type, `out` being the input file itself.
QuantizeResult quantize_gguf(const std::string& in, const std::string& out,
                             const QuantizeOptions& opt);

}  // namespace tern::convert
