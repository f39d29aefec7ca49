// GGUF v2/v3 reader (over mmap) and writer.
// Every count, offset, size, type and alignment read from a file is checked before use: a
// truncated, hostile or foreign file raises tern::Error with one line naming the file, the
// field and the problem. Spec and limits: docs/GGUF.md (from ggml's docs/gguf.md).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/aligned.h"
#include "core/mmap.h"
#include "gguf/types.h"

namespace tern::gguf {

enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
std::string_view value_type_name(ValueType t);

// One metadata value. Scalars keep their stored type; arrays keep their element type.
struct Value {
  ValueType type = ValueType::UINT32;
  ValueType elem_type = ValueType::UINT32;  // for ARRAY
  // scalar payloads
  std::variant<uint64_t, int64_t, double, bool, std::string> scalar;
  // Scalars: unsigned integers in uint64_t, signed in int64_t, FLOAT32/64 in double, BOOL in
  // bool, STRING in std::string.
  // Array payloads (exactly one is used, by elem_type): signed integers widen to arr_int;
  // unsigned integers and bools to arr_uint; floats to arr_float; strings to arr_str. Nested
  // arrays are rejected by the reader.
  std::vector<int64_t> arr_int;
  std::vector<uint64_t> arr_uint;
  std::vector<double> arr_float;
  std::vector<std::string> arr_str;

  bool is_array() const { return type == ValueType::ARRAY; }
  size_t array_size() const;
  // For `tern info`: strings quoted, escaped and cut at 64 bytes; arrays as
  // `[a, b, ... N items]` showing at most max_items elements.
  std::string to_display(size_t max_items = 8) const;
};

struct TensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  int n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};  // ne[0] = row length (innermost), like ggml
  uint64_t offset = 0;           // relative to the data section
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the mapping

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  std::string shape_str() const;  // "2560 x 6912"
};

class File {
 public:
  // Maps and parses `path`. Throws tern::Error.
  static std::unique_ptr<File> open(const std::string& path);
  // Parses a copy of an in-memory image (tests, fuzzing). `name` is used in messages. The
  // copy is 64-byte aligned, so tensor data is aligned for file alignments up to 64 (open()
  // gives page alignment).
  static std::unique_ptr<File> from_memory(const void* data, size_t size, std::string name);

  const std::string& path() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  // Start of the data section: the end of the tensor infos rounded up to alignment(). A file
  // without tensors may end before it.
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return size_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  const Value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters. The *_or forms return `def` when the key is absent. All throw tern::Error
  // naming the file and key when the key is present with an incompatible type (or, for the
  // plain forms, absent). Integer getters accept any integer type whose value fits; float
  // getters accept any numeric type.
  std::string get_string(std::string_view key) const;
  std::string get_string_or(std::string_view key, std::string def) const;
  uint64_t get_u64(std::string_view key) const;
  uint64_t get_u64_or(std::string_view key, uint64_t def) const;
  int64_t get_i64(std::string_view key) const;
  int64_t get_i64_or(std::string_view key, int64_t def) const;
  double get_f64(std::string_view key) const;
  double get_f64_or(std::string_view key, double def) const;
  bool get_bool_or(std::string_view key, bool def) const;
  const std::vector<std::string>& get_str_array(std::string_view key) const;
  std::vector<float> get_f32_array(std::string_view key) const;
  std::vector<int32_t> get_i32_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  // Like find_tensor, but throws "FILE: tensor NAME is missing (...)" when absent.
  const TensorInfo& tensor(std::string_view name) const;
  // Drops a tensor's pages from this process's resident set once it has been copied or
  // repacked (MappedFile::release); its data stays readable. No-op for in-memory files.
  void release(const TensorInfo& t) const { map_.release(t.data, t.nbytes); }
  // The same for bytes [offset, offset + n) of a tensor (whole pages inside the range), so a
  // large tensor can be let go of piece by piece while it is copied.
  void release(const TensorInfo& t, size_t offset, size_t n) const {
    if (offset <= t.nbytes && n <= t.nbytes - offset) map_.release(t.data + offset, n);
  }

 private:
  File() = default;
  void parse();

  std::string name_;
  MappedFile map_;
  AlignedBuffer<uint8_t> owned_;  // from_memory copy
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

// Writes GGUF v3. Tensor data is produced on demand while writing, so models larger than
// memory can be written (tern dummy 70B).
class Writer {
 public:
  using Producer = std::function<void(uint8_t* dst)>;  // fills exactly nbytes
  using Progress = std::function<void(uint64_t done_bytes, uint64_t total_bytes)>;

  void set_u8(const std::string& key, uint8_t v);
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_str_array(const std::string& key, const std::vector<std::string>& v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
  // Any scalar or (non-nested) array value, e.g. copied from another File's metadata.
  void set_value(const std::string& key, const Value& v);
  void set_alignment(uint32_t a);  // power of two; also writes general.alignment

  // ne[0] is the row length. nbytes must equal ggml_tensor_nbytes(type, ...).
  void add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne,
                  Producer producer);
  void add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne,
                  std::vector<uint8_t> bytes);

  // Writes to `path` (via a temporary file in the same directory, renamed at the end, so a
  // failed write never leaves a half file under `path`). `progress` is called after the
  // header and after each tensor. Throws tern::Error naming the path (disk full, producer
  // failure, ...).
  void write(const std::string& path, const Progress& progress = {}) const;

 private:
  struct Kv {
    std::string key;
    ValueType type;
    std::vector<uint8_t> payload;  // encoded value (without key and type)
  };
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    uint64_t nbytes;
    Producer producer;
  };
  void put(const std::string& key, ValueType type, std::vector<uint8_t> payload);
  std::vector<Kv> kv_;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = 32;
};

}  // namespace tern::gguf
