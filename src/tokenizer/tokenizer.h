// Tokenizers built from GGUF metadata (tokenizer.ggml.*):
//  - "gpt2": byte-level BPE (LLaMA-3 vocabulary and pre-tokenizer; also used when the file has
//    no tokenizer.ggml.pre, as bitnet.cpp's official 2B-4T file);
//  - "llama": SentencePiece-style BPE with scores and <0xXX> byte fallback (LLaMA-2 vocab,
//    1bitLLM models).
// Bad tokenizer data raises tern::Error naming the key and the problem.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tern::gguf {
class File;
class Writer;
}  // namespace tern::gguf

namespace tern {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  static std::unique_ptr<Tokenizer> from_gguf(const gguf::File& f);

  // Text -> ids. add_bos prepends BOS (callers pass add_bos_default() normally);
  // parse_special lets "<|eot_id|>"-style text in the input become its special token.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos,
                                      bool parse_special) const = 0;
  // The bytes a token stands for (byte-level decoded; may be a partial UTF-8 sequence).
  // Control tokens (BOS, EOS, ...) give "" unless `show_special`.
  virtual std::string token_to_piece(int32_t id, bool show_special = false) const = 0;
  std::string decode(const std::vector<int32_t>& ids, bool show_special = false) const;

  int32_t n_vocab() const { return static_cast<int32_t>(tokens_.size()); }
  const std::string& token_text(int32_t id) const { return tokens_.at(static_cast<size_t>(id)); }
  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  int32_t eot() const { return eot_; }  // -1 when the vocabulary has none
  bool add_bos_default() const { return add_bos_; }
  // End of generation: EOS, EOT, or any token the file marks as end-of-generation.
  bool is_eog(int32_t id) const;
  const std::string& chat_template() const { return chat_template_; }  // "" if none
  const std::string& kind() const { return kind_; }                    // "gpt2" | "llama"
  const std::string& pre() const { return pre_; }  // pre-tokenizer in use ("llama3", ...)

 protected:
  std::vector<std::string> tokens_;
  std::vector<int32_t> eog_ids_;
  int32_t bos_ = -1, eos_ = -1, eot_ = -1;
  bool add_bos_ = true;
  std::string chat_template_, kind_, pre_;
};

// Streams token pieces to text, holding back an incomplete UTF-8 sequence until it completes.
class Utf8Stream {
 public:
  std::string push(std::string_view piece);  // returns the complete part
  std::string flush();                       // whatever is left (possibly invalid bytes)
 private:
  std::string pending_;
};

// Writes a synthetic byte-level BPE vocabulary of exactly n_vocab tokens (n_vocab >= 300) into
// `w` (tokenizer.ggml.* keys, LLaMA-3-like special tokens at the top, bos/eos/eot ids), for
// `tern dummy` models. Deterministic.
void write_synthetic_vocab(gguf::Writer& w, int32_t n_vocab);

}  // namespace tern
