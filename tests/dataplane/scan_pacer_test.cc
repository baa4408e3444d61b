// The outage scan's pace: every flow once per period whatever the call rate, never more than
// a pass's cap, a clock jump neither stalls nor floods it, a clock going back restarts it.

#include "dataplane/scan_pacer.h"

#include <gtest/gtest.h>

namespace migprobe::dataplane {
namespace {

// Visits over span_ns of calls every step_ns with n flows.
uint64_t visits(ScanPacer& p, uint64_t from_ns, uint64_t span_ns, uint64_t step_ns, uint64_t n) {
  uint64_t total = 0;
  for (uint64_t t = from_ns + step_ns; t <= from_ns + span_ns; t += step_ns) total += p.quota(t, n);
  return total;
}

TEST(ScanPacer, PeriodFloorsAtOneMillisecondThenGrowsWithFlows) {
  EXPECT_EQ(ScanPacer::period_ns(10), 1'000'000U);
  EXPECT_EQ(ScanPacer::period_ns(1'000), 1'000'000U);
  EXPECT_EQ(ScanPacer::period_ns(100'000), 100'000'000U);
}

TEST(ScanPacer, EveryFlowOncePerPeriodWhateverTheCallRate) {
  for (uint64_t step : {1'000ULL, 20'000ULL, 500'000ULL}) {
    ScanPacer p;
    p.quota(1'000'000'000, 10);  // the start
    // Ten flows, 100 ms: each visited every 1 ms, so about 1,000 visits.
    const uint64_t v = visits(p, 1'000'000'000, 100'000'000, step, 10);
    EXPECT_GE(v, 990U) << "step " << step;
    EXPECT_LE(v, 1'000U) << "step " << step;
  }
  ScanPacer big;
  // The first call owes every flow a visit (a period's credit), given out a pass at a time.
  EXPECT_EQ(big.quota(1'000'000'000, 100'000), ScanPacer::kMaxPerPass);
  // 100,000 flows over 1 s of calls every 10 us: each flow ten times, a visit per us, and
  // the start's credit on top.
  const uint64_t v = visits(big, 1'000'000'000, 1'000'000'000, 10'000, 100'000);
  EXPECT_GE(v, 1'099'000U);
  EXPECT_LE(v, 1'100'000U);
}

TEST(ScanPacer, AJumpOfTheClockIsCappedPerPassAndBounded) {
  ScanPacer p;
  p.quota(1'000, 100'000);
  // A replay's clock jumps by an hour: one pass visits at most the cap...
  EXPECT_EQ(p.quota(3'600'000'000'000ULL, 100'000), ScanPacer::kMaxPerPass);
  // ...and the credit held is at most one period's worth: all flows once, then nothing.
  uint64_t owed = 0;
  for (int i = 0; i < 10'000; ++i) owed += p.quota(3'600'000'000'000ULL + i + 1, 100'000);
  EXPECT_LE(owed, 100'000U);
}

TEST(ScanPacer, ClockGoingBackStartsAgain) {
  ScanPacer p;
  p.quota(5'000'000'000, 10);
  // 10 ms later: each of 10 flows owed ten visits, but the credit holds one period's worth.
  EXPECT_EQ(p.quota(5'010'000'000, 10), 10U);
  EXPECT_EQ(p.quota(1'000, 10), 0U);       // a new replay clock
  EXPECT_EQ(p.quota(1'000, 10), 0U);       // no time passed
  EXPECT_EQ(p.quota(1'001'000, 10), 10U);  // 1 ms later, paced from there
}

}  // namespace
}  // namespace migprobe::dataplane
