// GGUF v3 writer. Metadata is encoded when set; tensor data is produced one tensor at a time
// while writing, so peak memory is one tensor, not the model. The file is written under a
// temporary name in the target directory and renamed into place only when complete.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

#include "core/aligned.h"
#include "core/error.h"
#include "gguf/gguf.h"

namespace tern::gguf {
namespace {

constexpr uint32_t kVersion = 3;

void put_bytes(std::vector<uint8_t>& out, const void* p, size_t n) {
  if (n == 0) return;
  const size_t old = out.size();
  out.resize(old + n);
  std::memcpy(out.data() + old, p, n);
}
template <class T>
void put_le(std::vector<uint8_t>& out, T v) {
  static_assert(std::is_trivially_copyable_v<T>);
  put_bytes(out, &v, sizeof v);  // little-endian host (checked in gguf.cpp)
}
void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put_le<uint64_t>(out, s.size());
  put_bytes(out, s.data(), s.size());
}

// Encodes one scalar of type t from the widened forms Value keeps.
void put_scalar(std::vector<uint8_t>& out, ValueType t, int64_t i, uint64_t u, double f) {
  switch (t) {
    case ValueType::UINT8:
      put_le<uint8_t>(out, uint8_t(u));
      break;
    case ValueType::INT8:
      put_le<int8_t>(out, int8_t(i));
      break;
    case ValueType::UINT16:
      put_le<uint16_t>(out, uint16_t(u));
      break;
    case ValueType::INT16:
      put_le<int16_t>(out, int16_t(i));
      break;
    case ValueType::UINT32:
      put_le<uint32_t>(out, uint32_t(u));
      break;
    case ValueType::INT32:
      put_le<int32_t>(out, int32_t(i));
      break;
    case ValueType::FLOAT32:
      put_le<float>(out, float(f));
      break;
    case ValueType::BOOL:
      put_le<uint8_t>(out, u ? 1 : 0);
      break;
    case ValueType::UINT64:
      put_le<uint64_t>(out, u);
      break;
    case ValueType::INT64:
      put_le<int64_t>(out, i);
      break;
    case ValueType::FLOAT64:
      put_le<double>(out, f);
      break;
    default:
      TERN_ASSERT_MSG(false, "put_scalar: not a scalar type");
  }
}

bool is_signed_int(ValueType t) {
  return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 ||
         t == ValueType::INT64;
}
bool is_float(ValueType t) { return t == ValueType::FLOAT32 || t == ValueType::FLOAT64; }

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Owns the temporary file until commit(): any exception on the way removes it, so a failed
// write leaves neither a half model under the final name nor litter beside it.
class TempFile {
 public:
  explicit TempFile(const std::string& path) : path_(path) {
    static std::atomic<unsigned> counter{0};
    tmp_ = str_cat(path, ".tmp.", ::getpid(), ".", counter++);
    // 0644 before umask, like any file a tool creates (mkstemp would force 0600).
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      fail(path, ": cannot create ", tmp_, ": ", std::strerror(errno),
           " (check that the directory exists and is writable)");
    }
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    while (n > 0) {
      const ssize_t w = ::write(fd_, b, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail_io("cannot write");
      b += w;
      n -= size_t(w);
      written_ += uint64_t(w);
    }
  }
  void write_zeros(uint64_t n) {
    static const uint8_t kZeros[256] = {};
    while (n > 0) {
      const size_t k = n < sizeof kZeros ? size_t(n) : sizeof kZeros;
      write(kZeros, k);
      n -= k;
    }
  }
  uint64_t written() const { return written_; }

  void commit() {
    if (::fsync(fd_) != 0) fail_io("cannot flush to disk");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail_io("cannot close");
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail_io("cannot rename the temporary file");
    committed_ = true;
  }

 private:
  [[noreturn]] void fail_io(const char* what) {
    const int e = errno;
    fail(path_, ": ", what, " (", tmp_, "): ", e ? std::strerror(e) : "short write",
         e == ENOSPC || e == EDQUOT ? " (free some disk space and retry)" : "");
  }

  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  bool committed_ = false;
  uint64_t written_ = 0;
};

}  // namespace

