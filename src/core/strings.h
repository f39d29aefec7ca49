// Small string helpers shared by the parsers (chat templates, kernel_config.ini).
#pragma once

#include <string_view>

namespace tern {

// s without leading and trailing ASCII whitespace (Python's str.strip for ASCII).
inline std::string_view trim_ascii(std::string_view s) {
  constexpr std::string_view kWs = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(kWs);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kWs) - b + 1);
}

}  // namespace tern
