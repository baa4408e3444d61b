// A capture and the journal of the same run give the same report: the gaps the dataplane
// streams into the journal are the gaps the analyzer finds in the capture, and both paths
// tag them and sum them per migration with the same code.

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "analysis/capture_report.h"
#include "analysis/journal_report.h"
#include "analysis/report_writers.h"
#include "tests/report/probe_scenario.h"

namespace migprobe::analysis {
namespace {

using google::protobuf::util::MessageDifferencer;
using report_scenario::feed;
using report_scenario::kStart;
using report_scenario::migration;
using report_scenario::Scenario;

// Targets and migrations, as migprobe-control journals them.
JournalContents control_journal() {
  JournalContents j;
  for (int i = 1; i <= 2; ++i) {
    v1::JournalRecord r;
    r.mutable_target()->set_name("vm-" + std::to_string(i));
    r.mutable_target()->set_ip("10.77.0.1" + std::to_string(i));
    // The scenario's MACs end in the target's address byte (11, 12).
    r.mutable_target()->set_mac("52:54:00:77:00:0" + std::string(i == 1 ? "b" : "c"));
    j.records.push_back(r);
  }
  // vm-1 back and forth (the second window overlaps the first's settle time); vm-2 once,
  // failed.
  j.records.push_back(
      migration("vm-1", "10.77.0.11", 1, kStart + 900'000'000, kStart + 1'100'000'000));
  j.records.push_back(
      migration("vm-1", "10.77.0.11", 2, kStart + 1'500'000'000, kStart + 1'700'000'000));
  v1::JournalRecord failed =
      migration("vm-2", "10.77.0.12", 1, kStart + 1'150'000'000, kStart + 1'400'000'000);
  failed.mutable_migration()->set_completed_ns(0);
  failed.mutable_migration()->set_failed_ns(kStart + 1'400'000'000);
  failed.mutable_migration()->set_outcome(v1::MIGRATION_OUTCOME_FAILED);
  j.records.push_back(failed);
  return j;
}

// What the dataplane streams into the journal during the run the capture recorded: each
// gap as detected (target name set, no migration), the announces, the final counters.
void add_dataplane_records(const v1::Report& capture_report, JournalContents* j) {
  for (const auto& a : capture_report.announces()) {
    v1::JournalRecord r;
    *r.mutable_announce() = a;
    j->records.push_back(r);
  }
  for (const auto& t : capture_report.targets()) {
    for (const auto& f : t.flows()) {
      for (const auto& g : f.gaps()) {
        v1::JournalRecord r;
        *r.mutable_gap() = g;
        r.mutable_gap()->set_migration_number(0);
        j->records.push_back(r);
      }
      v1::JournalRecord totals;
      *totals.mutable_flow_totals() = f;
      totals.mutable_flow_totals()->clear_gaps();
      totals.mutable_flow_totals()->set_target(t.name());
      j->records.push_back(totals);
    }
  }
}

TEST(JournalAndCapture, SameGapsSameTaggingSameFigures) {
  Scenario s;
  // vm-1: an outage in each of its migrations, one long after both; vm-2: one during its
  // failed migration, one before it.
  s.outages = {{1, 1000, 1019, 12'000'000},
               {1, 1560, 1574, 1'000'000},
               {1, 2800, 2804, 0},
               {2, 1200, 1249, 30'000'000},
               {2, 300, 302, 0}};
  Analyzer a(AnalyzerOptions{});
  feed(&a, s);
  const JournalContents control = control_journal();
  ReportInputs in;
  in.journal = &control;
  in.settle_ns = 500'000'000;
  const v1::Report from_capture = build_report(a, in);

  JournalContents journal = control;
  add_dataplane_records(from_capture, &journal);
  const v1::Report from_journal = build_report_from_journal(journal, in);

  // The scenario is what the test claims it is.
  ASSERT_EQ(from_capture.unattributed_gaps_size(), 2);
  ASSERT_EQ(from_capture.migrations_failed(), 1U);
  ASSERT_EQ(from_capture.targets(0).migrations(1).gaps(), 1U);

  ASSERT_EQ(from_journal.targets_size(), from_capture.targets_size());
  for (int t = 0; t < from_capture.targets_size(); ++t) {
    EXPECT_TRUE(MessageDifferencer::Equals(from_journal.targets(t), from_capture.targets(t)))
        << "journal:\n"
        << from_journal.targets(t).DebugString() << "capture:\n"
        << from_capture.targets(t).DebugString();
  }
  ASSERT_EQ(from_journal.unattributed_gaps_size(), from_capture.unattributed_gaps_size());
  for (int g = 0; g < from_capture.unattributed_gaps_size(); ++g) {
    EXPECT_TRUE(MessageDifferencer::Equals(from_journal.unattributed_gaps(g),
                                           from_capture.unattributed_gaps(g)));
  }
  EXPECT_TRUE(MessageDifferencer::Equals(from_journal.downtime(), from_capture.downtime()));
  EXPECT_TRUE(MessageDifferencer::Equals(from_journal.settings(), from_capture.settings()));
  EXPECT_EQ(from_journal.migrations_completed(), from_capture.migrations_completed());
  EXPECT_EQ(from_journal.migrations_failed(), from_capture.migrations_failed());
}

TEST(JournalAndCapture, CapturePathAlsoReportsRunRecords) {
  // The run-level records of a journal reach a capture's report as well.
  Scenario s;
  s.targets = 1;
  s.outages = {{1, 1000, 1019, 12'000'000}};
  Analyzer a(AnalyzerOptions{});
  feed(&a, s);
  JournalContents j = control_journal();
  v1::JournalRecord cov;
  cov.mutable_coverage_gap()->set_from_ns(kStart + 1'050'000'000);
  cov.mutable_coverage_gap()->set_to_ns(kStart + 1'060'000'000);
  cov.mutable_coverage_gap()->set_reason("dataplane unreachable");
  j.records.push_back(cov);
  v1::JournalRecord evac;
  evac.mutable_evacuation()->set_source_host("hostA");
  evac.mutable_evacuation()->set_dest_host("hostB");
  evac.mutable_evacuation()->set_iteration(1);
  evac.mutable_evacuation()->set_started_ns(kStart);
  evac.mutable_evacuation()->set_finished_ns(kStart + 2'000'000'000);
  j.records.push_back(evac);
  ReportInputs in;
  in.journal = &j;
  in.settle_ns = 100'000'000;
  const v1::Report r = build_report(a, in);
  EXPECT_EQ(r.generator(), "migprobe-analyze");
  ASSERT_EQ(r.targets(0).migrations_size(), 2);
  EXPECT_TRUE(r.targets(0).migrations(0).coverage_lost());
  EXPECT_FALSE(r.targets(0).migrations(1).coverage_lost());
  ASSERT_EQ(r.evacuation_time_size(), 1);
  EXPECT_EQ(r.evacuation_time(0).duration().max_ns(), 2'000'000'000U);
  EXPECT_EQ(r.coverage_gaps_size(), 1);
  EXPECT_NE(render_text(r).find("coverage gaps (the probe was not measuring): 1"),
            std::string::npos);
}

}  // namespace
}  // namespace migprobe::analysis
