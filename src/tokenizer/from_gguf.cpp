// GGUF -> VocabData. Kept apart from the tokenizer core so the core and its tests do not need
// the GGUF reader. Keys: llama.cpp's gguf-py constants (Keys.Tokenizer).
#include "core/error.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace tern {

namespace {

int32_t get_id(const gguf::File& f, std::string_view key) {
  if (!f.has(key)) return -1;
  const int64_t v = f.get_i64(key);
  // Some converters write -1 (as int32 or as UINT32 0xFFFFFFFF) for "none".
  if (v < 0 || v == 0xFFFFFFFFLL) return -1;
  if (v > INT32_MAX) fail(f.path(), ": ", key, " = ", v, " is not a token id");
  return static_cast<int32_t>(v);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::File& f) {
  if (!f.has("tokenizer.ggml.model"))
    fail(f.path(), ": tokenizer.ggml.model is missing: the file has no tokenizer");
  VocabData v;
  v.kind = f.get_string("tokenizer.ggml.model");
  v.pre = f.get_string_or("tokenizer.ggml.pre", "");
  v.tokens = f.get_str_array("tokenizer.ggml.tokens");
  if (f.has("tokenizer.ggml.scores")) v.scores = f.get_f32_array("tokenizer.ggml.scores");
  if (f.has("tokenizer.ggml.token_type"))
    v.token_types = f.get_i32_array("tokenizer.ggml.token_type");
  if (f.has("tokenizer.ggml.merges")) v.merges = f.get_str_array("tokenizer.ggml.merges");
  v.bos_id = get_id(f, "tokenizer.ggml.bos_token_id");
  v.eos_id = get_id(f, "tokenizer.ggml.eos_token_id");
  v.eot_id = get_id(f, "tokenizer.ggml.eot_token_id");
  v.eom_id = get_id(f, "tokenizer.ggml.eom_token_id");
  v.pad_id = get_id(f, "tokenizer.ggml.padding_token_id");
  v.unk_id = get_id(f, "tokenizer.ggml.unknown_token_id");
  v.add_bos = f.get_bool_or("tokenizer.ggml.add_bos_token", true);
  v.add_space_prefix = f.get_bool_or("tokenizer.ggml.add_space_prefix", true);
  v.chat_template = f.get_string_or("tokenizer.chat_template", "");
  try {
    return from_vocab(std::move(v));
  } catch (const Error& e) {
    throw Error(str_cat(f.path(), ": ", e.what()));
  }
}

}  // namespace tern
