// The run's figures on small sets whose answers are known: nearest-rank percentiles, the
// success rate, the downtime of completed migrations only, evacuation times per direction.

#include "analysis/run_statistics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace migprobe::analysis {
namespace {

TEST(DowntimeStats, NearestRankPercentiles) {
  std::vector<uint64_t> v;
  for (uint64_t i = 1; i <= 100; ++i) v.push_back(i * 1000);
  const auto s = downtime_stats(v);
  EXPECT_EQ(s.count(), 100U);
  EXPECT_EQ(s.min_ns(), 1000U);
  EXPECT_EQ(s.max_ns(), 100'000U);
  EXPECT_EQ(s.p95_ns(), 95'000U);
  EXPECT_EQ(s.p99_ns(), 99'000U);
  EXPECT_EQ(s.median_ns(), 50'500U);
  EXPECT_EQ(s.mean_ns(), 50'500U);
  EXPECT_EQ(downtime_stats({}).count(), 0U);
  EXPECT_EQ(downtime_stats({7}).p95_ns(), 7U);
}

TEST(DowntimeStats, UnsortedOddSetAndRoundedMean) {
  // 5, 1, 2: sorted 1, 2, 5; mean 8/3 = 2.67, rounded to 3; p95 of 3 values is the 3rd.
  const auto s = downtime_stats({5, 1, 2});
  EXPECT_EQ(s.count(), 3U);
  EXPECT_EQ(s.min_ns(), 1U);
  EXPECT_EQ(s.median_ns(), 2U);
  EXPECT_EQ(s.mean_ns(), 3U);
  EXPECT_EQ(s.p95_ns(), 5U);
  EXPECT_EQ(s.max_ns(), 5U);
}

TEST(DowntimeStats, P95OfTwentyIsTheNineteenth) {
  std::vector<uint64_t> v;
  for (uint64_t i = 20; i >= 1; --i) v.push_back(i);
  EXPECT_EQ(downtime_stats(v).p95_ns(), 19U);
  EXPECT_EQ(downtime_stats(v).p99_ns(), 20U);     // rank ceil(19.8) = 20
  EXPECT_EQ(downtime_stats(v).median_ns(), 10U);  // (10 + 11) / 2, rounded down
}

v1::MigrationEvent migration(v1::MigrationOutcome outcome) {
  v1::MigrationEvent m;
  m.set_outcome(outcome);
  return m;
}

TEST(RunStatistics, OutcomesAndSuccessRate) {
  v1::Report r;
  add_migrations({}, &r);
  EXPECT_FALSE(success_rate_percent(r).has_value());
  add_migrations(
      {migration(v1::MIGRATION_OUTCOME_COMPLETED), migration(v1::MIGRATION_OUTCOME_FAILED),
       migration(v1::MIGRATION_OUTCOME_IN_PROGRESS), migration(v1::MIGRATION_OUTCOME_COMPLETED),
       migration(v1::MIGRATION_OUTCOME_ABORTED), migration(v1::MIGRATION_OUTCOME_COMPLETED)},
      &r);
  EXPECT_EQ(r.migrations_size(), 6);
  EXPECT_EQ(r.migrations(1).outcome(), v1::MIGRATION_OUTCOME_FAILED);
  EXPECT_EQ(r.migrations_completed(), 3U);
  EXPECT_EQ(r.migrations_failed(), 2U);
  // One still in progress has not ended: 3 of 5.
  ASSERT_TRUE(success_rate_percent(r).has_value());
  EXPECT_DOUBLE_EQ(*success_rate_percent(r), 60.0);
}

TEST(RunStatistics, DowntimeCountsCompletedMigrationsOfEveryTarget) {
  v1::Report r;
  auto add = [&r](int target, v1::MigrationOutcome outcome, uint64_t union_ns) {
    while (r.targets_size() <= target) r.add_targets();
    v1::MigrationReport* m = r.mutable_targets(target)->add_migrations();
    m->mutable_migration()->set_outcome(outcome);
    m->set_union_ns(union_ns);
  };
  add(0, v1::MIGRATION_OUTCOME_COMPLETED, 30);
  add(0, v1::MIGRATION_OUTCOME_FAILED, 1000);
  add(1, v1::MIGRATION_OUTCOME_COMPLETED, 10);
  add(1, v1::MIGRATION_OUTCOME_COMPLETED, 0);  // no gap: a downtime of 0 counts
  const v1::DowntimeStats s = completed_downtime(r);
  EXPECT_EQ(s.count(), 3U);
  EXPECT_EQ(s.max_ns(), 30U);
  EXPECT_EQ(s.median_ns(), 10U);
  EXPECT_EQ(s.min_ns(), 0U);
}

v1::EvacuationEvent evacuation(const std::string& from, const std::string& to, uint64_t started,
                               uint64_t finished, bool interrupted = false) {
  v1::EvacuationEvent e;
  e.set_source_host(from);
  e.set_dest_host(to);
  e.set_started_ns(started);
  e.set_finished_ns(finished);
  e.set_interrupted(interrupted);
  return e;
}

TEST(RunStatistics, EvacuationTimePerDirectionOfWholeDirectionsOnly) {
  const std::vector<v1::EvacuationEvent> evacs = {
      evacuation("a", "b", 100, 400),   evacuation("b", "a", 500, 600),
      evacuation("a", "b", 1000, 1200), evacuation("a", "b", 2000, 2900, true),
      evacuation("b", "a", 3000, 0),    evacuation("c", "d", 4000, 0),
  };
  const auto t = evacuation_time(evacs);
  ASSERT_EQ(t.size(), 3U);
  EXPECT_EQ(t[0].source_host(), "a");
  EXPECT_EQ(t[0].dest_host(), "b");
  EXPECT_EQ(t[0].duration().count(), 2U);  // the interrupted one does not count
  EXPECT_EQ(t[0].duration().min_ns(), 200U);
  EXPECT_EQ(t[0].duration().max_ns(), 300U);
  EXPECT_EQ(t[1].source_host(), "b");
  EXPECT_EQ(t[1].duration().count(), 1U);  // nor the one still under way
  EXPECT_EQ(t[1].duration().max_ns(), 100U);
  EXPECT_EQ(t[2].duration().count(), 0U);  // a direction without a finish is still listed

  v1::Report r;
  add_evacuations(evacs, &r);
  EXPECT_EQ(r.evacuations_size(), 6);
  EXPECT_EQ(r.evacuation_time_size(), 3);
}

}  // namespace
}  // namespace migprobe::analysis
