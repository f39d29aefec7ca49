// Byte-level BPE ("gpt2" model): GPT-2 / LLaMA-3 style.
// Text -> special-token split -> regex pre-tokenizer -> each word's bytes mapped to GPT-2's
// printable code points -> merges applied lowest rank first (tokenizer.ggml.merges order).
// Sources: openai/gpt-2 encoder.py (byte mapping, merge loop), Hugging Face tokenizers BPE
// (ignore_merges, used by LLaMA-3's tokenizer.json).
#include <algorithm>
#include <array>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace tern {

std::string resolve_bpe_pre(const VocabData& v) {
  const std::string& p = v.pre;
  if (p == "llama-bpe" || p == "llama3" || p == "llama-v3") return "llama3";
  if (p == "gpt2" || p == "default") return "gpt2";
  if (!p.empty())
    fail("tokenizer.ggml.pre is '", p,
         "': tern implements the pre-tokenizers 'llama-bpe' (also 'llama3') and 'gpt2'");
  // No .pre key (bitnet.cpp's official 2B-4T file): a LLaMA-3 vocabulary is recognised by its
  // size and its BOS text; anything else gets GPT-2's regex, the original byte-level BPE.
  const bool llama3_like =
      v.tokens.size() >= 128000 &&
      std::find(v.tokens.begin(), v.tokens.end(), "<|begin_of_text|>") != v.tokens.end();
  return llama3_like ? "llama3" : "gpt2";
}

namespace {

class BpeTokenizer final : public Tokenizer {
 public:
  explicit BpeTokenizer(const VocabData& v)
      : pre_tok_(resolve_bpe_pre(v) == "llama3" ? kRegexLlama3 : kRegexGpt2) {
    init_common(v);
    pre_ = resolve_bpe_pre(v);
    if (v.pre.empty()) log_debug("tokenizer: no tokenizer.ggml.pre, using '", pre_, "'");
    // Hugging Face's LLaMA-3 tokenizer.json sets ignore_merges: a word that is itself a token
    // is emitted whole, even where the merges would not build it.
    ignore_merges_ = pre_ == "llama3";
    for (int b = 0; b < 256; ++b)
      byte_token_[b] = find_token(unicode::byte_to_utf8(static_cast<uint8_t>(b)));
    load_merges(v.merges);
  }

  std::vector<int32_t> encode(std::string_view text, bool add_bos,
                              bool parse_special) const override {
    std::vector<int32_t> out;
    if (add_bos && bos_ >= 0) out.push_back(bos_);
    std::string mapped;
    for (const Fragment& frag : split_special(text, parse_special)) {
      if (frag.token >= 0) {
        out.push_back(frag.token);
        continue;
      }
      for (std::string_view word : pre_tok_.split(frag.text)) encode_word(word, mapped, out);
    }
    return out;
  }

  std::string token_to_piece(int32_t id, bool show_special) const override {
    if (id < 0 || id >= n_vocab()) return {};
    const std::string& text = tokens_[id];
    switch (types_[id]) {
      case TokenType::kControl:
      case TokenType::kUnknown:
        return show_special ? text : std::string();
      case TokenType::kUserDefined:
        return text;  // added tokens are stored as plain text, not byte-mapped
      case TokenType::kUnused:
        return {};
      default:
        break;
    }
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      const size_t len = unicode::utf8_seq_len(text, pos);
      if (len == 0) {  // malformed token text: pass the byte through
        out += text[pos++];
        continue;
      }
      const uint32_t cp = unicode::utf8_decode(text, pos, len);
      const int b = unicode::byte_from_codepoint(cp);
      if (b >= 0)
        out += static_cast<char>(b);
      else
        out.append(text, pos, len);  // not a mapped byte: keep the character
      pos += len;
    }
    return out;
  }

 private:
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  void load_merges(const std::vector<std::string>& merges) {
    merges_.reserve(merges.size());
    size_t skipped = 0;
    std::string joined;
    for (size_t i = 0; i < merges.size(); ++i) {
      const std::string& m = merges[i];
      // Split at the first space after position 0: neither side of a byte-level merge contains
      // a raw space (space is mapped to U+0120), but be lenient about a leading one.
      const size_t sp = m.find(' ', 1);
      if (sp == std::string::npos || sp + 1 >= m.size())
        fail("tokenizer.ggml.merges[", i, "] = '", m,
             "' is not of the form 'left right': the file's merges are corrupt");
      const int32_t a = find_token(std::string_view(m).substr(0, sp));
      const int32_t b = find_token(std::string_view(m).substr(sp + 1));
      joined.assign(m, 0, sp);
      joined.append(m, sp + 1, std::string::npos);
      const int32_t ab = find_token(joined);
      if (a < 0 || b < 0 || ab < 0) {
        ++skipped;  // cannot produce a token: never useful
        continue;
      }
      merges_.emplace(pair_key(a, b), Merge{static_cast<int32_t>(i), ab});  // first rank wins
    }
    if (skipped) log_debug("tokenizer: ", skipped, " merges name tokens not in the vocabulary");
  }

  // One pre-tokenized word -> ids appended to `out`. `mapped` is scratch.
  void encode_word(std::string_view word, std::string& mapped, std::vector<int32_t>& out) const {
    mapped.clear();
    for (char c : word) mapped += unicode::byte_to_utf8(static_cast<uint8_t>(c));
    if (ignore_merges_) {
      const int32_t id = find_token(mapped);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    // Symbols start as one per byte (each byte is one mapped code point) in a linked list;
    // candidate pairs sit in a min-heap by (rank, position) and are re-checked when popped, so
    // a word of n bytes costs O(n log n).
    const int n = static_cast<int>(word.size());
    std::vector<int32_t> sym(n), prev(n), next(n);
    for (int i = 0; i < n; ++i) {
      sym[i] = byte_token_[static_cast<uint8_t>(word[i])];
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    struct Cand {
      int32_t rank, left, a, b;
      bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    const auto consider = [&](int left) {
      if (left < 0) return;
      const int right = next[left];
      if (right < 0 || sym[left] < 0 || sym[right] < 0) return;
      auto it = merges_.find(pair_key(sym[left], sym[right]));
      if (it != merges_.end()) heap.push({it->second.rank, left, sym[left], sym[right]});
    };
    for (int i = 0; i + 1 < n; ++i) consider(i);
    while (!heap.empty()) {
      const Cand c = heap.top();
      heap.pop();
      const int right = next[c.left];
      // Stale: the left symbol was merged away or either side changed since the push.
      if (sym[c.left] != c.a || right < 0 || sym[right] != c.b) continue;
      sym[c.left] = merges_.at(pair_key(c.a, c.b)).id;
      sym[right] = -2;  // dead
      next[c.left] = next[right];
      if (next[right] >= 0) prev[next[right]] = c.left;
      consider(prev[c.left]);
      consider(c.left);
    }
    for (int i = 0; i >= 0 && i < n; i = next[i])
      if (sym[i] >= 0) out.push_back(sym[i]);  // -1: byte without a token (not in vocab)
  }

  struct Merge {
    int32_t rank;
    int32_t id;
  };
  PreTokenizer pre_tok_;
  bool ignore_merges_ = false;
  std::array<int32_t, 256> byte_token_{};
  std::unordered_map<uint64_t, Merge> merges_;  // (left id, right id) -> rank, merged id
};

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(const VocabData& v) {
  return std::make_unique<BpeTokenizer>(v);
}

}  // namespace tern
