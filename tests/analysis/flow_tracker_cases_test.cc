// The gap arithmetic on hand-picked flows: the 12.340 ms gap at 100 us for every phase,
// the 2^32 wrap inside a gap, deep reordering and duplicates that must never make a gap,
// and gaps at the very start and end of a capture.

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "analysis/flow_tracker.h"
#include "tests/analysis/flow_sim.h"

namespace migprobe::analysis {
namespace {

using flow_sim::check_against_truth;
using flow_sim::FlowSim;
using flow_sim::kMs;
using flow_sim::kUs;
using flow_sim::SimResult;
using flow_sim::simulate;
using flow_sim::tx_of;

TEST(FlowTrackerPropertyTest, Gap12340usAt100usForEveryPhase) {
  std::mt19937_64 rng(12340);
  // The outage starts anywhere within one interval; 12.340 ms is not a multiple of it.
  for (uint64_t phase = 0; phase < 100 * kUs; phase += 250) {
    FlowSim s;
    s.interval_ns = 100 * kUs;
    s.count = 1000;
    const uint64_t start = tx_of(s, 400) + phase;
    s.outages = {{start, start + 12'340 * kUs}};
    const SimResult r = simulate(s, rng);
    ASSERT_EQ(r.gaps.size(), 1u) << phase;
    const Gap& g = r.gaps[0];
    EXPECT_LE(g.lower_ns, 12'340 * kUs) << phase;
    EXPECT_GE(g.upper_ns, 12'340 * kUs) << phase;
    const int64_t err = static_cast<int64_t>(g.estimate_ns) - 12'340'000;
    EXPECT_LE(std::abs(err), 100'000) << phase;
    EXPECT_TRUE(g.outage);
    EXPECT_TRUE(g.lost == 123 || g.lost == 124) << g.lost;
  }
}

TEST(FlowTrackerPropertyTest, WrapAt2Pow32InsideAGap) {
  std::mt19937_64 rng(1);
  FlowSim s;
  s.first_seq = 0xffffffffU - 299;  // probe 300 has seq 0
  s.count = 700;
  s.reflector = true;
  const uint64_t start = tx_of(s, 270) - 10 * kUs;
  s.outages = {{start, start + 7'030 * kUs}};
  const SimResult r = simulate(s, rng);
  ASSERT_EQ(r.gaps.size(), 1u);
  EXPECT_EQ(r.gaps[0].seq_before, 0xffffffffU - 30);
  EXPECT_EQ(r.gaps[0].seq_after, 41u);
  EXPECT_EQ(r.gaps[0].lost, 71u);
  EXPECT_EQ(r.gaps[0].forward_lost, 71u);
  EXPECT_EQ(check_against_truth(s, r, "wrap"), 1u);
}

TEST(FlowTrackerPropertyTest, ReorderingWithinTheWindowNeverMakesAGap) {
  std::mt19937_64 rng(2);
  for (int c = 0; c < 200; ++c) {
    FlowSim s;
    s.interval_ns = 10 * kUs;
    s.count = 5000;
    s.first_seq = static_cast<uint32_t>(rng());
    s.requests_visible = c % 2 == 0;
    // Every reply late by up to 400 intervals: deep reordering, inside the 512 window.
    s.reorder_permille = 1000;
    s.max_extra_ns = (FlowTracker::kReorderWindow - 112) * s.interval_ns;
    s.reply_timeout_ns = 1 * kMs * 1000;
    const SimResult r = simulate(s, rng);
    EXPECT_TRUE(r.gaps.empty()) << c << ": " << r.gaps.size() << " gaps, first after seq "
                                << (r.gaps.empty() ? 0 : r.gaps[0].seq_before);
    EXPECT_EQ(r.counters.lost, 0u);
    EXPECT_EQ(r.counters.answered, s.count);
    EXPECT_GT(r.counters.reordered, 0u);
    if (HasFailure()) break;
  }
}

TEST(FlowTrackerPropertyTest, DuplicatesNeverMakeAGap) {
  std::mt19937_64 rng(3);
  for (int c = 0; c < 200; ++c) {
    FlowSim s;
    s.interval_ns = 100 * kUs;
    s.count = 2000;
    s.first_seq = static_cast<uint32_t>(0 - 1000 + c);
    s.requests_visible = c % 2 == 0;
    s.dup_permille = 300;
    s.max_dup_after_ns = 300 * s.interval_ns;
    s.reorder_permille = c % 3 == 0 ? 100 : 0;
    s.max_extra_ns = 50 * s.interval_ns;
    const SimResult r = simulate(s, rng);
    EXPECT_TRUE(r.gaps.empty()) << c;
    EXPECT_EQ(r.counters.duplicates, r.duplicates_sent) << c;
    EXPECT_EQ(r.counters.answered, s.count) << c;
    if (HasFailure()) break;
  }
}

TEST(FlowTrackerPropertyTest, GapAtTheVeryStart) {
  std::mt19937_64 rng(4);
  FlowSim s;
  s.interval_ns = 1 * kMs;
  s.count = 300;
  s.outages = {{tx_of(s, 0) - 5 * kMs, tx_of(s, 0) + 14'500 * kUs}};
  const SimResult r = simulate(s, rng);
  ASSERT_EQ(r.gaps.size(), 1u);
  EXPECT_TRUE(r.gaps[0].open_start);
  EXPECT_EQ(r.gaps[0].lost, 15u);
  EXPECT_EQ(r.gaps[0].seq_after, 15u);
  EXPECT_EQ(r.gaps[0].lower_ns, 14 * kMs);
  EXPECT_EQ(r.gaps[0].upper_ns, 0u);  // unknown
  EXPECT_EQ(check_against_truth(s, r, "start"), 1u);
}

TEST(FlowTrackerPropertyTest, GapAtTheVeryEnd) {
  std::mt19937_64 rng(5);
  FlowSim s;
  s.interval_ns = 1 * kMs;
  s.count = 1500;
  s.reply_timeout_ns = 1000 * kMs;
  s.outages = {{tx_of(s, 300) + 300 * kUs, tx_of(s, 0) + 2000 * kMs}};
  const SimResult r = simulate(s, rng);
  ASSERT_EQ(r.gaps.size(), 1u);
  const Gap& g = r.gaps[0];
  EXPECT_TRUE(g.open_end);
  EXPECT_EQ(g.seq_before, 300u);
  // Probes 301..499 were sent at least the reply timeout before the last one (1499).
  EXPECT_EQ(g.lost, 199u);
  EXPECT_EQ(g.lower_ns, 198 * kMs);
  EXPECT_EQ(check_against_truth(s, r, "end"), 1u);
}

TEST(FlowTrackerPropertyTest, EndOfCaptureWithinTheReplyTimeoutIsNotAGap) {
  std::mt19937_64 rng(6);
  FlowSim s;
  s.interval_ns = 1 * kMs;
  s.count = 500;
  s.outages = {{tx_of(s, 400) + 1, tx_of(s, 0) + 2000 * kMs}};
  const SimResult r = simulate(s, rng);
  EXPECT_TRUE(r.gaps.empty());
}

TEST(FlowTrackerPropertyTest, NoReplyAtAll) {
  std::mt19937_64 rng(7);
  FlowSim s;
  s.interval_ns = 1 * kMs;
  s.count = 3000;
  s.reply_timeout_ns = 1000 * kMs;
  s.outages = {{tx_of(s, 0) - 1, tx_of(s, 0) + 5000 * kMs}};
  const SimResult r = simulate(s, rng);
  ASSERT_EQ(r.gaps.size(), 1u);
  EXPECT_TRUE(r.gaps[0].open_start);
  EXPECT_TRUE(r.gaps[0].open_end);
  // Probes 0..1999: sent at least 1 s before the last one (2999).
  EXPECT_EQ(r.gaps[0].lost, 2000u);
  EXPECT_EQ(r.gaps[0].lower_ns, 1999 * kMs);
}

}  // namespace
}  // namespace migprobe::analysis
