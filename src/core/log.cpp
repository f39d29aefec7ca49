#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace tern {
namespace {

LogLevel initial_level() {
  const char* e = std::getenv("TERN_LOG");
  if (!e) return LogLevel::kWarn;
  if (!std::strcmp(e, "error")) return LogLevel::kError;
  if (!std::strcmp(e, "info")) return LogLevel::kInfo;
  if (!std::strcmp(e, "debug")) return LogLevel::kDebug;
  return LogLevel::kWarn;
}

std::atomic<int> g_level{static_cast<int>(initial_level())};
std::mutex g_mu;

}  // namespace

LogLevel log_level() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }
void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level)); }

void log_write(LogLevel level, const std::string& msg) {
  static const char* kNames[] = {"error", "warn", "info", "debug"};
  std::lock_guard<std::mutex> lock(g_mu);
  std::fprintf(stderr, "tern %s: %s\n", kNames[static_cast<int>(level)], msg.c_str());
}

}  // namespace tern
