// The probe's clock against made-up clocks whose truth is known: the rate measured at start,
// refreshes that never step, offsets slewed out, CLOCK_REALTIME steps kept out of durations.

#include "dataplane/tsc_clock.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace migprobe::dataplane {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

// A machine: a TSC at hz ticks per second of CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC running
// ntp_ppm faster than that, CLOCK_REALTIME = CLOCK_MONOTONIC + wall_ns.
struct Machine {
  long double hz = 2'596'148'000.0L;
  long double ntp_ppm = 0;
  int64_t wall_ns = 1'700'000'000LL * static_cast<int64_t>(kSecond);
  uint64_t tsc_at_zero = 1'000'000'000'000ULL;

  // The TSC at t ns of CLOCK_MONOTONIC_RAW.
  uint64_t tsc_at(uint64_t raw_ns) const {
    return tsc_at_zero + static_cast<uint64_t>(std::llround(raw_ns * hz / 1e9L));
  }
  uint64_t mono_at(uint64_t raw_ns) const {
    return static_cast<uint64_t>(std::llround(raw_ns * (1.0L + ntp_ppm / 1e6L))) + 5 * kSecond;
  }
  // CLOCK_REALTIME at that instant.
  uint64_t real_at(uint64_t raw_ns) const {
    return static_cast<uint64_t>(static_cast<int64_t>(mono_at(raw_ns)) + wall_ns);
  }
  ClockSample sample(uint64_t raw_ns, int64_t jitter_ns = 0) const {
    ClockSample s;
    s.tsc = tsc_at(raw_ns);
    s.raw_ns = raw_ns + static_cast<uint64_t>(jitter_ns) + 7 * kSecond;
    s.mono_ns = mono_at(raw_ns) + static_cast<uint64_t>(jitter_ns);
    s.real_ns = real_at(raw_ns) + static_cast<uint64_t>(jitter_ns);
    s.window_ticks = 80;
    return s;
  }
};

// Drives a ProbeClock over a run, refreshing when due, and checks at every millisecond
// that the mapping is continuous and monotonic; records the worst offset from the tracked
// clock (CLOCK_MONOTONIC + the wall offset at start) after `settled_after_ns`.
struct ClockRun {
  Machine m;
  ProbeClock clock;
  int64_t worst_offset_ns = 0;
  int64_t worst_settled_ns = 0;
  int64_t wall_at_start = 0;
  uint64_t steps_seen = 0;

  ClockRun(const Machine& machine, const ClockSettings& s)
      : m(machine), clock(m.sample(0), m.sample(600'000'000), s) {
    wall_at_start = m.wall_ns;
  }

  // The tracked time at raw_ns: what a perfect probe clock reads.
  int64_t truth(uint64_t raw_ns) const {
    return static_cast<int64_t>(m.mono_at(raw_ns)) + wall_at_start;
  }

  void advance(uint64_t from_raw_ns, uint64_t to_raw_ns, uint64_t settled_after_ns,
               std::mt19937_64* jitter = nullptr) {
    uint64_t last = clock.calibration().to_ns(m.tsc_at(from_raw_ns));
    for (uint64_t t = from_raw_ns + 1'000'000; t <= to_raw_ns; t += 1'000'000) {
      const uint64_t tsc = m.tsc_at(t);
      if (m.mono_at(t) >= clock.refresh_due_mono_ns()) {
        const uint64_t before = clock.calibration().to_ns(tsc);
        const int64_t j = jitter != nullptr ? static_cast<int64_t>((*jitter)() % 200) - 100 : 0;
        const ClockRefresh r = clock.refresh(m.sample(t, j));
        if (r.realtime_step_ns != 0) ++steps_seen;
        // Continuous: the new piece starts where the old one stood.
        EXPECT_EQ(clock.calibration().to_ns(tsc), before) << "step at t=" << t;
      }
      const uint64_t now = clock.calibration().to_ns(tsc);
      EXPECT_GT(now, last) << "not monotonic at t=" << t;
      last = now;
      const int64_t off = static_cast<int64_t>(now) - truth(t);
      worst_offset_ns = std::max(worst_offset_ns, std::abs(off));
      if (t >= settled_after_ns) worst_settled_ns = std::max(worst_settled_ns, std::abs(off));
    }
  }
};

