#include "core/phase_profile.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/timer.h"

namespace tern {

bool PhaseProfile::env_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("TERN_PROFILE");
    return e && std::strcmp(e, "1") == 0;
  }();
  return on;
}

PhaseProfile::PhaseProfile(std::string title, std::initializer_list<const char*> names, bool enabled)
    : title_(std::move(title)), sums_(names.size()), enabled_(enabled) {
  for (const char* n : names) names_.emplace_back(n);
  for (auto& s : sums_) s.store(0.0, std::memory_order_relaxed);
}

PhaseProfile::~PhaseProfile() {
  if (enabled_ && passes_.load() > 0) std::fputs(report().c_str(), stderr);
}

void PhaseProfile::add(size_t phase, double seconds) {
  TERN_ASSERT(phase < sums_.size());
  sums_[phase].fetch_add(seconds, std::memory_order_relaxed);
}

double PhaseProfile::seconds(size_t phase) const {
  TERN_ASSERT(phase < sums_.size());
  return sums_[phase].load(std::memory_order_relaxed);
}

std::string PhaseProfile::report() const {
  double total = 0.0;
  for (const auto& s : sums_) total += s.load(std::memory_order_relaxed);
  std::string out = str_cat("profile: ", title_, ", ", passes_.load(), " passes, ", total, " s\n");
  for (size_t i = 0; i < sums_.size(); ++i) {
    const double v = sums_[i].load(std::memory_order_relaxed);
    char line[160];
    std::snprintf(line, sizeof line, "  %-14s %9.4f s %6.2f%%\n", names_[i].c_str(), v, total > 0 ? 100.0 * v / total : 0.0);
    out += line;
  }
  return out;
}

PhaseProfile::Clock::Clock(PhaseProfile& p) : p_(p.enabled() ? &p : nullptr) {
  if (!p_) return;
  p_->passes_.fetch_add(1, std::memory_order_relaxed);
  t_ = now_seconds();
}

void PhaseProfile::Clock::mark(size_t phase) {
  if (!p_) return;
  const double t = now_seconds();
  p_->add(phase, t - t_);
  t_ = t;
}

}  // namespace tern
