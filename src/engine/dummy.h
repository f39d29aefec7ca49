// Random-weight models of named layouts, for tests and benchmarks (`tern dummy`), like
// bitnet.cpp's generate-dummy-bitnet-model.py but any ternary type and no Python.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gguf/types.h"
#include "model/config.h"

namespace tern {

struct DummyLayout {
  const char* name;
  int64_t n_embd, n_ff, n_layer, n_head, n_head_kv, n_vocab, n_ctx;
  float rope_theta;
  FfnActivation act;
  bool sub_norms;
  const char* source;  // where the shape comes from
};

const std::vector<DummyLayout>& dummy_layouts();
const DummyLayout* find_dummy_layout(const std::string& name);  // case-insensitive

struct DummyOptions {
  std::string layout = "tiny";
  GgmlType type = GgmlType::I2_S;      // projections: i2_s, tq1_0, tq2_0, f16, f32
  GgmlType embd_type = GgmlType::F16;  // tied embedding / head
  uint64_t seed = 1;
  int64_t n_layer = 0;  // > 0 overrides the layout (quick tests of big shapes)
  int64_t n_vocab = 0;  // > 0 overrides the layout
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Writes the model to `path`. Throws tern::Error when the type cannot hold the layout's shapes
// (e.g. i2_s needs rows that are multiples of 128, tq* multiples of 256).
void write_dummy_model(const std::string& path, const DummyOptions& opt);

}  // namespace tern