TEST(ProbeClock, MeasuresTheRateNotDpdksRoundedOne) {
  Machine m;  // 2596.148 MHz; DPDK's EAL says 2600 MHz
  ClockSettings s;
  s.eal_hz = 2'600'000'000;
  const ProbeClock c(m.sample(0), m.sample(600'000'000), s);
  EXPECT_NEAR(static_cast<double>(c.tsc_hz()), 2'596'148'000.0, 2.0);
  EXPECT_NEAR(static_cast<double>(c.calibration().hz), 2'596'148'000.0, 2.0);
  // 10 s on, before any refresh, the mapping is still right to within a microsecond.
  const uint64_t raw = 10'600'000'000;
  const int64_t err = static_cast<int64_t>(c.calibration().to_ns(m.tsc_at(raw))) -
                      static_cast<int64_t>(m.real_at(raw));
  EXPECT_LT(std::abs(err), 1'000) << err;
  EXPECT_NE(c.rate_source().find("CLOCK_MONOTONIC_RAW"), std::string::npos) << c.rate_source();
  EXPECT_NE(c.rate_source().find("2600.000 MHz"), std::string::npos) << c.rate_source();
}

TEST(ProbeClock, StartRateHalfAPercentOffIsSlewedOutWithoutAStep) {
  Machine m;
  ClockSettings s;
  s.skew_ppm = 5000;
  ClockRun run(m, s);
  run.advance(600'000'000, 60'600'000'000, 2'600'000'000);
  // 0.5% over the first 100 ms, then slewed: never more than that, and nothing left after.
  EXPECT_LE(run.worst_offset_ns, 510'000);
  EXPECT_LE(run.worst_settled_ns, 1'000);
  EXPECT_GE(run.clock.refreshes(), 15U);
  EXPECT_NEAR(static_cast<double>(run.clock.calibration().hz), 2'596'148'000.0, 2.0);
  // A 3 s outage that spans the first refreshes and the whole slew: measured within the
  // offset found at the first refresh.
  const uint64_t a = 650'000'000, b = 3'650'000'000;
  Machine fresh;
  ClockRun again(fresh, s);
  const uint64_t pa = again.clock.calibration().to_ns(fresh.tsc_at(a));
  again.advance(600'000'000, b, 0);
  const uint64_t pb = again.clock.calibration().to_ns(fresh.tsc_at(b));
  const int64_t measured = static_cast<int64_t>(pb - pa);
  const int64_t truth = again.truth(b) - again.truth(a);
  EXPECT_LT(std::abs(measured - truth), 510'000) << measured - truth;
}

TEST(ProbeClock, FollowsNtpFrequencyAndSurvivesJitter) {
  Machine m;
  m.ntp_ppm = 40;  // CLOCK_MONOTONIC 40 ppm faster than the oscillator
  ClockSettings s;
  ClockRun run(m, s);
  std::mt19937_64 rng(7);
  run.advance(600'000'000, 60'600'000'000, 5'000'000'000, &rng);
  EXPECT_LE(run.worst_settled_ns, 1'000) << "residual drift";
  // The rate record is the oscillator's (CLOCK_MONOTONIC_RAW), the mapping NTP's.
  EXPECT_NEAR(static_cast<double>(run.clock.tsc_hz()), 2'596'148'000.0, 2.0);
}

TEST(ProbeClock, RealtimeStepIsMeasuredAndKeptOutOfTheMapping) {
  Machine m;
  ClockSettings s;
  ClockRun run(m, s);
  run.advance(600'000'000, 8'000'000'000, 0);
  const int64_t before = run.clock.realtime_offset_ns();
  EXPECT_EQ(before, 0);
  // An administrator sets the clock an hour ahead.
  run.m.wall_ns += 3600LL * static_cast<int64_t>(kSecond);
  const uint64_t t_gap_start = 8'000'000'000;
  const uint64_t p0 = run.clock.calibration().to_ns(run.m.tsc_at(t_gap_start));
  run.advance(8'000'000'000, 20'000'000'000, 0);
  const uint64_t p1 = run.clock.calibration().to_ns(run.m.tsc_at(20'000'000'000));
  EXPECT_EQ(run.steps_seen, 1U);
  EXPECT_NEAR(static_cast<double>(run.clock.realtime_offset_ns()), 3600e9, 1.0);
  // A gap across the step is measured as the time that passed, not the hour.
  EXPECT_NEAR(static_cast<double>(p1 - p0), 12e9, 1'000.0);
  // Timestamps that leave the process carry the step: they compare with CLOCK_REALTIME.
  const uint64_t raw = 20'000'000'000;
  const int64_t exported_err = static_cast<int64_t>(run.clock.to_realtime(
                                   run.clock.calibration().to_ns(run.m.tsc_at(raw)))) -
                               static_cast<int64_t>(run.m.real_at(raw));
  EXPECT_LT(std::abs(exported_err), 1'000) << exported_err;
  // And a step back is seen too.
  run.m.wall_ns -= 7LL * static_cast<int64_t>(kSecond);
  run.advance(20'000'000'000, 30'000'000'000, 0);
  EXPECT_EQ(run.steps_seen, 2U);
  EXPECT_NEAR(static_cast<double>(run.clock.realtime_offset_ns()), 3593e9, 1.0);
}

TEST(ProbeClock, RefreshesOftenAtFirstThenAtTheInterval) {
  Machine m;
  ClockSettings s;
  s.refresh_interval_ns = 5 * kSecond;
  ProbeClock c(m.sample(0), m.sample(600'000'000), s);
  std::vector<uint64_t> gaps;
  uint64_t last_mono = m.mono_at(600'000'000);
  for (int i = 0; i < 9; ++i) {
    const uint64_t due = c.refresh_due_mono_ns();
    gaps.push_back(due - last_mono);
    last_mono = due;
    const uint64_t raw = static_cast<uint64_t>(due - 5 * kSecond);
    c.refresh(m.sample(raw));
  }
  const std::vector<uint64_t> want = {100'000'000,   200'000'000,   400'000'000,
                                      800'000'000,   1'600'000'000, 3'200'000'000,
                                      5'000'000'000, 5'000'000'000, 5'000'000'000};
  ASSERT_EQ(gaps.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(static_cast<double>(gaps[i]), static_cast<double>(want[i]), 2.0) << i;
}

}  // namespace
}  // namespace migprobe::dataplane