void Writer::put(const std::string& key, ValueType type, std::vector<uint8_t> payload) {
  if (key.empty()) fail("gguf writer: metadata key is empty");
  if (key == "general.alignment") {
    // Readers lay out the data section by this key, so it must match what write() does.
    uint32_t a = 0;
    if (type == ValueType::UINT32) std::memcpy(&a, payload.data(), sizeof a);
    if (type != ValueType::UINT32 || a == 0 || (a & (a - 1)) != 0) {
      fail("gguf writer: general.alignment must be a u32 power of two");
    }
    alignment_ = a;
  }
  for (Kv& kv : kv_) {
    if (kv.key == key) {  // setting a key again replaces it in place
      kv.type = type;
      kv.payload = std::move(payload);
      return;
    }
  }
  kv_.push_back(Kv{key, type, std::move(payload)});
}

void Writer::set_u8(const std::string& key, uint8_t v) {
  std::vector<uint8_t> p;
  put_le(p, v);
  put(key, ValueType::UINT8, std::move(p));
}
void Writer::set_u32(const std::string& key, uint32_t v) {
  std::vector<uint8_t> p;
  put_le(p, v);
  put(key, ValueType::UINT32, std::move(p));
}
void Writer::set_i32(const std::string& key, int32_t v) {
  std::vector<uint8_t> p;
  put_le(p, v);
  put(key, ValueType::INT32, std::move(p));
}
void Writer::set_u64(const std::string& key, uint64_t v) {
  std::vector<uint8_t> p;
  put_le(p, v);
  put(key, ValueType::UINT64, std::move(p));
}
void Writer::set_f32(const std::string& key, float v) {
  std::vector<uint8_t> p;
  put_le(p, v);
  put(key, ValueType::FLOAT32, std::move(p));
}
void Writer::set_bool(const std::string& key, bool v) {
  std::vector<uint8_t> p;
  put_le<uint8_t>(p, v ? 1 : 0);
  put(key, ValueType::BOOL, std::move(p));
}
void Writer::set_string(const std::string& key, const std::string& v) {
  std::vector<uint8_t> p;
  put_string(p, v);
  put(key, ValueType::STRING, std::move(p));
}
void Writer::set_str_array(const std::string& key, const std::vector<std::string>& v) {
  std::vector<uint8_t> p;
  put_le<uint32_t>(p, uint32_t(ValueType::STRING));
  put_le<uint64_t>(p, v.size());
  for (const std::string& s : v) put_string(p, s);
  put(key, ValueType::ARRAY, std::move(p));
}
void Writer::set_f32_array(const std::string& key, const std::vector<float>& v) {
  std::vector<uint8_t> p;
  put_le<uint32_t>(p, uint32_t(ValueType::FLOAT32));
  put_le<uint64_t>(p, v.size());
  put_bytes(p, v.data(), v.size() * sizeof(float));
  put(key, ValueType::ARRAY, std::move(p));
}
void Writer::set_i32_array(const std::string& key, const std::vector<int32_t>& v) {
  std::vector<uint8_t> p;
  put_le<uint32_t>(p, uint32_t(ValueType::INT32));
  put_le<uint64_t>(p, v.size());
  put_bytes(p, v.data(), v.size() * sizeof(int32_t));
  put(key, ValueType::ARRAY, std::move(p));
}

void Writer::set_value(const std::string& key, const Value& v) {
  std::vector<uint8_t> p;
  if (!v.is_array()) {
    if (v.type == ValueType::STRING) {
      put_string(p, std::get<std::string>(v.scalar));
    } else if (v.type == ValueType::BOOL) {
      put_le<uint8_t>(p, std::get<bool>(v.scalar) ? 1 : 0);
    } else if (is_float(v.type)) {
      put_scalar(p, v.type, 0, 0, std::get<double>(v.scalar));
    } else if (is_signed_int(v.type)) {
      put_scalar(p, v.type, std::get<int64_t>(v.scalar), 0, 0);
    } else if (v.type <= ValueType::FLOAT64) {
      put_scalar(p, v.type, 0, std::get<uint64_t>(v.scalar), 0);
    } else {
      fail("gguf writer: metadata '", key, "' has an invalid value type");
    }
    put(key, v.type, std::move(p));
    return;
  }
  if (v.elem_type == ValueType::ARRAY || v.elem_type > ValueType::FLOAT64) {
    fail("gguf writer: metadata '", key, "' is an array of ", value_type_name(v.elem_type),
         ", which GGUF readers do not accept");
  }
  put_le<uint32_t>(p, uint32_t(v.elem_type));
  put_le<uint64_t>(p, v.array_size());
  if (v.elem_type == ValueType::STRING) {
    for (const std::string& s : v.arr_str) put_string(p, s);
  } else if (is_float(v.elem_type)) {
    for (double f : v.arr_float) put_scalar(p, v.elem_type, 0, 0, f);
  } else if (is_signed_int(v.elem_type)) {
    for (int64_t i : v.arr_int) put_scalar(p, v.elem_type, i, 0, 0);
  } else {
    for (uint64_t u : v.arr_uint) put_scalar(p, v.elem_type, 0, u, 0);
  }
  put(key, ValueType::ARRAY, std::move(p));
}

