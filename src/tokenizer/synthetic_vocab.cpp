// A small, deterministic byte-level BPE vocabulary for random-weight `tern dummy` models. It is a
// real vocabulary (every byte is a token, merges build common English fragments, LLaMA-3's
// special tokens sit at the top) so the whole pipeline, chat template included, runs on it.
#include <map>
#include <utility>

#include "core/error.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace tern {

namespace {

// Frequent English words and pieces (roughly by frequency), each added with and without a
// leading space. Order matters: earlier entries get lower merge ranks and survive small n_vocab.
constexpr std::string_view kWords[] = {
    "the",     "of",    "and",    "to",    "in",     "is",        "that",   "for",      "it",
    "as",      "was",   "with",   "be",    "by",     "on",        "not",    "he",       "this",
    "are",     "or",    "his",    "from",  "at",     "which",     "but",    "have",     "an",
    "had",     "they",  "you",    "were",  "their",  "one",       "all",    "we",       "can",
    "her",     "has",   "there",  "been",  "if",     "more",      "when",   "will",     "would",
    "who",     "so",    "no",     "what",  "about",  "up",        "out",    "said",     "like",
    "just",    "how",   "some",   "time",  "new",    "first",     "people", "year",     "good",
    "world",   "hello", "Hello",  "The",   "I",      "A",         "model",  "token",    "text",
    "bit",     "net",   "ing",    "ed",    "er",     "tion",      "ly",     "es",       "ment",
    "ness",    "able",  "re",     "un",    "th",     "ch",        "sh",     "st",       "ou",
    "ea",      "ai",    "ar",     "or",    "en",     "al",        "an",     "at",       "le",
    "se",      "ve",    "ll",     "ro",    "User",   "Assistant", "System", "question", "answer",
    "because", "could", "should", "other", "than",   "then",      "them",   "these",    "into",
    "only",    "over",  "also",   "after", "before", "very",      "make",   "know",     "take",
    "see",     "come",  "think",  "look",  "want",   "give",      "use",    "find",     "tell",
};

struct Builder {
  std::vector<std::string> tokens;
  std::map<std::string, int32_t> index;
  std::map<std::pair<std::string, std::string>, int32_t> merge_rank;
  std::vector<std::string> merges;

  void add_token(const std::string& t) {
    index.emplace(t, static_cast<int32_t>(tokens.size()));
    tokens.push_back(t);
  }

  // Current BPE segmentation of a byte-mapped word under the merges so far (tiny words: the
  // quadratic loop is fine).
  std::vector<std::string> segment(std::string_view raw) const {
    std::vector<std::string> segs;
    for (char c : raw) segs.push_back(unicode::byte_to_utf8(static_cast<uint8_t>(c)));
    for (;;) {
      int best = -1;
      int32_t best_rank = INT32_MAX;
      for (size_t i = 0; i + 1 < segs.size(); ++i) {
        auto it = merge_rank.find({segs[i], segs[i + 1]});
        if (it != merge_rank.end() && it->second < best_rank) {
          best_rank = it->second;
          best = static_cast<int>(i);
        }
      }
      if (best < 0) return segs;
      segs[best] += segs[best + 1];
      segs.erase(segs.begin() + best + 1);
    }
  }

  // Adds merges (and tokens) joining `raw` left to right on top of its current segmentation,
  // while `budget` new tokens remain.
  void add_fragment(std::string_view raw, size_t& budget) {
    std::vector<std::string> segs = segment(raw);
    while (segs.size() > 1) {
      const std::string merged = segs[0] + segs[1];
      const bool new_token = !index.count(merged);
      if (new_token && budget == 0) return;
      if (!merge_rank.count({segs[0], segs[1]})) {
        merge_rank.emplace(std::make_pair(segs[0], segs[1]), static_cast<int32_t>(merges.size()));
        merges.push_back(segs[0] + " " + segs[1]);
      }
      if (new_token) {
        add_token(merged);
        --budget;
      }
      segs[0] = merged;
      segs.erase(segs.begin() + 1);
    }
  }
};

}  // namespace

VocabData build_synthetic_vocab(int32_t n_vocab) {
  constexpr int32_t kSpecials = 3;
  if (n_vocab < 300 || n_vocab > (1 << 20))
    fail("synthetic vocabulary size ", n_vocab, " is out of range: use 300 .. ", 1 << 20);
  Builder b;
  for (int c = 0; c < 256; ++c) b.add_token(unicode::byte_to_utf8(static_cast<uint8_t>(c)));
  size_t budget = static_cast<size_t>(n_vocab - kSpecials - 256);
  for (std::string_view w : kWords) {
    b.add_fragment(str_cat(" ", w), budget);
    b.add_fragment(w, budget);
  }
  const size_t n_normal = b.tokens.size();
  VocabData v;
  v.kind = "gpt2";
  v.pre = "llama-bpe";
  v.tokens = std::move(b.tokens);
  v.merges = std::move(b.merges);
  for (int32_t k = 0; static_cast<int32_t>(v.tokens.size()) < n_vocab - kSpecials; ++k)
    v.tokens.push_back(str_cat("<|reserved_special_token_", k, "|>"));
  v.tokens.push_back("<|begin_of_text|>");
  v.tokens.push_back("<|end_of_text|>");
  v.tokens.push_back("<|eot_id|>");
  v.token_types.assign(v.tokens.size(), static_cast<int32_t>(TokenType::kControl));
  for (size_t i = 0; i < n_normal; ++i) v.token_types[i] = static_cast<int32_t>(TokenType::kNormal);
  v.scores.assign(v.tokens.size(), 0.0f);
  v.bos_id = n_vocab - 3;
  v.eos_id = n_vocab - 2;
  v.eot_id = n_vocab - 1;
  v.add_bos = true;
  v.chat_template = std::string(kBitnetChatTemplate);
  TERN_ASSERT(static_cast<int32_t>(v.tokens.size()) == n_vocab);
  return v;
}

}  // namespace tern
