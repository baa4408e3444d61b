// TX pacing: exact deadlines without drift, skipped slots without catch-up.

#include "dataplane/pacing.h"

#include <gtest/gtest.h>

#include <random>

namespace migprobe::dataplane {
namespace {

TEST(FlowPace, NoDriftWithFractionalInterval) {
  FlowPace p;
  // 3 pps at 2.5 GHz: 833,333,333.33 ticks per interval.
  p.init(333'333'333, 2'500'000'000ULL, 1000);
  for (int i = 0; i < 3'000'000; ++i) p.advance();
  // 3e6 intervals of 333,333,333 ns = 999,999,999 s worth of ticks, exactly.
  const uint64_t expect =
      1000 + static_cast<uint64_t>(static_cast<u128>(3'000'000ULL) * 333'333'333ULL *
                                   2'500'000'000ULL / 1'000'000'000ULL);
  EXPECT_EQ(p.deadline, expect);
}

TEST(FlowPace, SkipsMissedSlotsWithoutCatchUp) {
  FlowPace p;
  p.init(1'000'000, 1'000'000'000, 0);    // 1 ms at 1 GHz: 1e6 ticks
  EXPECT_EQ(p.skip_missed(500'000), 0U);  // late but within the slot
  EXPECT_EQ(p.deadline, 0U);
  // 10.5 intervals late: slots 0..9 are gone, slot 10 goes out now.
  EXPECT_EQ(p.skip_missed(10'500'000), 10U);
  EXPECT_EQ(p.deadline, 10'000'000U);
  p.advance();
  EXPECT_EQ(p.deadline, 11'000'000U);
  EXPECT_GT(p.deadline, 10'500'000U);  // the next one is in the future: no burst
}

TEST(FlowPace, SkipKeepsFractionExact) {
  FlowPace a, b;
  a.init(333'333, 3'000'000'007ULL, 0);
  b = a;
  const uint64_t k = a.skip_missed(a.step * 1000 + 5);
  for (uint64_t i = 0; i < k; ++i) b.advance();
  EXPECT_EQ(a.deadline, b.deadline);
  EXPECT_EQ(a.acc, b.acc);
}

// The 128-bit form of skip_missed, as it was before the 64-bit fast paths.
uint64_t reference_skip(FlowPace* p, uint64_t now) {
  const uint64_t late = now - p->deadline;
  if (late < p->step) return 0;
  const u128 interval_x_den = static_cast<u128>(p->step) * FlowPace::kDen + p->frac;
  const u128 late_x_den = static_cast<u128>(late) * FlowPace::kDen;
  const uint64_t k = static_cast<uint64_t>((late_x_den + p->acc) / interval_x_den);
  if (k == 0) return 0;
  const u128 moved = static_cast<u128>(k) * p->frac + p->acc;
  p->deadline += k * p->step + static_cast<uint64_t>(moved / FlowPace::kDen);
  p->acc = static_cast<uint64_t>(moved % FlowPace::kDen);
  return k;
}

TEST(FlowPace, SkipFastPathsMatchTheExactFormula) {
  std::mt19937_64 rng(11);
  const uint64_t hzs[] = {1'000'000'000ULL, 2'000'000'000ULL, 2'893'212'007ULL};
  for (int i = 0; i < 200'000; ++i) {
    FlowPace a;
    const uint64_t interval = 1'000 + rng() % 1'000'000'000ULL;
    a.init(interval, hzs[i % 3], rng() % (1ULL << 40));
    for (uint64_t j = rng() % 5; j > 0; --j) a.advance();
    FlowPace b = a;
    // Mostly a few slots late, sometimes many, sometimes beyond the 64-bit range.
    const uint64_t slots = i % 7 == 0 ? rng() % 100'000 : rng() % 6;
    uint64_t late = slots * a.step + rng() % (a.step + 1);
    if (i % 101 == 0) late += 1ULL << 36;
    ASSERT_EQ(a.skip_missed(a.deadline + late), reference_skip(&b, b.deadline + late));
    ASSERT_EQ(a.deadline, b.deadline);
    ASSERT_EQ(a.acc, b.acc);
  }
}

}  // namespace
}  // namespace migprobe::dataplane
