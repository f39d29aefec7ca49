// Tokenizers built from GGUF metadata (tokenizer.ggml.*):
//  - "gpt2": byte-level BPE (LLaMA-3 vocabulary and pre-tokenizer; also used when the file has
//    no tokenizer.ggml.pre, as bitnet.cpp's official 2B-4T file);
//  - "llama": SentencePiece-style BPE with scores and <0xXX> byte fallback (LLaMA-2 vocab,
//    1bitLLM models).
// The core is built from plain data (VocabData, Tokenizer::from_vocab) so it can be tested
// without a GGUF file; from_gguf() only fills a VocabData. See docs/TOKENIZER.md.
// Bad tokenizer data raises tern::Error naming the key and the problem.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tern::gguf {
class File;
class Writer;
}  // namespace tern::gguf

namespace tern {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,      // BOS/EOS/<|eot_id|>...: split out of text only when parse_special
  kUserDefined = 4,  // always split out of text, decoded verbatim
  kUnused = 5,
  kByte = 6,  // SentencePiece <0xXX> byte-fallback pieces
};

// Everything a tokenizer is built from, named after the GGUF keys (tokenizer.ggml.*).
struct VocabData {
  std::string kind;                  // .model: "gpt2" | "llama"
  std::string pre;                   // .pre: "" = absent (inferred, see docs/TOKENIZER.md)
  std::vector<std::string> tokens;   // .tokens [n_vocab]
  std::vector<float> scores;         // .scores [n_vocab] or empty (= all 0)
  std::vector<int32_t> token_types;  // .token_type [n_vocab] or empty (= all NORMAL)
  std::vector<std::string> merges;   // .merges, "left right" in rank order (gpt2 only)
  // -1 = absent; from_vocab fills well-known defaults (see docs/TOKENIZER.md).
  int32_t bos_id = -1, eos_id = -1, eot_id = -1, eom_id = -1, pad_id = -1, unk_id = -1;
  bool add_bos = true;           // .add_bos_token
  bool add_space_prefix = true;  // .add_space_prefix ("llama" only)
  std::string chat_template;     // tokenizer.chat_template
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Validates `v` and builds the tokenizer for v.kind. Throws tern::Error.
  static std::unique_ptr<Tokenizer> from_vocab(VocabData v);
  // Reads tokenizer.ggml.* from `f` into a VocabData and calls from_vocab.
  static std::unique_ptr<Tokenizer> from_gguf(const gguf::File& f);

  // Text -> ids. add_bos prepends BOS (callers pass add_bos_default() normally);
  // parse_special lets "<|eot_id|>"-style text in the input become its special token.
  // Never throws on any byte string (invalid UTF-8 included, see docs/TOKENIZER.md).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos,
                                      bool parse_special) const = 0;
  // The bytes a token stands for (byte-level decoded; may be a partial UTF-8 sequence).
  // Control tokens (BOS, EOS, ...) give "" unless `show_special`. Out-of-range ids give "".
  virtual std::string token_to_piece(int32_t id, bool show_special = false) const = 0;
  // Concatenated pieces; for "llama" the space prefix added by encode is removed again.
  std::string decode(const std::vector<int32_t>& ids, bool show_special = false) const;

  int32_t n_vocab() const { return static_cast<int32_t>(tokens_.size()); }
  const std::string& token_text(int32_t id) const { return tokens_.at(static_cast<size_t>(id)); }
  TokenType token_type(int32_t id) const { return types_.at(static_cast<size_t>(id)); }
  // Exact token text -> id, or -1.
  int32_t find_token(std::string_view text) const;
  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  int32_t eot() const { return eot_; }  // -1 when the vocabulary has none
  bool add_bos_default() const { return add_bos_; }
  // End of generation: EOS, EOT, EOM, or a control token whose text is a known end marker.
  bool is_eog(int32_t id) const;
  const std::vector<int32_t>& eog_ids() const { return eog_ids_; }
  const std::string& chat_template() const { return chat_template_; }  // "" if none
  const std::string& kind() const { return kind_; }                    // "gpt2" | "llama"
  const std::string& pre() const { return pre_; }  // pre-tokenizer in use ("llama3", ...)

 protected:
  // Fills the shared fields from validated data (ids already checked).
  void init_common(const VocabData& v);
  // Splits `text` into raw-text pieces and special-token ids. Tokens of type USER_DEFINED are
  // always matched; CONTROL ones only when parse_special. Longest match wins.
  struct Fragment {
    std::string_view text;  // raw text when token < 0
    int32_t token = -1;
  };
  std::vector<Fragment> split_special(std::string_view text, bool parse_special) const;

  std::vector<std::string> tokens_;
  std::vector<TokenType> types_;
  std::vector<int32_t> eog_ids_;
  int32_t bos_ = -1, eos_ = -1, eot_ = -1;
  bool add_bos_ = true;
  bool strip_leading_space_ = false;  // "llama": decode drops the space encode prefixed
  std::string chat_template_, kind_, pre_;

 private:
  std::unordered_map<std::string_view, int32_t> token_index_;  // views into tokens_
  // CONTROL / UNKNOWN / USER_DEFINED ids bucketed by first byte, longest text first.
  std::vector<std::vector<int32_t>> special_by_first_byte_;
};

// Streams token pieces to text, holding back an incomplete UTF-8 sequence until it completes.
class Utf8Stream {
 public:
  std::string push(std::string_view piece);  // returns the complete part
  std::string flush();                       // whatever is left (possibly invalid bytes)
 private:
  std::string pending_;
};

// The synthetic byte-level BPE vocabulary of write_synthetic_vocab as plain data: exactly
// n_vocab tokens (300 <= n_vocab <= 1'000'000): 256 byte tokens, merged English fragments with
// their merges, <|reserved_special_token_N|> filler, then <|begin_of_text|>, <|end_of_text|>,
// <|eot_id|> as the last three ids. Deterministic. Throws tern::Error when n_vocab is out of range.
VocabData build_synthetic_vocab(int32_t n_vocab);

// Writes build_synthetic_vocab(n_vocab) into `w` (tokenizer.ggml.* keys and
// tokenizer.chat_template), for `tern dummy` models.
void write_synthetic_vocab(gguf::Writer& w, int32_t n_vocab);

}  // namespace tern
