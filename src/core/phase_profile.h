// Wall time per named phase of a repeated computation (the forward pass's matmuls, attention,
// norms), summed over the process and printed to stderr at exit. Off unless TERN_PROFILE=1, and
// then one clock read per phase boundary: `TERN_PROFILE=1 tern bench ...` shows where a
// prompt's or a decoded token's time goes (docs/PERFORMANCE.md).
#pragma once

#include <atomic>
#include <initializer_list>
#include <string>
#include <vector>

namespace tern {

class PhaseProfile {
 public:
  // TERN_PROFILE=1 (read once).
  static bool env_enabled();

  PhaseProfile(std::string title, std::initializer_list<const char*> names, bool enabled = env_enabled());
  ~PhaseProfile();  // prints report() to stderr if enabled and anything was recorded
  PhaseProfile(const PhaseProfile&) = delete;
  PhaseProfile& operator=(const PhaseProfile&) = delete;

  bool enabled() const { return enabled_; }
  void add(size_t phase, double seconds);
  double seconds(size_t phase) const;
  // One line per phase: name, seconds, share of the total, and the title with the pass count.
  std::string report() const;

  // Phase boundaries of one pass: mark(p) charges the time since the previous mark (or since
  // the clock was made) to phase p. Does nothing when the profile is off.
  class Clock {
   public:
    explicit Clock(PhaseProfile& p);
    void mark(size_t phase);

   private:
    PhaseProfile* p_;
    double t_ = 0.0;  // now_seconds() at the previous mark
  };

 private:
  std::string title_;
  std::vector<std::string> names_;
  std::vector<std::atomic<double>> sums_;
  std::atomic<int64_t> passes_{0};
  bool enabled_;
};

}  // namespace tern
