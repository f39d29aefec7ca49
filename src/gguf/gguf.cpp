// GGUF v2/v3 reader. The file is untrusted: every length, count, type id, shape and offset is
// checked against the bytes actually present before it is used, so a truncated or hostile
// file raises tern::Error and never reads out of bounds or allocates more than a small
// multiple of its own size. Layout: ggml docs/gguf.md; limits: docs/GGUF.md.
#include "gguf/gguf.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/error.h"

namespace tern::gguf {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the reader loads little-endian GGUF fields in host order");

constexpr uint64_t kDefaultAlignment = 32;
// Real models carry tens of metadata pairs (vocabularies are arrays); the cap bounds the memory
// a corrupt count can make us spend on per-pair bookkeeping.
constexpr uint64_t kMaxKvCount = uint64_t(1) << 20;
// Smallest encodings, used to reject counts that cannot fit in the bytes left before any
// allocation: key length + 1-byte key + type + 1-byte value; name length + 1-byte name + n_dims
// + one dimension + type + offset.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;
constexpr const char* kTruncated = ": the file is truncated (re-download or re-convert it)";

// Keys and names come from the file: escape and cut them so a message stays one short line.
std::string printable(std::string_view s) {
  std::string out;
  const size_t n = s.size() < 80 ? s.size() : 80;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F || c == '\'') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > n) out += "...";
  return out;
}

// Encoded size of a scalar value type; 0 for STRING/ARRAY/unknown.
uint64_t scalar_size(uint32_t t) {
  switch (static_cast<ValueType>(t)) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL:
      return 1;
    case ValueType::UINT16:
    case ValueType::INT16:
      return 2;
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::FLOAT32:
      return 4;
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT64:
      return 8;
    default:
      return 0;
  }
}

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::FLOAT64); }

bool is_signed_int(ValueType t) {
  return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 ||
         t == ValueType::INT64;
}
bool is_unsigned_int(ValueType t) {
  return t == ValueType::UINT8 || t == ValueType::UINT16 || t == ValueType::UINT32 ||
         t == ValueType::UINT64;
}
bool is_float(ValueType t) { return t == ValueType::FLOAT32 || t == ValueType::FLOAT64; }

