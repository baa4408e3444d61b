// Tagging gaps with migrations, the announce split, and the per-run figures they give, through
// the analyzer and the capture's report builder with frames built here.

#include <gtest/gtest.h>

#include "analysis/analyzer.h"
#include "analysis/capture_report.h"
#include "analysis/gap_event.h"
#include "analysis/report_tagging.h"
#include "analysis/report_writers.h"
#include "tests/report/probe_scenario.h"

namespace migprobe::analysis {
namespace {

using report_scenario::feed;
using report_scenario::kInterval;
using report_scenario::kStart;
using report_scenario::migration;
using report_scenario::Scenario;

TEST(Tagging, GapsGoToTheirMigrationOthersAreUnattributed) {
  Scenario s;
  // vm-1 (10.77.0.11): 20 probes lost at 1.000 s during migration 1, and 5 at 2.500 s
  // outside any window. vm-2: 50 probes lost at 1.200 s during migration 2.
  s.outages = {
      {1, 1000, 1019, 12'000'000}, {1, 2500, 2504, 1'000'000}, {2, 1200, 1249, 30'000'000}};
  AnalyzerOptions opt;
  Analyzer a(opt);
  feed(&a, s);

  JournalContents j;
  auto target = [&](const std::string& name, const std::string& ip) {
    v1::JournalRecord r;
    r.mutable_target()->set_name(name);
    r.mutable_target()->set_ip(ip);
    j.records.push_back(r);
  };
  target("vm-1", "10.77.0.11");
  target("vm-2", "10.77.0.12");
  j.records.push_back(migration("vm-1", "10.77.0.11", 1, kStart + 900'000'000, 0));
  // The same migration again, now completed: the newest record wins.
  j.records.push_back(
      migration("vm-1", "10.77.0.11", 1, kStart + 900'000'000, kStart + 1'100'000'000));
  j.records.push_back(
      migration("vm-2", "10.77.0.12", 1, kStart + 1'150'000'000, kStart + 1'400'000'000));
  ReportInputs in;
  in.journal = &j;
  in.settle_ns = 500'000'000;
  const v1::Report r = build_report(a, in);

  ASSERT_EQ(r.migrations_size(), 2);
  EXPECT_EQ(r.migrations_completed(), 2U);
  ASSERT_EQ(r.targets_size(), 2);
  const auto& vm1 = r.targets(0);
  EXPECT_EQ(vm1.name(), "vm-1");
  ASSERT_EQ(vm1.migrations_size(), 1);
  EXPECT_EQ(vm1.migrations(0).gaps(), 1U);
  EXPECT_EQ(vm1.migrations(0).lost(), 20U);
  // 20 lost probes at 1 ms: the estimate is tx(b) - tx(a) - 1 ms = 20 ms exactly.
  EXPECT_EQ(vm1.migrations(0).union_ns(), 20'000'000U);
  EXPECT_EQ(vm1.migrations(0).lower_bound_ns(), 19'000'000U);
  EXPECT_EQ(vm1.migrations(0).upper_bound_ns(), 21'000'000U);
  EXPECT_EQ(vm1.migrations(0).announce_ns(), kStart + 1000 * kInterval + 1000 + 12'000'000);
  const auto& vm2 = r.targets(1);
  ASSERT_EQ(vm2.migrations_size(), 1);
  EXPECT_EQ(vm2.migrations(0).union_ns(), 50'000'000U);
  EXPECT_EQ(vm2.migrations(0).number(), 2U);

  ASSERT_EQ(r.unattributed_gaps_size(), 1);
  EXPECT_EQ(r.unattributed_gaps(0).target(), "vm-1");
  EXPECT_EQ(r.unattributed_gaps(0).lost(), 5U);
  EXPECT_EQ(r.unattributed_gaps(0).migration_number(), 0U);

  // The announce splits the gap: the estimated outage starts half an interval after
  // tx(a), i.e. 0.5 ms before the first lost probe was sent.
  const auto& gap = vm1.flows(0).gaps(0);
  ASSERT_TRUE(gap.has_announce());
  EXPECT_EQ(gap.migration_number(), 1U);
  EXPECT_EQ(gap.before_announce_ns(), 12'500'000U);
  EXPECT_EQ(gap.after_announce_ns(), 20'000'000U - 12'500'000U);

  EXPECT_EQ(r.downtime().count(), 2U);
  EXPECT_EQ(r.downtime().max_ns(), 50'000'000U);
  EXPECT_EQ(r.downtime().median_ns(), 35'000'000U);
}

TEST(Tagging, BackToBackMigrationsEachGetTheirOwnGap) {
  Scenario s;
  // vm-1 migrates at 1.0 s and back at 1.5 s; each settle window (1 s) reaches over the
  // next migration, yet each gap belongs to the migration requested just before it.
  s.outages = {{1, 1050, 1059, 1'000'000}, {1, 1560, 1574, 1'000'000}};
  s.targets = 1;
  Analyzer a(AnalyzerOptions{});
  feed(&a, s);
  JournalContents j;
  j.records.push_back(
      migration("vm-1", "10.77.0.11", 1, kStart + 1'000'000'000, kStart + 1'100'000'000));
  j.records.push_back(
      migration("vm-1", "10.77.0.11", 2, kStart + 1'500'000'000, kStart + 1'600'000'000));
  ReportInputs in;
  in.journal = &j;
  in.settle_ns = 1'000'000'000;
  const v1::Report r = build_report(a, in);
  ASSERT_EQ(r.targets(0).migrations_size(), 2);
  EXPECT_EQ(r.targets(0).migrations(0).lost(), 10U);
  EXPECT_EQ(r.targets(0).migrations(0).union_ns(), 10'000'000U);
  EXPECT_EQ(r.targets(0).migrations(1).lost(), 15U);
  EXPECT_EQ(r.targets(0).migrations(1).union_ns(), 15'000'000U);
  EXPECT_EQ(r.unattributed_gaps_size(), 0);
}

TEST(Tagging, AGapDuringAnotherVmsMigrationIsANeighbourGap) {
  Scenario s;
  // vm-1 migrates at 1.0 s (window to 1.1 s + 0.5 s settle). vm-2 does not move, yet loses
  // 30 probes at 1.2 s and 8 at 1.4 s (the host was busy moving vm-1), and 4 at 3.0 s, when
  // nothing moved. vm-1 itself loses 10 at 1.05 s.
  s.outages = {
      {1, 1050, 1059, 1'000'000}, {2, 1200, 1229, 0}, {2, 1400, 1407, 0}, {2, 3000, 3003, 0}};
  s.probes = 4000;
  Analyzer a(AnalyzerOptions{});
  feed(&a, s);
  JournalContents j;
  j.records.push_back(
      migration("vm-1", "10.77.0.11", 1, kStart + 1'000'000'000, kStart + 1'100'000'000));
  ReportInputs in;
  in.journal = &j;
  in.settle_ns = 500'000'000;
  const v1::Report r = build_report(a, in);

  ASSERT_EQ(r.targets_size(), 2);
  const auto& vm1 = r.targets(0);
  ASSERT_EQ(vm1.migrations_size(), 1);
  EXPECT_EQ(vm1.migrations(0).lost(), 10U);
  // What moving vm-1 cost vm-2: two gaps, the longest 30 ms.
  EXPECT_EQ(vm1.migrations(0).neighbour_gaps(), 2U);
  EXPECT_EQ(vm1.migrations(0).neighbour_longest_ns(), 30'000'000U);
  // vm-2's own figures: no migration of its own, its gaps are not its downtime.
  EXPECT_EQ(r.targets(1).migrations_size(), 0);
  EXPECT_EQ(r.downtime().count(), 1U);

  ASSERT_EQ(r.neighbour_gaps_size(), 2);
  for (const auto& g : r.neighbour_gaps()) {
    EXPECT_EQ(g.target(), "10.77.0.12");
    EXPECT_EQ(g.migration_number(), 0U);
    EXPECT_EQ(g.neighbour_migration_number(), 1U);
  }
  EXPECT_EQ(r.neighbour_gaps(0).lost(), 30U);
  EXPECT_EQ(r.neighbour_gaps(1).lost(), 8U);
  // Outside every window of every VM: unattributed, and no neighbour's either.
  ASSERT_EQ(r.unattributed_gaps_size(), 1);
  EXPECT_EQ(r.unattributed_gaps(0).lost(), 4U);
  EXPECT_EQ(r.unattributed_gaps(0).neighbour_migration_number(), 0U);

  const std::string text = render_text(r);
  EXPECT_NE(text.find("neighbour gaps (a VM hit while another one migrated): 2"), std::string::npos)
      << text;
  EXPECT_NE(text.find("neighbours: 2 gaps on other VMs in its window, the longest 30.000 ms"),
            std::string::npos)
      << text;
  const std::string csv = render_csv(r);
  EXPECT_NE(csv.find(",neighbour_migration_number,tcp_verdict,"), std::string::npos);
}

TEST(Tagging, WithoutJournalEveryGapIsUnattributedAndNoneIsDropped) {
  Scenario s;
  s.outages = {{1, 100, 104, 0}, {2, 200, 200, 0}};
  Analyzer a(AnalyzerOptions{});
  feed(&a, s);
  const v1::Report r = build_report(a, ReportInputs{});
  EXPECT_EQ(r.unattributed_gaps_size(), 2);
  EXPECT_EQ(r.migrations_size(), 0);
  // A single lost probe at 1 ms is 1 ms of estimated downtime: at the default threshold
  // of 1 ms it counts as an outage; the report says which.
  EXPECT_EQ(r.targets(1).flows(0).gaps(0).lost(), 1U);
}

TEST(GapSpan, TheMessageGivesTheSpanOfItsGap) {
  // Tagging works on messages (a journal's gaps have no Gap), the announce split on the
  // Gap: both must place the outage at the same time.
  Gap closed;
  closed.tx_before_ns = kStart;
  closed.tx_after_ns = kStart + 21 * kInterval;
  closed.interval_ns = kInterval;
  closed.estimate_ns = 20 * kInterval;
  Gap open_end = closed;
  open_end.open_end = true;
  open_end.tx_after_ns = 0;
  open_end.estimate_ns = 7 * kInterval;
  for (const Gap& g : {closed, open_end}) {
    const GapSpan from_message = gap_span(to_gap_event(g, v1::FLOW_KIND_ICMP_ECHO));
    EXPECT_EQ(from_message.start_ns, g.span().start_ns);
    EXPECT_EQ(from_message.end_ns, g.span().end_ns);
    EXPECT_EQ(g.span().end_ns - g.span().start_ns, g.estimate_ns);
  }
  // Half an interval after tx(a), half an interval before tx(b).
  EXPECT_EQ(closed.span().start_ns, kStart + kInterval / 2);
  EXPECT_EQ(closed.span().end_ns, kStart + 21 * kInterval - kInterval / 2);
  EXPECT_EQ(open_end.span().start_ns, kStart + kInterval / 2);
}

}  // namespace
}  // namespace migprobe::analysis
