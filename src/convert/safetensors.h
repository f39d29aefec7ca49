// safetensors reader (Hugging Face checkpoints) over mmap, and sharded checkpoints through
// model.safetensors.index.json. Format (huggingface/safetensors README): u64 little-endian
// header length N, N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]},
// "__metadata__": {str: str}}, then the data; offsets are relative to the end of the header.
// Every field is validated (hostile-file model, like src/gguf): a bad file raises tern::Error
// with one line `FILE: tensor NAME: problem`. See docs/CONVERT.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/aligned.h"
#include "core/mmap.h"

namespace tern::convert {

// Element types tern reads. Other safetensors dtypes (I16, I32, I64, F64, BOOL, F8_*) are
// rejected with a message naming them.
enum class StDtype { kF32, kF16, kBF16, kU8, kI8 };
const char* st_dtype_name(StDtype t);
int st_dtype_size(StDtype t);

struct StTensor {
  std::string name;
  StDtype dtype = StDtype::kF32;
  std::vector<int64_t> shape;  // outermost first, as in PyTorch ([out, in] for a weight)
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;
  const std::string* file = nullptr;  // the file it lives in (for messages)

  int64_t n_elements() const;
  std::string shape_str() const;  // "[64, 256]"
};

class SafetensorsFile {
 public:
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  // Parses a copy of an in-memory image (tests, fuzzing); `name` is used in messages.
  static std::unique_ptr<SafetensorsFile> from_memory(const void* data, size_t size, std::string name);

  const std::string& path() const { return name_; }
  const std::vector<StTensor>& tensors() const { return tensors_; }
  const StTensor* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  void parse();

  std::string name_;
  MappedFile map_;
  AlignedBuffer<uint8_t> owned_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  std::vector<StTensor> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a checkpoint directory: model.safetensors, or the shards named by
// model.safetensors.index.json ("weight_map": tensor -> file). Tensor names must be unique
// across shards, and every tensor the index names must be in the shard it names.
class Checkpoint {
 public:
  static std::unique_ptr<Checkpoint> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const StTensor* find(const std::string& name) const;
  // Like find, but throws "DIR: tensor NAME is missing (WHY)".
  const StTensor& get(const std::string& name, const char* why = "the architecture needs it") const;
  std::vector<std::string> names() const;  // sorted
  size_t n_files() const { return files_.size(); }

  // Adds a parsed file (tests build checkpoints from memory).
  void add_file(std::unique_ptr<SafetensorsFile> f);
  explicit Checkpoint(std::string dir) : dir_(std::move(dir)) {}

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const StTensor*> by_name_;
};

// Converts a float tensor (F32, F16, BF16) to f32; throws naming the tensor for other dtypes.
void st_to_f32(const StTensor& t, float* dst);
// Elements [first, first + count) only (row chunks of a large embedding).
void st_to_f32(const StTensor& t, int64_t first, int64_t count, float* dst);
std::vector<float> st_to_f32(const StTensor& t);
// Reads a one-element float tensor (a weight_scale).
float st_scalar(const StTensor& t);

}  // namespace tern::convert
