// Shared tokenizer machinery: validation of VocabData, special-token splitting, EOG set,
// decode and Utf8Stream. The two algorithms live in bpe.cpp and spm.cpp.
#include <algorithm>
#include <array>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace tern {

namespace {

// Texts that end a turn in the vocabularies tern meets (LLaMA-3, ChatML, LLaMA-2, GPT-2).
constexpr std::array<std::string_view, 6> kEndMarkers = {
    "<|eot_id|>", "<|end_of_text|>", "<|im_end|>", "</s>", "<|endoftext|>", "<|eom_id|>"};

int32_t find_text(const std::vector<std::string>& tokens, std::string_view text) {
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] == text) return static_cast<int32_t>(i);
  return -1;
}

int32_t first_of(const std::vector<std::string>& tokens,
                 std::initializer_list<std::string_view> texts) {
  for (auto t : texts) {
    const int32_t id = find_text(tokens, t);
    if (id >= 0) return id;
  }
  return -1;
}

void check_id(const VocabData& v, int32_t id, const char* key) {
  if (id < -1 || id >= static_cast<int32_t>(v.tokens.size()))
    fail("tokenizer.ggml.", key, " = ", id, " is outside the vocabulary (", v.tokens.size(),
         " tokens): the file's tokenizer metadata is inconsistent");
}