// Bounds-checked little-endian reads. `what` is a callable returning the field's description;
// it only runs on failure, so the hot path builds no strings.
class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t size, const std::string& file)
      : base_(base), size_(size), file_(file) {}

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

  template <class What>
  void need(uint64_t n, const What& what) const {
    if (n > left()) {
      fail(file_, ": ", what(), " at offset ", pos_, " needs ", n, " bytes but the file ends at ",
           size_, kTruncated);
    }
  }

  template <class T, class What>
  T read(const What& what) {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  template <class What>
  std::string read_string(const What& what) {
    const uint64_t len = read<uint64_t>(what);
    if (len > left()) {
      fail(file_, ": ", what(), " has length ", len, " at offset ", pos_ - 8, " but only ", left(),
           " bytes are left in the file: the file is truncated or corrupt");
    }
    std::string s(reinterpret_cast<const char*>(base_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& file_;
};

// Reads one scalar of type `t` (already known to be a scalar type) and widens it.
template <class What>
void read_scalar_into(Cursor& c, ValueType t, const std::string& file, const What& what,
                      std::vector<int64_t>* ints, std::vector<uint64_t>* uints,
                      std::vector<double>* floats) {
  switch (t) {
    case ValueType::UINT8:
      uints->push_back(c.read<uint8_t>(what));
      break;
    case ValueType::UINT16:
      uints->push_back(c.read<uint16_t>(what));
      break;
    case ValueType::UINT32:
      uints->push_back(c.read<uint32_t>(what));
      break;
    case ValueType::UINT64:
      uints->push_back(c.read<uint64_t>(what));
      break;
    case ValueType::INT8:
      ints->push_back(c.read<int8_t>(what));
      break;
    case ValueType::INT16:
      ints->push_back(c.read<int16_t>(what));
      break;
    case ValueType::INT32:
      ints->push_back(c.read<int32_t>(what));
      break;
    case ValueType::INT64:
      ints->push_back(c.read<int64_t>(what));
      break;
    case ValueType::FLOAT32:
      floats->push_back(c.read<float>(what));
      break;
    case ValueType::FLOAT64:
      floats->push_back(c.read<double>(what));
      break;
    case ValueType::BOOL: {
      const uint8_t b = c.read<uint8_t>(what);
      if (b > 1) {
        fail(file, ": ", what(), " is a bool stored as ", int(b),
             " (must be 0 or 1): the file is corrupt");
      }
      uints->push_back(b);
      break;
    }
    default:
      TERN_ASSERT_MSG(false, "read_scalar_into: not a scalar type");
  }
}

Value read_value(Cursor& c, uint32_t type, const std::string& file, const std::string& key) {
  auto what = [&] { return str_cat("metadata '", printable(key), "'"); };
  if (!known_value_type(type)) {
    fail(file, ": metadata '", printable(key), "' has unknown value type ", type,
         " (GGUF defines 0..12): the file is corrupt or from a newer GGUF revision");
  }
  Value v;
  v.type = static_cast<ValueType>(type);
  if (v.type == ValueType::STRING) {
    v.scalar = c.read_string(what);
    return v;
  }
  if (v.type != ValueType::ARRAY) {
    std::vector<int64_t> i;
    std::vector<uint64_t> u;
    std::vector<double> f;
    read_scalar_into(c, v.type, file, what, &i, &u, &f);
    if (v.type == ValueType::BOOL) {
      v.scalar = u[0] != 0;
    } else if (!i.empty()) {
      v.scalar = i[0];
    } else if (!u.empty()) {
      v.scalar = u[0];
    } else {
      v.scalar = f[0];
    }
    return v;
  }

  const uint32_t elem = c.read<uint32_t>([&] { return str_cat(what(), " array type"); });
  if (elem == static_cast<uint32_t>(ValueType::ARRAY)) {
    fail(file, ": metadata '", printable(key),
         "' is an array of arrays, which tern does not read (no model needs one)");
  }
  if (!known_value_type(elem)) {
    fail(file, ": metadata '", printable(key), "' is an array of unknown value type ", elem,
         " (GGUF defines 0..12): the file is corrupt");
  }
  v.elem_type = static_cast<ValueType>(elem);
  const uint64_t count = c.read<uint64_t>([&] { return str_cat(what(), " array length"); });
  // Every element takes at least this many bytes, so a count that cannot fit fails here,
  // before reserve() could try to allocate for it.
  const uint64_t min_elem = v.elem_type == ValueType::STRING ? 8 : scalar_size(elem);
  if (count > c.left() / min_elem) {
    fail(file, ": metadata '", printable(key), "' claims ", count, " ",
         value_type_name(v.elem_type), " items at offset ", c.pos(), ", which needs at least ",
         count > UINT64_MAX / min_elem ? UINT64_MAX : count * min_elem, " bytes but only ",
         c.left(), " are left", kTruncated);
  }
  const size_t n = static_cast<size_t>(count);
  auto item = [&] { return str_cat(what(), " array item"); };
  if (v.elem_type == ValueType::STRING) {
    v.arr_str.reserve(n);
    for (size_t k = 0; k < n; ++k) v.arr_str.push_back(c.read_string(item));
  } else {
    if (is_float(v.elem_type)) {
      v.arr_float.reserve(n);
    } else if (is_signed_int(v.elem_type)) {
      v.arr_int.reserve(n);
    } else {
      v.arr_uint.reserve(n);
    }
    for (size_t k = 0; k < n; ++k) {
      read_scalar_into(c, v.elem_type, file, item, &v.arr_int, &v.arr_uint, &v.arr_float);
    }
  }
  return v;
}

// Why ggml_tensor_nbytes rejected a shape, in words.
std::string nbytes_problem(const TensorInfo& t, const GgmlTypeTraits& tr) {
  const std::string name(ggml_type_name(t.type));
  if (t.type == GgmlType::I2_S && t.ne[0] % 128 != 0) {
    return str_cat("i2_s rows must hold a multiple of 128 elements, not ", t.ne[0]);
  }
  if (t.type == GgmlType::TL2 && t.ne[0] < 256) {
    return str_cat("tl2 rows must hold at least 256 elements, not ", t.ne[0]);
  }
  if (tr.whole_tensor) {
    return str_cat(name, " needs an element count that is a multiple of 4, not ", t.n_elements());
  }
  if (t.ne[0] % tr.block_elems != 0) {
    return str_cat("row length ", t.ne[0], " is not a multiple of the ", name, " block size ",
                   tr.block_elems);
  }
  return "its size in bytes overflows";
}

}  // namespace

std::unique_ptr<File> File::open(const std::string& path) {
  std::unique_ptr<File> f(new File());
  f->name_ = path;
  f->map_ = MappedFile(path);
  f->base_ = f->map_.data();
  f->size_ = f->map_.size();
  f->parse();
  return f;
}

std::unique_ptr<File> File::from_memory(const void* data, size_t size, std::string name) {
  std::unique_ptr<File> f(new File());
  f->name_ = std::move(name);
  if (size > 0) {
    f->owned_.resize(size);
    std::memcpy(f->owned_.data(), data, size);
  }
  f->base_ = f->owned_.data();
  f->size_ = size;
  f->parse();
  return f;
}

void File::parse() {
  const std::string& file = name_;
  Cursor c(base_, size_, file);

  // --- header
  if (size_ == 0) fail(file, ": the file is empty (0 bytes), not a GGUF model");
  if (size_ < 4 || std::memcmp(base_, "GGUF", 4) != 0) {
    std::string head;
    for (uint64_t i = 0; i < 4 && i < size_; ++i) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%02x", base_[i]);
      if (i) head += ' ';
      head += buf;
    }
    fail(file, ": not a GGUF file (bad magic: starts with bytes ", head,
         ", expected 47 47 55 46 \"GGUF\"): pass a .gguf model, or convert the checkpoint first");
  }
  c.read<uint32_t>([] { return std::string("magic"); });
  version_ = c.read<uint32_t>([] { return std::string("GGUF version"); });
  if (version_ == 1) fail(file, ": GGUF v1 is not supported, re-convert the model");
  if (version_ != 2 && version_ != 3) {
    const uint32_t swapped = __builtin_bswap32(version_);
    if (swapped >= 1 && swapped <= 3) {
      fail(file, ": GGUF version field reads ", version_,
           ": this is a big-endian GGUF file, and tern reads little-endian files only "
           "(re-convert the model without --bigendian)");
    }
    fail(file, ": unsupported GGUF version ", version_,
         " (tern reads v2 and v3): re-convert the model or update tern");
  }
  const uint64_t n_tensors = c.read<uint64_t>([] { return std::string("tensor count"); });
  const uint64_t n_kv = c.read<uint64_t>([] { return std::string("metadata count"); });
  if (n_kv > kMaxKvCount || n_kv > c.left() / kMinKvBytes) {
    fail(file, ": header claims ", n_kv, " metadata pairs, which cannot fit in the ", c.left(),
         " bytes left (or exceeds tern's limit of ", kMaxKvCount,
         "): the header is corrupt or the file is truncated");
  }
  if (n_tensors > c.left() / kMinTensorInfoBytes) {
    fail(file, ": header claims ", n_tensors, " tensors, which cannot fit in the ", c.left(),
         " bytes left: the header is corrupt or the file is truncated");
  }

  // --- metadata
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.read_string([&] { return str_cat("metadata key #", i); });
    if (key.empty()) fail(file, ": metadata key #", i, " is empty: the file is corrupt");
    if (auto it = kv_index_.find(key); it != kv_index_.end()) {
      fail(file, ": metadata key '", printable(key), "' appears twice (pairs #", it->second,
           " and #", i, "): the file is corrupt or was written by a buggy converter");
    }
    const uint32_t type =
        c.read<uint32_t>([&] { return str_cat("metadata '", printable(key), "' value type"); });
    Value v = read_value(c, type, file, key);
    kv_index_.emplace(key, kv_.size());
    kv_.emplace_back(std::move(key), std::move(v));
  }

  alignment_ = kDefaultAlignment;
  if (const Value* a = find("general.alignment")) {
    if (a->type != ValueType::UINT32) {
      fail(file, ": metadata 'general.alignment' is ", value_type_name(a->type),
           ", expected u32: the file is corrupt");
    }
    const uint64_t al = std::get<uint64_t>(a->scalar);
    if (al == 0 || (al & (al - 1)) != 0) {
      fail(file, ": metadata 'general.alignment' is ", al,
           ", which is not a nonzero power of two: the file is corrupt");
    }
    alignment_ = al;
  }

  // --- tensor infos
  if (n_tensors > c.left() / kMinTensorInfoBytes) {
    fail(file, ": header claims ", n_tensors, " tensors, but their infos cannot fit in the ",
         c.left(), " bytes left after the metadata", kTruncated);
  }
  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    t.name = c.read_string([&] { return str_cat("tensor #", i, " name"); });
    if (t.name.empty()) fail(file, ": tensor #", i, " has an empty name: the file is corrupt");
    const std::string pname = printable(t.name);
    if (auto it = tensor_index_.find(t.name); it != tensor_index_.end()) {
      fail(file, ": tensor '", pname, "' appears twice (tensors #", it->second, " and #", i,
           "): the file is corrupt or was written by a buggy converter");
    }
    auto field = [&](const char* f) {
      return [&, f] { return str_cat("tensor '", pname, "' ", f); };
    };
    const uint32_t n_dims = c.read<uint32_t>(field("n_dims"));
    if (n_dims < 1 || n_dims > 4) {
      fail(file, ": tensor '", pname, "' has n_dims ", n_dims,
           " (GGUF tensors have 1 to 4 dimensions): the file is corrupt");
    }
    t.n_dims = static_cast<int>(n_dims);
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = c.read<uint64_t>(field("dimensions"));
      if (ne == 0 || ne > uint64_t(std::numeric_limits<int64_t>::max())) {
        fail(file, ": tensor '", pname, "' dimension ", d, " is ", ne,
             ne == 0 ? " (empty tensors are not supported)" : " (too large)",
             ": the file is corrupt");
      }
      t.ne[d] = static_cast<int64_t>(ne);
      if (__builtin_mul_overflow(n_elements, t.ne[d], &n_elements)) {
        fail(file, ": tensor '", pname,
             "' has dimensions whose product overflows 64 bits: "
             "the file is corrupt");
      }
    }
    const uint32_t type_id = c.read<uint32_t>(field("type"));
    const auto traits = ggml_type_traits(type_id);
    if (!traits) {
      fail(file, ": tensor '", pname, "' (", t.shape_str(), ") has unknown ggml type id ", type_id,
           ": the file is corrupt or uses a type this build of tern does not know");
    }
    t.type = traits->type;
    t.offset = c.read<uint64_t>(field("offset"));
    const auto nbytes = ggml_tensor_nbytes(t.type, uint64_t(n_elements), uint64_t(t.ne[0]));
    if (!nbytes) {
      fail(file, ": tensor '", pname, "' (", traits->name, ", ", t.shape_str(),
           ") has a shape its type cannot store: ", nbytes_problem(t, *traits));
    }
    t.nbytes = *nbytes;
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // --- data section
  const uint64_t pad = (alignment_ - c.pos() % alignment_) % alignment_;
  data_offset_ = c.pos() + pad;  // pos <= size < 2^63 and pad < 2^32: no overflow
  if (!tensors_.empty() && data_offset_ > size_) {
    fail(file, ": the data section starts at ", data_offset_, " (after padding to alignment ",
         alignment_, ") but the file ends at ", size_, kTruncated);
  }
  const uint64_t data_size = data_offset_ <= size_ ? size_ - data_offset_ : 0;
  for (TensorInfo& t : tensors_) {
    const std::string pname = printable(t.name);
    if (t.offset % alignment_ != 0) {
      fail(file, ": tensor '", pname, "' has data offset ", t.offset,
           ", which is not a multiple of the alignment ", alignment_, ": the file is corrupt");
    }
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      fail(file, ": tensor '", pname, "' (", ggml_type_name(t.type), ", ", t.shape_str(),
           ") needs ", t.nbytes, " bytes at data offset ", t.offset, " (file offset ", data_offset_,
           " + ", t.offset, ") but the file ends at ", size_, kTruncated);
    }
    t.data = base_ + data_offset_ + t.offset;
  }
}

