// SentencePiece-style BPE ("llama" model), as llama.cpp's SPM tokenizer for LLaMA-2 vocabularies:
// the text gets a space prefix, spaces become U+2581, then adjacent pieces are merged greedily,
// highest score of the merged piece first (leftmost on ties), and whatever is not a piece at
// the end falls back to <0xXX> byte tokens. Source: google/sentencepiece bpe_model.cc
// (Encode), llama.cpp llm_tokenizer_spm.
#include <array>
#include <cstdio>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace tern {

namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(const VocabData& v) {
    init_common(v);
    pre_ = "spm";
    strip_leading_space_ = v.add_space_prefix;
    add_space_prefix_ = v.add_space_prefix;
    unk_ = v.unk_id;
    scores_ = v.scores;
    if (scores_.empty()) scores_.assign(tokens_.size(), 0.0f);
    byte_token_.fill(-1);
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const TokenType t = types_[i];
      if (t == TokenType::kByte) {
        const int b = parse_byte_token(tokens_[i]);
        if (b >= 0 && byte_token_[b] < 0) byte_token_[b] = static_cast<int32_t>(i);
      } else if (t == TokenType::kNormal || t == TokenType::kUserDefined ||
                 t == TokenType::kUndefined) {
        // Only ordinary pieces can be formed by merging: SentencePiece never builds a control,
        // unknown, unused or byte piece out of text ("<0x41>" typed in stays text).
        pieces_.emplace(std::string_view(tokens_[i]), static_cast<int32_t>(i));
      }
    }
  }

  std::vector<int32_t> encode(std::string_view text, bool add_bos,
                              bool parse_special) const override {
    std::vector<int32_t> out;
    if (add_bos && bos_ >= 0) out.push_back(bos_);
    // Like llama.cpp: a text run gets the space prefix at the start and after a special token.
    bool prev_special = true;
    std::string norm;
    for (const Fragment& frag : split_special(text, parse_special)) {
      if (frag.token >= 0) {
        out.push_back(frag.token);
        prev_special = true;
        continue;
      }
      norm.clear();
      if (add_space_prefix_ && prev_special) norm += kSpace;
      for (char c : frag.text) {
        if (c == ' ')
          norm += kSpace;
        else
          norm += c;
      }
      encode_text(norm, out);
      prev_special = false;
    }
    return out;
  }

  std::string token_to_piece(int32_t id, bool show_special) const override {
    if (id < 0 || id >= n_vocab()) return {};
    const std::string& text = tokens_[id];
    switch (types_[id]) {
      case TokenType::kControl:
        return show_special ? text : std::string();
      case TokenType::kUnknown:
        return show_special ? text : std::string("\xEF\xBF\xBD");  // U+FFFD
      case TokenType::kUserDefined:
        return text;
      case TokenType::kUnused:
        return {};
      case TokenType::kByte: {
        const int b = parse_byte_token(text);
        return b >= 0 ? std::string(1, static_cast<char>(b)) : text;
      }
      default:
        break;
    }
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      if (text.compare(pos, kSpace.size(), kSpace) == 0) {
        out += ' ';
        pos += kSpace.size();
      } else {
        out += text[pos++];
      }
    }
    return out;
  }

 private:
  // "<0x41>" -> 0x41, else -1.
  static int parse_byte_token(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    unsigned v = 0;
    for (int i = 3; i < 5; ++i) {
      const char c = t[i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else
        return -1;
    }
    return static_cast<int>(v);
  }

  int32_t find_piece(std::string_view s) const {
    auto it = pieces_.find(s);
    return it == pieces_.end() ? -1 : it->second;
  }

  void encode_text(std::string_view text, std::vector<int32_t>& out) const {
    // Symbols are spans of `text`: one per UTF-8 character (an invalid byte is a symbol of its
    // own and ends up as its <0xXX> token). Merging keeps them contiguous, so a merged piece is
    // always text.substr(start, len).
    struct Sym {
      size_t start, len;
      int prev, next;
    };
    std::vector<Sym> syms;
    for (size_t pos = 0; pos < text.size();) {
      size_t len = unicode::utf8_seq_len(text, pos);
      if (len == 0) len = 1;
      const int idx = static_cast<int>(syms.size());
      syms.push_back({pos, len, idx - 1, -1});
      if (idx > 0) syms[idx - 1].next = idx;
      pos += len;
    }
    struct Cand {
      float score;
      int left;
      size_t len;  // merged length when pushed: a mismatch later means the pair is stale
      bool operator<(const Cand& o) const {  // max-heap: higher score, then leftmost
        return score != o.score ? score < o.score : left > o.left;
      }
    };
    std::priority_queue<Cand> heap;
    const auto consider = [&](int left) {
      if (left < 0 || syms[left].next < 0) return;
      const Sym& a = syms[left];
      const Sym& b = syms[a.next];
      const int32_t id = find_piece(text.substr(a.start, a.len + b.len));
      if (id >= 0) heap.push({scores_[id], left, a.len + b.len});
    };
    for (int i = 0; i + 1 < static_cast<int>(syms.size()); ++i) consider(i);
    while (!heap.empty()) {
      const Cand c = heap.top();
      heap.pop();
      Sym& a = syms[c.left];
      if (a.len == 0 || a.next < 0) continue;
      Sym& b = syms[a.next];
      if (a.len + b.len != c.len) continue;  // stale
      a.len += b.len;
      b.len = 0;
      a.next = b.next;
      if (a.next >= 0) syms[a.next].prev = c.left;
      consider(a.prev);
      consider(c.left);
    }
    for (int i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) {
      const std::string_view s = text.substr(syms[i].start, syms[i].len);
      const int32_t id = find_piece(s);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      // Byte fallback; one <unk> for the character when the vocabulary lacks a byte piece.
      bool all_bytes = true;
      for (char ch : s) all_bytes = all_bytes && byte_token_[static_cast<uint8_t>(ch)] >= 0;
      if (all_bytes) {
        for (char ch : s) out.push_back(byte_token_[static_cast<uint8_t>(ch)]);
      } else if (unk_ >= 0) {
        out.push_back(unk_);
      }
    }
  }

  bool add_space_prefix_ = true;
  int32_t unk_ = -1;
  std::vector<float> scores_;
  std::array<int32_t, 256> byte_token_{};
  std::unordered_map<std::string_view, int32_t> pieces_;  // mergeable pieces, views into tokens_
};

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(const VocabData& v) {
  return std::make_unique<SpmTokenizer>(v);
}

}  // namespace tern
