// libFuzzer target for the GGUF reader: any input must either parse or raise tern::Error;
// crashes, sanitizer reports, hangs and huge allocations are bugs. Parsed files are walked
// completely (every value displayed and read through every getter, every tensor's first and
// last data byte touched) so bad bounds surface under ASan. How to run: docs/GGUF.md.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "gguf/gguf.h"

namespace {

template <class F>
void may_throw(F&& f) {
  try {
    f();
  } catch (const tern::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tern::gguf::File;
  volatile size_t sink = 0;
  volatile double fsink = 0;  // a double -> size_t cast of a negative value would be UB
  try {
    const auto f = File::from_memory(data, size, "fuzz.gguf");
    sink = sink + f->version() + f->alignment() + f->data_offset() + f->file_size();
    for (const auto& [key, v] : f->metadata()) {
      sink = sink + v.to_display().size() + v.to_display(0).size() + v.array_size();
      sink = sink + (f->find(key) == &v);
      may_throw([&] { sink = sink + f->get_u64(key); });
      may_throw([&] { sink = sink + size_t(f->get_i64_or(key, 0)); });
      may_throw([&] { fsink = fsink + f->get_f64(key); });
      may_throw([&] { sink = sink + f->get_bool_or(key, false); });
      may_throw([&] { sink = sink + f->get_string(key).size(); });
      may_throw([&] { sink = sink + f->get_str_array(key).size(); });
      may_throw([&] { sink = sink + f->get_f32_array(key).size(); });
      may_throw([&] { sink = sink + f->get_i32_array(key).size(); });
    }
    for (const auto& t : f->tensors()) {
      sink = sink + t.shape_str().size() + size_t(t.n_elements()) + size_t(t.n_rows());
      sink = sink + (&f->tensor(t.name) == &t);
      // nbytes >= 1 for every accepted tensor; ASan flags either byte if it lies outside.
      sink = sink + t.data[0] + t.data[t.nbytes - 1];
    }
    may_throw([&] { f->tensor("no such tensor"); });
  } catch (const tern::Error&) {
  }
  return 0;
}
