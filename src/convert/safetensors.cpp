#include "convert/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fp16.h"

namespace tern::convert {

namespace {

using json = nlohmann::json;

// Names come from the file: escape and cut them so a message stays one short line.
std::string shown(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= 80) { out += "..."; break; }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// A header larger than this is certainly not a model checkpoint (real ones: ~100 KB).
constexpr uint64_t kMaxHeader = uint64_t(100) << 20;

}  // namespace

const char* st_dtype_name(StDtype t) {
  switch (t) {
    case StDtype::kF32: return "F32";
    case StDtype::kF16: return "F16";
    case StDtype::kBF16: return "BF16";
    case StDtype::kU8: return "U8";
    case StDtype::kI8: return "I8";
  }
  return "?";
}

int st_dtype_size(StDtype t) {
  switch (t) {
    case StDtype::kF32: return 4;
    case StDtype::kF16:
    case StDtype::kBF16: return 2;
    case StDtype::kU8:
    case StDtype::kI8: return 1;
  }
  return 1;
}

int64_t StTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string StTensor::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->name_ = path;
  f->map_ = MappedFile(path);
  f->base_ = f->map_.data();
  f->size_ = f->map_.size();
  f->parse();
  return f;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::from_memory(const void* data, size_t size, std::string name) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->name_ = std::move(name);
  f->owned_.resize(std::max<size_t>(size, 1));
  if (size) std::memcpy(f->owned_.data(), data, size);
  f->base_ = f->owned_.data();
  f->size_ = size;
  f->parse();
  return f;
}

const StTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::parse() {
  const std::string& p = name_;
  if (size_ < 8) fail(p, ": file is ", size_, " bytes, too short for a safetensors header (truncated download?)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | base_[i];
  if (n < 2 || n > kMaxHeader) fail(p, ": header length ", n, " is out of range (2 .. 100 MiB): not a safetensors file");
  if (n > size_ - 8) fail(p, ": header length ", n, " runs past the end of the ", size_, "-byte file: file is truncated");
  const char* hdr = reinterpret_cast<const char*>(base_ + 8);
  json j = json::parse(hdr, hdr + n, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail(p, ": header is not valid JSON: not a safetensors file or damaged");
  if (!j.is_object()) fail(p, ": header is not a JSON object");
  const uint64_t data_start = 8 + n;
  const uint64_t data_size = size_ - data_start;

  struct Span { uint64_t b, e; size_t idx; };
  std::vector<Span> spans;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      if (!it->is_object()) fail(p, ": __metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (m->is_string()) metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const std::string nm = shown(name);
    if (name.empty()) fail(p, ": a tensor has an empty name");
    const json& t = *it;
    if (!t.is_object()) fail(p, ": tensor ", nm, ": entry is not an object");
    auto dt = t.find("dtype");
    auto sh = t.find("shape");
    auto off = t.find("data_offsets");
    if (dt == t.end() || !dt->is_string()) fail(p, ": tensor ", nm, ": dtype is missing or not a string");
    if (sh == t.end() || !sh->is_array()) fail(p, ": tensor ", nm, ": shape is missing or not an array");
    if (off == t.end() || !off->is_array() || off->size() != 2) {
      fail(p, ": tensor ", nm, ": data_offsets must be an array [begin, end]");
    }
    StTensor st;
    st.name = name;
    const std::string d = dt->get<std::string>();
    if (d == "F32") st.dtype = StDtype::kF32;
    else if (d == "F16") st.dtype = StDtype::kF16;
    else if (d == "BF16") st.dtype = StDtype::kBF16;
    else if (d == "U8") st.dtype = StDtype::kU8;
    else if (d == "I8") st.dtype = StDtype::kI8;
    else fail(p, ": tensor ", nm, ": dtype ", shown(d), " is not supported (tern reads F32, F16, BF16, U8, I8)");
    if (sh->size() > 8) fail(p, ": tensor ", nm, ": ", sh->size(), " dimensions (at most 8)");
    // Element count with overflow checks: every dim >= 0 and the product < 2^62.
    uint64_t count = 1;
    for (const json& v : *sh) {
      if (!v.is_number_unsigned()) fail(p, ": tensor ", nm, ": shape entries must be non-negative integers");
      const uint64_t dim = v.get<uint64_t>();
      if (dim > (uint64_t(1) << 62) || (dim != 0 && count > (uint64_t(1) << 62) / dim)) {
        fail(p, ": tensor ", nm, ": shape overflows");
      }
      count *= dim;
      st.shape.push_back(static_cast<int64_t>(dim));
    }
    const json& b = (*off)[0];
    const json& e = (*off)[1];
    if (!b.is_number_unsigned() || !e.is_number_unsigned()) {
      fail(p, ": tensor ", nm, ": data_offsets must be non-negative integers");
    }
    const uint64_t ob = b.get<uint64_t>(), oe = e.get<uint64_t>();
    if (ob > oe) fail(p, ": tensor ", nm, ": data_offsets [", ob, ", ", oe, "] end before they begin");
    if (oe > data_size) {
      fail(p, ": tensor ", nm, ": data_offsets [", ob, ", ", oe, "] run past the end of the data (", data_size,
           " bytes): file is truncated");
    }
    const uint64_t want = count * static_cast<uint64_t>(st_dtype_size(st.dtype));
    if (oe - ob != want) {
      fail(p, ": tensor ", nm, ": holds ", oe - ob, " bytes but shape ", st.shape_str(), " of ", d, " needs ", want);
    }
    st.data = base_ + data_start + ob;
    st.nbytes = want;
    st.file = &name_;
    index_[name] = tensors_.size();
    spans.push_back({ob, oe, tensors_.size()});
    tensors_.push_back(std::move(st));
  }
  // Tensors must not overlap (the format requires a dense, ordered layout; overlap means a
  // hand-made or damaged file whose writes would alias).
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.b < b.b || (a.b == b.b && a.e < b.e); });
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].b < spans[i - 1].e) {
      fail(p, ": tensor ", shown(tensors_[spans[i].idx].name), ": data overlaps tensor ",
           shown(tensors_[spans[i - 1].idx].name));
    }
  }
  for (StTensor& t : tensors_) t.file = &name_;  // the vector may have moved the strings' owner
}

