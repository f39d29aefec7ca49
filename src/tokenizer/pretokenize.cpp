#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenize.h"

#include <pcre2.h>

#include "core/error.h"

namespace tern {

struct PreTokenizer::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
};

PreTokenizer::PreTokenizer(std::string_view pattern) : impl_(std::make_unique<Impl>()) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  // PCRE2_MATCH_INVALID_UTF (10.34+): invalid UTF-8 in the subject is never matched instead of
  // making pcre2_match fail, so arbitrary bytes can be tokenized.
  impl_->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail("tokenizer: pre-tokenizer regex does not compile at offset ", err_off, ": ",
         reinterpret_cast<const char*>(msg));
  }
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

PreTokenizer::~PreTokenizer() {
  if (impl_ && impl_->code) pcre2_code_free(impl_->code);
}

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> words;
  if (text.empty()) return words;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  TERN_ASSERT(md != nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    int rc = pcre2_match(impl_->code, subject, text.size(), pos, 0, md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      // The JIT's default stack can run out on huge whitespace runs; the interpreter cannot.
      rc = pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_JIT, md, nullptr);
    }
    // No match, or a resource limit on hostile input: the rest becomes one word (still encoded
    // losslessly) rather than aborting a server on a request.
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t start = ov[0], end = ov[1];
    if (start > pos) words.push_back(text.substr(pos, start - pos));  // unmatched bytes
    if (end == start) {  // cannot happen with our patterns; never loop forever
      end = start + 1;
      words.push_back(text.substr(start, 1));
    } else {
      words.push_back(text.substr(start, end - start));
    }
    pos = end;
  }
  if (pos < text.size()) words.push_back(text.substr(pos));
  pcre2_match_data_free(md);
  return words;
}

}  // namespace tern
