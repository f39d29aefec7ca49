// Errors. Input from outside (files, flags, requests) that is wrong raises tern::Error with a
// one-line message naming what is wrong and what to do; frontends catch it and exit non-zero
// (CLI) or answer 4xx (server). Bugs hit TERN_ASSERT, which is always on and aborts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace tern {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// str_cat("a", 1, 'b') -> "a1b": builds messages without iostream noise at call sites.
template <class... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(str_cat(std::forward<Args>(args)...));
}

[[noreturn]] void assert_failed(const char* expr, const char* file, int line, const char* msg);

}  // namespace tern

#define TERN_ASSERT(cond)                                                   \
  do {                                                                      \
    if (!(cond)) ::tern::assert_failed(#cond, __FILE__, __LINE__, nullptr); \
  } while (0)
#define TERN_ASSERT_MSG(cond, msg)                                      \
  do {                                                                  \
    if (!(cond)) ::tern::assert_failed(#cond, __FILE__, __LINE__, msg); \
  } while (0)
