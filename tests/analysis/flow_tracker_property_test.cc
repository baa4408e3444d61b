// Property tests of the gap arithmetic: seeded random flows with outages, reordering,
// duplicates, sequence wrap and gaps at both ends of a capture, each gap FlowTracker
// reports checked against the outages that made it (flow_sim.h). Hand-picked cases:
// flow_tracker_cases_test.cc.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "analysis/flow_tracker.h"
#include "tests/analysis/flow_sim.h"

namespace migprobe::analysis {
namespace {

using flow_sim::check_against_truth;
using flow_sim::Checked;
using flow_sim::describe;
using flow_sim::FlowSim;
using flow_sim::kBase;
using flow_sim::kMs;
using flow_sim::kUs;
using flow_sim::random_outages;
using flow_sim::SimResult;
using flow_sim::simulate;

TEST(FlowTrackerPropertyTest, RandomFlowsMatchTheirOutages) {
  const uint64_t kSeed = 20260101;
  std::mt19937_64 rng(kSeed);
  const uint64_t intervals[] = {10 * kUs, 100 * kUs, 250 * kUs, 1 * kMs, 3'333'333};
  Checked checked;
  for (int c = 0; c < 1500; ++c) {
    FlowSim s;
    s.interval_ns = intervals[rng() % std::size(intervals)];
    s.count = 200 + static_cast<uint32_t>(rng() % 1800);
    // A third of the flows wrap at 2^32 somewhere in the run.
    s.first_seq = rng() % 3 == 0 ? static_cast<uint32_t>(0 - (rng() % s.count))
                                 : static_cast<uint32_t>(rng());
    s.requests_visible = rng() % 5 != 0;
    s.reflector = rng() % 2 == 0;
    s.configure_interval = rng() % 2 == 0;
    s.reply_timeout_ns = 100 * s.interval_ns;
    s.reorder_permille = static_cast<int>(rng() % 200);
    s.max_extra_ns = 20 * s.interval_ns;
    s.dup_permille = static_cast<int>(rng() % 50);
    s.max_dup_after_ns = 30 * s.interval_ns;
    s.outages = random_outages(s, rng, true);
    // Every probe lost: nothing to bound a gap with; covered by its own test.
    const std::string what = describe(s, c);
    const SimResult r = simulate(s, rng);
    const size_t expected = check_against_truth(s, r, what, &checked);
    EXPECT_EQ(r.gaps.size(), expected) << what;
    uint64_t lost = 0;
    for (const Gap& g : r.gaps) lost += g.lost;
    EXPECT_EQ(r.counters.lost, lost) << what;
    EXPECT_EQ(r.counters.answered, r.delivered) << what;
    EXPECT_EQ(r.counters.duplicates, r.duplicates_sent) << what;
    EXPECT_EQ(r.counters.late, 0u) << what;
    if (HasFailure()) break;
  }
  EXPECT_GT(checked.closed, 1500u);
  EXPECT_GT(checked.open_start, 200u);
  EXPECT_GT(checked.open_end, 100u);
  std::printf("checked %zu closed gaps, %zu open at the start, %zu open at the end\n",
              checked.closed, checked.open_start, checked.open_end);
}

// A run of in-order replies does not write the reorder bitmap (the tracker's hot line only);
// duplicates of any probe in the window behind it, before and after a hole, must still be
// told from reordered replies exactly, whatever the run's length against the window.
TEST(FlowTrackerPropertyTest, DuplicatesAfterLongInOrderRunsAreExact) {
  constexpr uint32_t kW = FlowTracker::kReorderWindow;
  const uint32_t runs[] = {1, 2, 100, kW - 1, kW, kW + 1, 2 * kW - 1, 2 * kW, 2 * kW + 1, 5000};
  for (const uint32_t first : {0u, 0xffffffffU - 700}) {
    for (const uint32_t run : runs) {
      TrackerConfig cfg;
      cfg.reply_timeout_ns = 1000 * kMs;
      FlowTracker t(1, 10 * kUs);
      std::vector<Gap> gaps;
      uint64_t now = kBase;
      const auto reply = [&](uint32_t i) {
        now += kUs;
        t.on_reply(cfg, first + i, kBase + i * 10 * kUs, now + i * 10 * kUs, false, 0);
      };
      for (uint32_t i = 0; i < run; ++i) reply(i);
      // Duplicates from the newest one back to the edge of the window (or the first).
      uint64_t dups = 0;
      for (uint32_t back = 0; back < kW && back < run; back += 37) {
        reply(run - 1 - back);
        ++dups;
      }
      const std::string what = "first " + std::to_string(first) + " run " + std::to_string(run);
      EXPECT_EQ(t.counters().duplicates, dups) << what;
      EXPECT_EQ(t.counters().reordered, 0u) << what;
      // A hole of 5, then duplicates of probes before it, and the hole filled late.
      for (uint32_t i = run + 5; i < run + 20; ++i) reply(i);
      for (uint32_t back = 1; back < kW - 20 && back <= run; back += 29) {
        reply(run - back);
        ++dups;
      }
      EXPECT_EQ(t.counters().duplicates, dups) << what;
      for (uint32_t i = run; i < run + 5; ++i) reply(i);
      EXPECT_EQ(t.counters().reordered, 5u) << what;
      reply(run + 2);  // the hole's probes are answered now
      ++dups;
      EXPECT_EQ(t.counters().duplicates, dups) << what;
      EXPECT_EQ(t.counters().answered, run + 20) << what;
      t.finish(cfg, now + 100'000 * kMs, &gaps);
      EXPECT_TRUE(gaps.empty()) << what;
      if (HasFailure()) return;
    }
  }
}

// Regression: the first probe's reply overtaken by the second's, requests visible. The
// tracker used to keep a zero-length gap open at the start (a.seq + 1 == b.seq).
TEST(FlowTrackerPropertyTest, FirstReplyOvertakenIsNotAGap) {
  TrackerConfig cfg;
  FlowTracker t(1, 0);
  std::vector<Gap> gaps;
  for (uint32_t s = 0; s < 10; ++s) t.on_request(s, kBase + s * kMs);
  t.on_reply(cfg, 1, kBase + 1 * kMs, kBase + 10 * kMs, false, 0);
  t.on_reply(cfg, 0, kBase, kBase + 10 * kMs + 1, false, 0);
  t.on_reply(cfg, 3, kBase + 3 * kMs, kBase + 10 * kMs + 2, false, 0);
  t.on_reply(cfg, 2, kBase + 2 * kMs, kBase + 10 * kMs + 3, false, 0);
  for (uint32_t s = 4; s < 10; ++s) t.on_reply(cfg, s, kBase + s * kMs, kBase + 11 * kMs, false, 0);
  t.finish(cfg, kBase + 2000 * kMs, &gaps);
  EXPECT_TRUE(gaps.empty());
  EXPECT_EQ(t.counters().lost, 0u);
  EXPECT_EQ(t.counters().answered, 10u);
}

// The first probe lost, the second's reply overtaken by the third's: the gap is still open
// at the start (nothing before probe 0 was answered) and holds one probe.
TEST(FlowTrackerPropertyTest, OpenStartFilledFromItsEnd) {
  TrackerConfig cfg;
  FlowTracker t(1, 0);
  std::vector<Gap> gaps;
  for (uint32_t s = 0; s < 10; ++s) t.on_request(s, kBase + s * kMs);
  t.on_reply(cfg, 2, kBase + 2 * kMs, kBase + 10 * kMs, false, 0);
  t.on_reply(cfg, 1, kBase + 1 * kMs, kBase + 10 * kMs + 1, false, 0);
  for (uint32_t s = 3; s < 10; ++s) t.on_reply(cfg, s, kBase + s * kMs, kBase + 11 * kMs, false, 0);
  t.finish(cfg, kBase + 2000 * kMs, &gaps);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_TRUE(gaps[0].open_start);
  EXPECT_EQ(gaps[0].lost, 1u);
  EXPECT_EQ(gaps[0].seq_after, 1u);
}
}  // namespace
}  // namespace migprobe::analysis