// --- lookups and typed getters

const Value* File::find(std::string_view key) const {
  const auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

namespace {

[[noreturn]] void fail_missing_key(const std::string& file, std::string_view key) {
  fail(file, ": metadata key '", key,
       "' is missing: the file is not a complete model for "
       "tern, or was written by a converter tern does not know");
}

[[noreturn]] void fail_type(const std::string& file, std::string_view key, const Value& v,
                            const char* expected) {
  std::string actual(value_type_name(v.type));
  if (v.is_array()) actual = str_cat("an array of ", value_type_name(v.elem_type));
  fail(file, ": metadata '", key, "' is ", actual, ", expected ", expected);
}

const Value& require(const File& f, std::string_view key) {
  const Value* v = f.find(key);
  if (!v) fail_missing_key(f.path(), key);
  return *v;
}

uint64_t as_u64(const File& f, std::string_view key, const Value& v) {
  if (is_unsigned_int(v.type)) return std::get<uint64_t>(v.scalar);
  if (is_signed_int(v.type)) {
    const int64_t i = std::get<int64_t>(v.scalar);
    if (i < 0) fail(f.path(), ": metadata '", key, "' is ", i, ", expected a value >= 0");
    return static_cast<uint64_t>(i);
  }
  fail_type(f.path(), key, v, "an unsigned integer");
}

int64_t as_i64(const File& f, std::string_view key, const Value& v) {
  if (is_signed_int(v.type)) return std::get<int64_t>(v.scalar);
  if (is_unsigned_int(v.type)) {
    const uint64_t u = std::get<uint64_t>(v.scalar);
    if (u > uint64_t(std::numeric_limits<int64_t>::max())) {
      fail(f.path(), ": metadata '", key, "' is ", u, ", which does not fit in int64");
    }
    return static_cast<int64_t>(u);
  }
  fail_type(f.path(), key, v, "an integer");
}

double as_f64(const File& f, std::string_view key, const Value& v) {
  if (is_float(v.type)) return std::get<double>(v.scalar);
  if (is_signed_int(v.type)) return static_cast<double>(std::get<int64_t>(v.scalar));
  if (is_unsigned_int(v.type)) return static_cast<double>(std::get<uint64_t>(v.scalar));
  fail_type(f.path(), key, v, "a number");
}

}  // namespace

std::string File::get_string(std::string_view key) const {
  const Value& v = require(*this, key);
  if (v.type != ValueType::STRING) fail_type(name_, key, v, "string");
  return std::get<std::string>(v.scalar);
}

std::string File::get_string_or(std::string_view key, std::string def) const {
  return has(key) ? get_string(key) : std::move(def);
}

uint64_t File::get_u64(std::string_view key) const {
  return as_u64(*this, key, require(*this, key));
}

uint64_t File::get_u64_or(std::string_view key, uint64_t def) const {
  const Value* v = find(key);
  return v ? as_u64(*this, key, *v) : def;
}

int64_t File::get_i64(std::string_view key) const {
  return as_i64(*this, key, require(*this, key));
}

int64_t File::get_i64_or(std::string_view key, int64_t def) const {
  const Value* v = find(key);
  return v ? as_i64(*this, key, *v) : def;
}

double File::get_f64(std::string_view key) const { return as_f64(*this, key, require(*this, key)); }

double File::get_f64_or(std::string_view key, double def) const {
  const Value* v = find(key);
  return v ? as_f64(*this, key, *v) : def;
}

bool File::get_bool_or(std::string_view key, bool def) const {
  const Value* v = find(key);
  if (!v) return def;
  if (v->type != ValueType::BOOL) fail_type(name_, key, *v, "bool");
  return std::get<bool>(v->scalar);
}

const std::vector<std::string>& File::get_str_array(std::string_view key) const {
  const Value& v = require(*this, key);
  if (!v.is_array() || v.elem_type != ValueType::STRING) {
    fail_type(name_, key, v, "an array of string");
  }
  return v.arr_str;
}

std::vector<float> File::get_f32_array(std::string_view key) const {
  const Value& v = require(*this, key);
  if (!v.is_array() || v.elem_type == ValueType::STRING || v.elem_type == ValueType::BOOL) {
    fail_type(name_, key, v, "an array of numbers");
  }
  std::vector<float> out;
  out.reserve(v.array_size());
  for (double d : v.arr_float) out.push_back(static_cast<float>(d));
  for (int64_t i : v.arr_int) out.push_back(static_cast<float>(i));
  for (uint64_t u : v.arr_uint) out.push_back(static_cast<float>(u));
  return out;
}

std::vector<int32_t> File::get_i32_array(std::string_view key) const {
  const Value& v = require(*this, key);
  if (!v.is_array() || !(is_signed_int(v.elem_type) || is_unsigned_int(v.elem_type))) {
    fail_type(name_, key, v, "an array of integers");
  }
  std::vector<int32_t> out;
  out.reserve(v.array_size());
  constexpr int64_t lo = std::numeric_limits<int32_t>::min();
  constexpr int64_t hi = std::numeric_limits<int32_t>::max();
  for (size_t k = 0; k < v.arr_int.size(); ++k) {
    if (v.arr_int[k] < lo || v.arr_int[k] > hi) {
      fail(name_, ": metadata '", key, "' item ", k, " is ", v.arr_int[k],
           ", which does not fit in int32");
    }
    out.push_back(static_cast<int32_t>(v.arr_int[k]));
  }
  for (size_t k = 0; k < v.arr_uint.size(); ++k) {
    if (v.arr_uint[k] > uint64_t(hi)) {
      fail(name_, ": metadata '", key, "' item ", k, " is ", v.arr_uint[k],
           ", which does not fit in int32");
    }
    out.push_back(static_cast<int32_t>(v.arr_uint[k]));
  }
  return out;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& File::tensor(std::string_view name) const {
  const TensorInfo* t = find_tensor(name);
  if (!t) {
    fail(name_, ": tensor '", name,
         "' is missing (the file is not a complete model for this "
         "architecture, or was converted by a different tool)");
  }
  return *t;
}

}  // namespace tern::gguf
