// Metadata values and tensor infos: names and human-readable forms for `tern info`.
#include <charconv>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "gguf/gguf.h"

namespace tern::gguf {
namespace {

constexpr size_t kMaxDisplayBytes = 64;  // of one string, before "..."

// Appends `s` quoted, with control bytes escaped and cut after `max_bytes` at a UTF-8
// character boundary, so a vocabulary or chat template stays on one short line.
void append_quoted(std::string& out, const std::string& s, size_t max_bytes) {
  size_t n = s.size();
  bool cut = false;
  if (n > max_bytes) {
    n = max_bytes;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // continuation
    cut = true;
  }
  out += '"';
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  if (cut) out += str_cat("... (", s.size(), " bytes)");
}

// Shortest text that reads back to the same value at the stored precision (1e-05, not
// 9.99999974738e-06, for an f32 epsilon).
void append_float(std::string& out, double v, ValueType t) {
  char buf[64];
  const auto r = t == ValueType::FLOAT32
                     ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v))
                     : std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

bool is_float(ValueType t) { return t == ValueType::FLOAT32 || t == ValueType::FLOAT64; }
bool is_signed(ValueType t) {
  return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 ||
         t == ValueType::INT64;
}

}  // namespace

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::UINT8:
      return "u8";
    case ValueType::INT8:
      return "i8";
    case ValueType::UINT16:
      return "u16";
    case ValueType::INT16:
      return "i16";
    case ValueType::UINT32:
      return "u32";
    case ValueType::INT32:
      return "i32";
    case ValueType::FLOAT32:
      return "f32";
    case ValueType::BOOL:
      return "bool";
    case ValueType::STRING:
      return "string";
    case ValueType::ARRAY:
      return "array";
    case ValueType::UINT64:
      return "u64";
    case ValueType::INT64:
      return "i64";
    case ValueType::FLOAT64:
      return "f64";
  }
  return "unknown";
}

size_t Value::array_size() const {
  if (!is_array()) return 0;
  if (elem_type == ValueType::STRING) return arr_str.size();
  if (is_float(elem_type)) return arr_float.size();
  if (is_signed(elem_type)) return arr_int.size();
  return arr_uint.size();
}

std::string Value::to_display(size_t max_items) const {
  std::string out;
  if (!is_array()) {
    if (type == ValueType::STRING) {
      append_quoted(out, std::get<std::string>(scalar), kMaxDisplayBytes);
    } else if (type == ValueType::BOOL) {
      out = std::get<bool>(scalar) ? "true" : "false";
    } else if (is_float(type)) {
      append_float(out, std::get<double>(scalar), type);
    } else if (is_signed(type)) {
      out = std::to_string(std::get<int64_t>(scalar));
    } else {
      out = std::to_string(std::get<uint64_t>(scalar));
    }
    return out;
  }
  const size_t n = array_size();
  const size_t shown = n < max_items ? n : max_items;
  out += '[';
  for (size_t i = 0; i < shown; ++i) {
    if (i) out += ", ";
    if (elem_type == ValueType::STRING) {
      append_quoted(out, arr_str[i], kMaxDisplayBytes / 2);
    } else if (elem_type == ValueType::BOOL) {
      out += arr_uint[i] ? "true" : "false";
    } else if (is_float(elem_type)) {
      append_float(out, arr_float[i], elem_type);
    } else if (is_signed(elem_type)) {
      out += std::to_string(arr_int[i]);
    } else {
      out += std::to_string(arr_uint[i]);
    }
  }
  if (shown < n) out += str_cat(shown ? ", ... " : "... ", n, " items");
  out += ']';
  return out;
}

std::string TensorInfo::shape_str() const {
  std::string out;
  for (int i = 0; i < n_dims; ++i) {
    if (i) out += " x ";
    out += std::to_string(ne[i]);
  }
  return out;
}

}  // namespace tern::gguf
