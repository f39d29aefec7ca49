#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace tern {

void assert_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "tern: internal error: assertion `%s` failed at %s:%d%s%s\n", expr, file,
               line, msg ? ": " : "", msg ? msg : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace tern
