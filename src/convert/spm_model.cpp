#include "convert/spm_model.h"

#include <cstring>

#include "core/error.h"

namespace tern::convert {

namespace {

// Protobuf wire types.
constexpr int kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5;

class Reader {
 public:
  Reader(const uint8_t* p, size_t n, const std::string& path, const char* what)
      : p_(p), end_(p + n), path_(path), what_(what) {}
  bool done() const { return p_ >= end_; }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) fail(path_, ": ", what_, ": truncated varint: file is damaged or not a tokenizer.model");
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(path_, ": ", what_, ": varint longer than 10 bytes: not a tokenizer.model");
  }
  // Reads a field key; returns false at the end.
  bool key(uint32_t& field, int& wire) {
    if (done()) return false;
    const uint64_t k = varint();
    field = static_cast<uint32_t>(k >> 3);
    wire = static_cast<int>(k & 7);
    if (field == 0) fail(path_, ": ", what_, ": field number 0: not a tokenizer.model");
    return true;
  }
  std::pair<const uint8_t*, size_t> bytes() {
    const uint64_t n = varint();
    if (n > static_cast<uint64_t>(end_ - p_)) {
      fail(path_, ": ", what_, ": a field of ", n, " bytes runs past the end: file is truncated");
    }
    const uint8_t* b = p_;
    p_ += n;
    return {b, static_cast<size_t>(n)};
  }
  uint32_t fixed32() {
    if (end_ - p_ < 4) fail(path_, ": ", what_, ": truncated fixed32 field");
    uint32_t v;
    std::memcpy(&v, p_, 4);
    p_ += 4;
    return v;
  }
  void skip(int wire) {
    switch (wire) {
      case kVarint: varint(); return;
      case kFixed64:
        if (end_ - p_ < 8) fail(path_, ": ", what_, ": truncated fixed64 field");
        p_ += 8;
        return;
      case kLen: bytes(); return;
      case kFixed32: fixed32(); return;
      default: fail(path_, ": ", what_, ": unsupported wire type ", wire, ": not a tokenizer.model");
    }
  }
  void expect(int wire, int want, uint32_t field) {
    if (wire != want) fail(path_, ": ", what_, ": field ", field, " has wire type ", wire, ", expected ", want);
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  const std::string& path_;
  const char* what_;
};

SpmModel::Piece parse_piece(const uint8_t* p, size_t n, const std::string& path, size_t index) {
  Reader r(p, n, path, "piece");
  SpmModel::Piece pc;
  uint32_t f;
  int w;
  while (r.key(f, w)) {
    if (f == 1) {
      r.expect(w, kLen, f);
      auto [b, len] = r.bytes();
      pc.text.assign(reinterpret_cast<const char*>(b), len);
    } else if (f == 2) {
      r.expect(w, kFixed32, f);
      const uint32_t bits = r.fixed32();
      std::memcpy(&pc.score, &bits, 4);
    } else if (f == 3) {
      r.expect(w, kVarint, f);
      const uint64_t t = r.varint();
      if (t < 1 || t > 6) fail(path, ": piece ", index, " has type ", t, " (known: 1..6)");
      pc.type = static_cast<int32_t>(t);
    } else {
      r.skip(w);
    }
  }
  return pc;
}

int32_t as_i32(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

}  // namespace

SpmModel parse_spm_model(const uint8_t* data, size_t size, const std::string& path) {
  SpmModel m;
  Reader r(data, size, path, "ModelProto");
  uint32_t f;
  int w;
  while (r.key(f, w)) {
    if (f == 1) {
      r.expect(w, kLen, f);
      auto [b, n] = r.bytes();
      m.pieces.push_back(parse_piece(b, n, path, m.pieces.size()));
    } else if (f == 2) {
      r.expect(w, kLen, f);
      auto [b, n] = r.bytes();
      Reader t(b, n, path, "trainer_spec");
      uint32_t tf;
      int tw;
      while (t.key(tf, tw)) {
        if (tw != kVarint) { t.skip(tw); continue; }
        const uint64_t v = t.varint();
        switch (tf) {
          case 3: m.model_type = as_i32(v); break;
          case 35: m.byte_fallback = v != 0; break;
          case 40: m.unk_id = as_i32(v); break;
          case 41: m.bos_id = as_i32(v); break;
          case 42: m.eos_id = as_i32(v); break;
          case 43: m.pad_id = as_i32(v); break;
          default: break;
        }
      }
    } else if (f == 3) {
      r.expect(w, kLen, f);
      auto [b, n] = r.bytes();
      Reader t(b, n, path, "normalizer_spec");
      uint32_t tf;
      int tw;
      while (t.key(tf, tw)) {
        if (tf == 1 && tw == kLen) {
          auto [sb, sn] = t.bytes();
          m.normalizer_name.assign(reinterpret_cast<const char*>(sb), sn);
        } else if (tf == 3 && tw == kVarint) {
          m.add_dummy_prefix = t.varint() != 0;
        } else if (tf == 4 && tw == kVarint) {
          m.remove_extra_whitespaces = t.varint() != 0;
        } else {
          t.skip(tw);
        }
      }
    } else {
      r.skip(w);
    }
  }
  if (m.pieces.empty()) fail(path, ": no pieces: not a SentencePiece tokenizer.model");
  return m;
}

}  // namespace tern::convert
