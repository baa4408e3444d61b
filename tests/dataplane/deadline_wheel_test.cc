// The TX schedule: a flow comes out of the wheel once its deadline's slot is past, never
// before its deadline and at most one slot after it, whatever the distance (every level,
// beyond the horizon), with moves and cancels in between; checked against a plain list.

#include "dataplane/deadline_wheel.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace migprobe::dataplane {
namespace {

constexpr uint64_t kSlot = uint64_t{1} << DeadlineWheel::kSlotShift;

TEST(DeadlineWheel, DueOnlyAfterTheDeadlineSlot) {
  const uint64_t t0 = 2'000 * kSlot;
  DeadlineWheel w(4, t0);
  w.schedule(2, t0 + 10 * kSlot + 3);
  EXPECT_EQ(w.pop_due(t0 + 10 * kSlot + 3), DeadlineWheel::kNone);  // its own slot
  EXPECT_EQ(w.pop_due(t0 + 11 * kSlot - 1), DeadlineWheel::kNone);
  EXPECT_EQ(w.pop_due(t0 + 11 * kSlot), 2U);
  EXPECT_TRUE(w.empty());
  EXPECT_FALSE(w.scheduled(2));
}

TEST(DeadlineWheel, PastDeadlineIsDueAtOnce) {
  DeadlineWheel w(2, 5'000'000);
  w.schedule(1, 10);
  EXPECT_EQ(w.pop_due(5'000'000 + kSlot), 1U);
}

TEST(DeadlineWheel, CancelAndMove) {
  DeadlineWheel w(3, 0);
  w.schedule(0, 100 * kSlot);
  w.schedule(1, 100 * kSlot);
  w.cancel(0);
  w.schedule(1, 5'000 * kSlot);  // moved to level 1
  EXPECT_EQ(w.size(), 1U);
  EXPECT_EQ(w.pop_due(200 * kSlot), DeadlineWheel::kNone);
  EXPECT_GE(w.next_due_lower_bound(), 4'096 * kSlot);
  EXPECT_LE(w.next_due_lower_bound(), 5'000 * kSlot);
  EXPECT_EQ(w.pop_due(5'001 * kSlot), 1U);
  EXPECT_EQ(w.next_due_lower_bound(), UINT64_MAX);
}

TEST(DeadlineWheel, FarBeyondTheHorizon) {
  DeadlineWheel w(1, 0);
  const uint64_t far = uint64_t{1} << 45;  // beyond three levels of slots
  w.schedule(0, far);
  EXPECT_EQ(w.pop_due(far - 1), DeadlineWheel::kNone);
  EXPECT_EQ(w.pop_due(far + kSlot), 0U);
}

// Random schedules, moves and cancels, with the clock moving by small and large steps,
// against a map of flow -> deadline.
class DeadlineWheelRandom : public ::testing::TestWithParam<int> {};

TEST_P(DeadlineWheelRandom, MatchesAReferenceSchedule) {
  std::mt19937_64 rng(static_cast<uint64_t>(GetParam()));
  constexpr uint32_t kFlows = 300;
  uint64_t now = rng() % (uint64_t{1} << 40);
  DeadlineWheel w(kFlows, now);
  // Deadlines as the wheel sees them: one already past when scheduled counts from the
  // slot of the clock's last reading (the wheel's now).
  std::map<uint32_t, uint64_t> ref;
  uint64_t wheel_now = now;
  const uint64_t spans[] = {kSlot * 50, kSlot * 3'000, kSlot * 2'000'000, uint64_t{1} << 42};
  for (int step = 0; step < 20'000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    const uint32_t id = static_cast<uint32_t>(rng() % kFlows);
    if (op < 5) {
      const uint64_t d = now + rng() % spans[rng() % 4] - (rng() % 4 == 0 ? kSlot * 8 : 0);
      w.schedule(id, d);
      const uint64_t floor = wheel_now >> DeadlineWheel::kSlotShift << DeadlineWheel::kSlotShift;
      ref[id] = d < floor ? floor : d;
    } else if (op < 6) {
      w.cancel(id);
      ref.erase(id);
    } else {
      const uint64_t jumps[] = {kSlot / 2, kSlot * 7, kSlot * 900, kSlot * 700'000,
                                uint64_t{1} << 41};
      now += rng() % jumps[rng() % 5];
      const uint64_t lower = w.next_due_lower_bound();
      wheel_now = now;
      for (uint32_t got; (got = w.pop_due(now)) != DeadlineWheel::kNone;) {
        ASSERT_TRUE(ref.count(got)) << got;
        const uint64_t d = ref[got];
        ASSERT_LT(d >> DeadlineWheel::kSlotShift, now >> DeadlineWheel::kSlotShift);
        // The idle loop's bound: nothing falls due before it.
        ASSERT_LT(lower >> DeadlineWheel::kSlotShift, now >> DeadlineWheel::kSlotShift);
        ref.erase(got);
      }
      // Nothing due is left behind.
      for (const auto& [f, d] : ref) {
        ASSERT_GE(d >> DeadlineWheel::kSlotShift, now >> DeadlineWheel::kSlotShift) << f;
      }
    }
    ASSERT_EQ(w.size(), ref.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, DeadlineWheelRandom, ::testing::Range(1, 9));

}  // namespace
}  // namespace migprobe::dataplane