void Writer::set_alignment(uint32_t a) {
  if (a == 0 || (a & (a - 1)) != 0) {
    fail("gguf writer: alignment ", a, " is not a nonzero power of two");
  }
  set_u32("general.alignment", a);  // put() takes the alignment from the key
}

void Writer::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne,
                        Producer producer) {
  if (name.empty()) fail("gguf writer: tensor name is empty");
  for (const Tensor& t : tensors_) {
    if (t.name == name) fail("gguf writer: tensor '", name, "' is added twice");
  }
  if (ne.empty() || ne.size() > 4) {
    fail("gguf writer: tensor '", name, "' has ", ne.size(), " dimensions (GGUF allows 1 to 4)");
  }
  int64_t n = 1;
  for (int64_t d : ne) {
    if (d < 1 || __builtin_mul_overflow(n, d, &n)) {
      fail("gguf writer: tensor '", name, "' has an invalid dimension ", d);
    }
  }
  const auto nbytes = ggml_tensor_nbytes(type, uint64_t(n), uint64_t(ne[0]));
  if (!nbytes) {
    fail("gguf writer: tensor '", name, "' of ", n, " elements with rows of ", ne[0],
         " cannot be stored as ", ggml_type_name(type));
  }
  if (!producer) fail("gguf writer: tensor '", name, "' has no data producer");
  tensors_.push_back(Tensor{name, type, std::move(ne), *nbytes, std::move(producer)});
}

void Writer::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne,
                        std::vector<uint8_t> bytes) {
  // Checked against the shape before the tensor is added, so a wrong buffer fails at the call
  // that made it rather than midway through a multi-GB write.
  int64_t n = 1;
  bool ok = !ne.empty();
  for (int64_t d : ne) ok = ok && d >= 1 && !__builtin_mul_overflow(n, d, &n);
  const auto expect = ok ? ggml_tensor_nbytes(type, uint64_t(n), uint64_t(ne[0])) : std::nullopt;
  if (expect && bytes.size() != *expect) {
    fail("gguf writer: tensor '", name, "' (", ggml_type_name(type), ") has ", bytes.size(),
         " bytes of data, expected ", *expect);
  }
  auto data = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  add_tensor(name, type, std::move(ne),
             [data](uint8_t* dst) { std::memcpy(dst, data->data(), data->size()); });
}

void Writer::write(const std::string& path, const Progress& progress) const {
  // Header and tensor infos, with each tensor's offset in the data section.
  std::vector<uint8_t> head;
  put_bytes(head, "GGUF", 4);
  put_le<uint32_t>(head, kVersion);
  put_le<uint64_t>(head, tensors_.size());
  put_le<uint64_t>(head, kv_.size());
  for (const Kv& kv : kv_) {
    put_string(head, kv.key);
    put_le<uint32_t>(head, uint32_t(kv.type));
    put_bytes(head, kv.payload.data(), kv.payload.size());
  }
  uint64_t data_size = 0;
  for (const Tensor& t : tensors_) {
    put_string(head, t.name);
    put_le<uint32_t>(head, uint32_t(t.ne.size()));
    for (int64_t d : t.ne) put_le<uint64_t>(head, uint64_t(d));
    put_le<uint32_t>(head, uint32_t(t.type));
    put_le<uint64_t>(head, data_size);
    data_size = align_up(data_size + t.nbytes, alignment_);
  }
  const uint64_t head_size = align_up(head.size(), alignment_);
  const uint64_t total = head_size + data_size;

  TempFile out(path);
  out.write(head.data(), head.size());
  out.write_zeros(head_size - head.size());
  if (progress) progress(out.written(), total);

  AlignedBuffer<uint8_t> buf;
  for (const Tensor& t : tensors_) {
    if (buf.size() < t.nbytes) buf.resize(t.nbytes);
    try {
      t.producer(buf.data());
    } catch (const Error& e) {
      fail(path, ": producing tensor '", t.name, "' failed: ", e.what());
    }
    out.write(buf.data(), t.nbytes);
    out.write_zeros(align_up(t.nbytes, alignment_) - t.nbytes);
    if (progress) progress(out.written(), total);
  }
  TERN_ASSERT(out.written() == total);
  out.commit();
}

}  // namespace tern::gguf
