// The switchover announce of a gap: which announce belongs to it and how it splits the
// estimate (the live dataplane and the offline analysis share these functions).

#include "analysis/announce.h"

#include <gtest/gtest.h>

#include <vector>

namespace migprobe::analysis {
namespace {

constexpr uint64_t kMs = 1'000'000;
const MacAddress kVm{2, 0, 0, 0, 0, 1};
const MacAddress kOther{2, 0, 0, 0, 0, 2};

// Probes every 1 ms; a answered at 100 ms, b (sent at 151 ms) answered at 151.3 ms.
Gap closed_gap() {
  Gap g;
  g.interval_ns = kMs;
  g.tx_before_ns = 100 * kMs;
  g.tx_after_ns = 151 * kMs;
  g.rx_after_ns = 151 * kMs + 300'000;
  g.estimate_ns = g.tx_after_ns - g.tx_before_ns - g.interval_ns;
  return g;
}

TEST(Announce, WindowRunsFromTheLastAnsweredSendToTheClosingReply) {
  Gap g = closed_gap();
  AnnounceWindow w = announce_window(g);
  EXPECT_EQ(w.from_ns, 100 * kMs);
  EXPECT_EQ(w.to_ns, 151 * kMs + 300'000);
  g.open_end = true;
  EXPECT_EQ(announce_window(g).to_ns, UINT64_MAX);
}

TEST(Announce, SplitAddsUpToTheEstimateAndIsClamped) {
  const Gap g = closed_gap();  // estimated outage [100.5, 150.5) ms
  ASSERT_EQ(g.start_ns(), 100 * kMs + kMs / 2);
  AnnounceSplit s = split_at_announce(g, 130 * kMs);
  EXPECT_EQ(s.before_ns, 29 * kMs + kMs / 2);
  EXPECT_EQ(s.after_ns, 20 * kMs + kMs / 2);
  EXPECT_EQ(s.before_ns + s.after_ns, g.estimate_ns);
  // Before the estimated start (inside the window): all of it after the announce.
  s = split_at_announce(g, 100 * kMs + 100);
  EXPECT_EQ(s.before_ns, 0U);
  EXPECT_EQ(s.after_ns, g.estimate_ns);
  // After the estimated end (b's reply still to come): all of it before.
  s = split_at_announce(g, 151 * kMs);
  EXPECT_EQ(s.before_ns, g.estimate_ns);
  EXPECT_EQ(s.after_ns, 0U);
}

TEST(Announce, FirstFromTheTargetByMacOrGratuitousArpForItsAddress) {
  const std::vector<Announce> seen = {
      {90 * kMs, true, kVm, 0, 0},                // before the window
      {120 * kMs, true, kOther, 0, 0},            // another VM's RARP
      {125 * kMs, false, kOther, 0x0a000005, 0},  // a GARP for the target's address
      {130 * kMs, true, kVm, 0, 0},               // the target's RARP
  };
  const Gap g = closed_gap();
  const AnnounceWindow w = announce_window(g);
  auto a = first_announce(seen.begin(), seen.end(), &kVm, 0, w.from_ns, w.to_ns);
  ASSERT_NE(a, seen.end());
  EXPECT_EQ(a->seen_ns, 130 * kMs);
  a = first_announce(seen.begin(), seen.end(), &kVm, 0x0a000005, w.from_ns, w.to_ns);
  ASSERT_NE(a, seen.end());
  EXPECT_EQ(a->seen_ns, 125 * kMs);
  // MAC unknown: the GARP by address only; a RARP has no address to match.
  a = first_announce(seen.begin(), seen.end(), nullptr, 0x0a000005, w.from_ns, w.to_ns);
  ASSERT_NE(a, seen.end());
  EXPECT_EQ(a->seen_ns, 125 * kMs);
  EXPECT_EQ(first_announce(seen.begin(), seen.end(), nullptr, 0x0a000006, w.from_ns, w.to_ns),
            seen.end());
  // Nothing from the target inside the window.
  EXPECT_EQ(first_announce(seen.begin(), seen.end(), &kVm, 0, w.from_ns, 129 * kMs), seen.end());
}

}  // namespace
}  // namespace migprobe::analysis
