// write_synthetic_vocab: build_synthetic_vocab's data as tokenizer.ggml.* keys. Apart from
// synthetic_vocab.cpp so tests of the vocabulary itself do not need the GGUF writer.
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace tern {

void write_synthetic_vocab(gguf::Writer& w, int32_t n_vocab) {
  const VocabData v = build_synthetic_vocab(n_vocab);
  w.set_string("tokenizer.ggml.model", v.kind);
  w.set_string("tokenizer.ggml.pre", v.pre);
  w.set_str_array("tokenizer.ggml.tokens", v.tokens);
  w.set_f32_array("tokenizer.ggml.scores", v.scores);
  w.set_i32_array("tokenizer.ggml.token_type", v.token_types);
  w.set_str_array("tokenizer.ggml.merges", v.merges);
  w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.bos_id));
  w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos_id));
  w.set_u32("tokenizer.ggml.eot_token_id", static_cast<uint32_t>(v.eot_id));
  w.set_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  w.set_string("tokenizer.chat_template", v.chat_template);
}

}  // namespace tern
