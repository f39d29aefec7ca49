// Minimal levelled logging to stderr. Level from TERN_LOG=error|warn|info|debug or set_log_level.
#pragma once

#include "core/error.h"

namespace tern {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

LogLevel log_level();
void set_log_level(LogLevel level);
void log_write(LogLevel level, const std::string& msg);

template <class... Args>
void log_info(Args&&... a) {
  if (log_level() >= LogLevel::kInfo) log_write(LogLevel::kInfo, str_cat(std::forward<Args>(a)...));
}
template <class... Args>
void log_warn(Args&&... a) {
  if (log_level() >= LogLevel::kWarn) log_write(LogLevel::kWarn, str_cat(std::forward<Args>(a)...));
}
template <class... Args>
void log_debug(Args&&... a) {
  if (log_level() >= LogLevel::kDebug) log_write(LogLevel::kDebug, str_cat(std::forward<Args>(a)...));
}

}  // namespace tern
