#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/phase_profile.h"

namespace tern {
namespace {

void spin_for(double s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(s);
  while (std::chrono::steady_clock::now() < end) {
  }
}

TEST(PhaseProfile, ChargesEachMarkToItsPhaseAndReportsShares) {
  PhaseProfile p("test passes", {"first", "second"}, true);
  for (int pass = 0; pass < 2; ++pass) {
    PhaseProfile::Clock c(p);
    spin_for(0.002);
    c.mark(0);
    spin_for(0.006);
    c.mark(1);
  }
  // At least what each phase spun for (a preempted spin only adds, so no upper bound): a mark
  // charged to the wrong phase, or a phase not counted, fails one of these.
  EXPECT_GE(p.seconds(0), 0.004);
  EXPECT_GE(p.seconds(1), 0.012);
  const std::string r = p.report();
  EXPECT_NE(r.find("test passes, 2 passes"), std::string::npos) << r;
  EXPECT_NE(r.find("first"), std::string::npos) << r;
  EXPECT_NE(r.find("second"), std::string::npos) << r;
}

TEST(PhaseProfile, RecordsNothingWhenOff) {
  PhaseProfile p("off", {"only"}, false);
  PhaseProfile::Clock c(p);
  spin_for(0.001);
  c.mark(0);
  EXPECT_EQ(p.seconds(0), 0.0);
  EXPECT_NE(p.report().find("0 passes"), std::string::npos) << p.report();
}

}  // namespace
}  // namespace tern