// ------------------------------------------------------------------------------ Checkpoint

void Checkpoint::add_file(std::unique_ptr<SafetensorsFile> f) {
  for (const StTensor& t : f->tensors()) {
    auto [it, inserted] = by_name_.emplace(t.name, &t);
    if (!inserted) {
      fail(dir_, ": tensor ", shown(t.name), " is in both ", *it->second->file, " and ", f->path());
    }
  }
  files_.push_back(std::move(f));
}

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string& dir) {
  namespace fs = std::filesystem;
  auto ck = std::make_unique<Checkpoint>(dir);
  const fs::path d(dir);
  const fs::path index = d / "model.safetensors.index.json";
  const fs::path single = d / "model.safetensors";
  if (fs::exists(index)) {
    std::ifstream in(index);
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(index.string(), ": not valid JSON");
    auto wm = j.find("weight_map");
    if (wm == j.end() || !wm->is_object() || wm->empty()) fail(index.string(), ": weight_map is missing or empty");
    std::map<std::string, std::vector<std::string>> by_file;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it->is_string()) fail(index.string(), ": weight_map entry ", shown(it.key()), " is not a file name");
      const std::string file = it->get<std::string>();
      if (file.empty() || file.find('/') != std::string::npos || file.find("..") != std::string::npos) {
        fail(index.string(), ": weight_map names file '", shown(file), "', which is not a plain file name in ", dir);
      }
      by_file[file].push_back(it.key());
    }
    for (const auto& [file, names] : by_file) {
      const fs::path fp = d / file;
      if (!fs::exists(fp)) fail(index.string(), ": shard ", file, " is missing (download incomplete?)");
      auto f = SafetensorsFile::open(fp.string());
      for (const std::string& n : names) {
        if (!f->find(n)) fail(fp.string(), ": tensor ", shown(n), " named by the index is not in this shard");
      }
      ck->add_file(std::move(f));
    }
  } else if (fs::exists(single)) {
    ck->add_file(SafetensorsFile::open(single.string()));
  } else {
    // Any lone *.safetensors file (some repos name it differently).
    std::vector<fs::path> found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      if (e.path().extension() == ".safetensors") found.push_back(e.path());
    }
    if (found.size() != 1) {
      fail(dir, ": no model.safetensors or model.safetensors.index.json",
           found.empty() ? " (tern converts safetensors checkpoints; .bin / .pt files are not read)"
                         : " and several .safetensors files: add the index file");
    }
    ck->add_file(SafetensorsFile::open(found[0].string()));
  }
  return ck;
}

const StTensor* Checkpoint::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const StTensor& Checkpoint::get(const std::string& name, const char* why) const {
  const StTensor* t = find(name);
  if (!t) fail(dir_, ": tensor ", name, " is missing (", why, "): the checkpoint is incomplete or of another architecture");
  return *t;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> v;
  for (const auto& [n, t] : by_name_) v.push_back(n);
  return v;
}

// ------------------------------------------------------------------------------ conversion

void st_to_f32(const StTensor& t, float* dst) { st_to_f32(t, 0, t.n_elements(), dst); }

void st_to_f32(const StTensor& t, int64_t first, int64_t count, float* dst) {
  TERN_ASSERT(first >= 0 && count >= 0 && first + count <= t.n_elements());
  const int64_t n = count;
  const uint8_t* s = t.data + first * st_dtype_size(t.dtype);
  switch (t.dtype) {
    case StDtype::kF32:
      std::memcpy(dst, s, static_cast<size_t>(n) * 4);
      return;
    case StDtype::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(static_cast<uint16_t>(s[2 * i] | (s[2 * i + 1] << 8)));
      return;
    case StDtype::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(static_cast<uint16_t>(s[2 * i] | (s[2 * i + 1] << 8)));
      return;
    default:
      fail(*t.file, ": tensor ", t.name, " has dtype ", st_dtype_name(t.dtype), ", expected a float type (F32, F16, BF16)");
  }
}

std::vector<float> st_to_f32(const StTensor& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  st_to_f32(t, v.data());
  return v;
}

float st_scalar(const StTensor& t) {
  if (t.n_elements() != 1) fail(*t.file, ": tensor ", t.name, " has shape ", t.shape_str(), ", expected one value");
  float v = 0.0f;
  st_to_f32(t, &v);
  return v;
}

}  // namespace tern::convert