// Checks sizes and ids and fills the ids a file may leave out with the conventional ones.
void validate_and_default(VocabData& v) {
  const size_t n = v.tokens.size();
  if (n == 0) fail("tokenizer.ggml.tokens is empty: the file has no vocabulary");
  if (n > static_cast<size_t>(INT32_MAX)) fail("tokenizer.ggml.tokens has too many entries");
  if (!v.scores.empty() && v.scores.size() != n)
    fail("tokenizer.ggml.scores has ", v.scores.size(), " entries but tokenizer.ggml.tokens has ",
         n, ": the file's tokenizer metadata is inconsistent");
  if (!v.token_types.empty() && v.token_types.size() != n)
    fail("tokenizer.ggml.token_type has ", v.token_types.size(),
         " entries but tokenizer.ggml.tokens has ", n,
         ": the file's tokenizer metadata is inconsistent");
  for (size_t i = 0; i < v.token_types.size(); ++i)
    if (v.token_types[i] < 0 || v.token_types[i] > 6)
      fail("tokenizer.ggml.token_type[", i, "] = ", v.token_types[i],
           " is not a token type (0..6)");
  check_id(v, v.bos_id, "bos_token_id");
  check_id(v, v.eos_id, "eos_token_id");
  check_id(v, v.eot_id, "eot_token_id");
  check_id(v, v.eom_id, "eom_token_id");
  check_id(v, v.pad_id, "padding_token_id");
  check_id(v, v.unk_id, "unknown_token_id");

  if (v.kind == "llama") {
    if (v.bos_id < 0) v.bos_id = first_of(v.tokens, {"<s>"});
    if (v.eos_id < 0) v.eos_id = first_of(v.tokens, {"</s>"});
    if (v.unk_id < 0) v.unk_id = first_of(v.tokens, {"<unk>"});
  } else {
    if (v.bos_id < 0) v.bos_id = first_of(v.tokens, {"<|begin_of_text|>", "<|endoftext|>"});
    if (v.eos_id < 0) v.eos_id = first_of(v.tokens, {"<|end_of_text|>", "<|endoftext|>"});
  }
  // Files converted from Hugging Face often omit eot_token_id although the vocabulary has an
  // end-of-turn token (the official 2B-4T GGUF: <|eot_id|> = 128009); chat stops on it.
  if (v.eot_id < 0) v.eot_id = first_of(v.tokens, {"<|eot_id|>", "<|im_end|>", "<|end|>"});
  if (v.eom_id < 0) v.eom_id = first_of(v.tokens, {"<|eom_id|>"});
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_vocab(VocabData v) {
  if (v.kind != "gpt2" && v.kind != "llama")
    fail("tokenizer.ggml.model is '", v.kind,
         "': tern supports 'gpt2' (byte-level BPE, LLaMA-3) and 'llama' (SentencePiece BPE)");
  validate_and_default(v);
  return v.kind == "gpt2" ? make_bpe_tokenizer(v) : make_spm_tokenizer(v);
}

void Tokenizer::init_common(const VocabData& v) {
  tokens_ = v.tokens;
  const size_t n = tokens_.size();
  types_.assign(n, TokenType::kNormal);
  for (size_t i = 0; i < v.token_types.size(); ++i)
    types_[i] = static_cast<TokenType>(v.token_types[i]);
  bos_ = v.bos_id;
  eos_ = v.eos_id;
  eot_ = v.eot_id;
  add_bos_ = v.add_bos && bos_ >= 0;
  chat_template_ = v.chat_template;
  kind_ = v.kind;

  token_index_.clear();
  token_index_.reserve(n);
  for (size_t i = 0; i < n; ++i)
    token_index_.emplace(std::string_view(tokens_[i]), static_cast<int32_t>(i));  // first wins

  special_by_first_byte_.assign(256, {});
  for (size_t i = 0; i < n; ++i) {
    const TokenType t = types_[i];
    if ((t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) &&
        !tokens_[i].empty())
      special_by_first_byte_[static_cast<uint8_t>(tokens_[i][0])].push_back(
          static_cast<int32_t>(i));
  }
  for (auto& bucket : special_by_first_byte_)
    std::stable_sort(bucket.begin(), bucket.end(),
                     [&](int32_t a, int32_t b) { return tokens_[a].size() > tokens_[b].size(); });

  eog_ids_.clear();
  for (int32_t id : {v.eos_id, v.eot_id, v.eom_id})
    if (id >= 0) eog_ids_.push_back(id);
  for (size_t i = 0; i < n; ++i) {
    if (types_[i] != TokenType::kControl) continue;
    if (std::find(kEndMarkers.begin(), kEndMarkers.end(), tokens_[i]) != kEndMarkers.end())
      eog_ids_.push_back(static_cast<int32_t>(i));
  }
  std::sort(eog_ids_.begin(), eog_ids_.end());
  eog_ids_.erase(std::unique(eog_ids_.begin(), eog_ids_.end()), eog_ids_.end());
}

int32_t Tokenizer::find_token(std::string_view text) const {
  auto it = token_index_.find(text);
  return it == token_index_.end() ? -1 : it->second;
}

bool Tokenizer::is_eog(int32_t id) const {
  return std::binary_search(eog_ids_.begin(), eog_ids_.end(), id);
}

std::vector<Tokenizer::Fragment> Tokenizer::split_special(std::string_view text,
                                                          bool parse_special) const {
  std::vector<Fragment> out;
  size_t raw_start = 0, pos = 0;
  while (pos < text.size()) {
    const auto& bucket = special_by_first_byte_[static_cast<uint8_t>(text[pos])];
    int32_t hit = -1;
    for (int32_t id : bucket) {
      if (!parse_special && types_[id] != TokenType::kUserDefined) continue;
      const std::string& t = tokens_[id];
      if (text.compare(pos, t.size(), t) == 0) {
        hit = id;
        break;  // bucket is longest-first
      }
    }
    if (hit < 0) {
      ++pos;
      continue;
    }
    if (pos > raw_start) out.push_back({text.substr(raw_start, pos - raw_start), -1});
    out.push_back({{}, hit});
    pos += tokens_[hit].size();
    raw_start = pos;
  }
  if (raw_start < text.size()) out.push_back({text.substr(raw_start), -1});
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool show_special) const {
  std::string out;
  bool first_text = true;
  for (int32_t id : ids) {
    std::string piece = token_to_piece(id, show_special);
    const bool is_control = id >= 0 && id < n_vocab() && types_[id] == TokenType::kControl;
    if (strip_leading_space_ && first_text && !is_control) {
      // SentencePiece decodes without the space prefix that encode added.
      if (!piece.empty() && piece[0] == ' ') piece.erase(0, 1);
      first_text = false;
    }
    out += piece;
  }
  return out;
}

std::string Utf8Stream::push(std::string_view piece) {
  pending_.append(piece);
  // Hold back the tail only if it is the start of a multi-byte sequence still missing bytes;
  // invalid bytes are passed on (the caller shows them however it likes) instead of stalling.
  size_t keep_from = pending_.size();
  const size_t n = pending_.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<uint8_t>(pending_[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    size_t need = 0;
    if (c >= 0xC2 && c <= 0xDF)
      need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
      need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
      need = 4;
    if (need > back) keep_from = n - back;
    break;
  }
  std::string out = pending_.substr(0, keep_from);
  pending_.erase(0, keep_from);
  return out;
}

std::string Utf8Stream::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace tern
