// VM metrics from diagnostics samples: the rates of each phase of a migration (before,
// during, after), a pair across the destination's new process left out, the transfer rate
// from Nova's progress, the mean of a cell, and the report of a journal with samples.

#include "analysis/vm_metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "analysis/journal_report.h"
#include "analysis/report_writers.h"

namespace migprobe::analysis {
namespace {

constexpr uint64_t kT0 = 1'800'000'000'000'000'000ULL;
constexpr uint64_t kS = 1'000'000'000;

// A guest sampled every second from 0 s to 30 s (times after kT0): CPU 10% of a vCPU
// before 10 s, 60% from 10 s to 20 s (its migration, completed at 20 s: the counters
// restart on the destination), 5% after; it receives 125 kB/s (1 Mb/s) all along.
class VmMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uint64_t cpu = 0;
    uint64_t rx = 0;
    uint64_t uptime = 500;
    for (uint64_t t = 0; t <= 30; ++t) {
      if (t == 21) {
        // The destination's process: counters and uptime start again.
        cpu = 0;
        rx = 0;
        uptime = 0;
      } else if (t > 0) {
        cpu += (t <= 10 ? 100'000'000 : (t <= 20 ? 600'000'000 : 50'000'000));
        rx += 125'000;
        ++uptime;
      }
      v1::JournalRecord r;
      v1::VmSample* s = r.mutable_vm_sample();
      s->set_instance_id("uuid-vm1");
      s->set_instance_name("vm1");
      s->set_sampled_ns(kT0 + t * kS);
      s->set_cpu_time_ns(cpu);
      s->set_nic_rx_bytes(rx);
      s->set_uptime_s(uptime);
      s->set_memory_max_mib(2048);
      journal.records.push_back(r);
    }
    m.set_instance_id("uuid-vm1");
    m.set_instance_name("vm1");
    m.set_requested_ns(kT0 + 10 * kS);
    m.set_running_ns(kT0 + 11 * kS);
    m.set_completed_ns(kT0 + 20 * kS);
    m.set_outcome(v1::MIGRATION_OUTCOME_COMPLETED);
    m.set_memory_processed_bytes(800'000'000);
    m.set_progress_ns(kT0 + 19 * kS);
  }

  JournalContents journal;
  v1::MigrationEvent m;
};

TEST_F(VmMetricsTest, EachPhaseHasItsOwnRates) {
  const VmSamples samples = index_vm_samples(journal);
  ASSERT_EQ(samples.count("uuid-vm1"), 1U);
  v1::VmMetrics v;
  ASSERT_TRUE(vm_metrics(samples.at("uuid-vm1"), m, 5 * kS, &v));
  // Before: the 10 s lookback, pairs 0-1 .. 9-10.
  EXPECT_EQ(v.before().samples(), 10U);
  EXPECT_NEAR(v.before().cpu_percent(), 10.0, 1e-9);
  EXPECT_NEAR(v.before().nic_rx_mbit_s(), 1.0, 1e-9);
  EXPECT_EQ(v.before().covered_ns(), 10 * kS);
  // During: pairs 10-11 .. 19-20.
  EXPECT_EQ(v.during().samples(), 10U);
  EXPECT_NEAR(v.during().cpu_percent(), 60.0, 1e-9);
  // After: the pair 20-21 spans the new process and is left out; 21-22 .. 24-25 remain
  // within the 5 s settle time.
  EXPECT_EQ(v.after().samples(), 4U);
  EXPECT_NEAR(v.after().cpu_percent(), 5.0, 1e-9);
  EXPECT_NEAR(v.after().nic_tx_mbit_s(), 0.0, 1e-9);
  // 800 MB over running (11 s) to the last progress (19 s).
  EXPECT_NEAR(v.memory_transfer_mb_s(), 100.0, 1e-9);
  EXPECT_EQ(v.disk_transfer_mb_s(), 0.0);
  EXPECT_EQ(v.memory_max_mib(), 2048U);
}

TEST_F(VmMetricsTest, AFailedMigrationEndsItsDuringPhaseAtTheFailure) {
  m.set_completed_ns(0);
  m.set_failed_ns(kT0 + 15 * kS);
  m.set_outcome(v1::MIGRATION_OUTCOME_FAILED);
  v1::VmMetrics v;
  ASSERT_TRUE(vm_metrics(index_vm_samples(journal).at("uuid-vm1"), m, 3 * kS, &v));
  EXPECT_EQ(v.during().samples(), 5U);
  EXPECT_EQ(v.after().samples(), 3U);
  EXPECT_NEAR(v.after().cpu_percent(), 60.0, 1e-9);
}

TEST_F(VmMetricsTest, NoSamplesAndNoTransferMeansNoMetrics) {
  m.set_memory_processed_bytes(0);
  v1::VmMetrics v;
  EXPECT_FALSE(vm_metrics({}, m, 2 * kS, &v));
  // Nova's transfer alone is a metric.
  m.set_memory_processed_bytes(80'000'000);
  ASSERT_TRUE(vm_metrics({}, m, 2 * kS, &v));
  EXPECT_NEAR(v.memory_transfer_mb_s(), 10.0, 1e-9);
  EXPECT_EQ(v.during().samples(), 0U);
  EXPECT_NE(vm_metrics_text(v, "  ").find("vm before not sampled"), std::string::npos)
      << vm_metrics_text(v, "  ");
}

TEST(VmMetricsMean, IsTheMeanOfThoseThatMeasuredEachPhase) {
  v1::VmMetrics a;
  a.mutable_during()->set_samples(4);
  a.mutable_during()->set_cpu_percent(40);
  a.mutable_before()->set_samples(2);
  a.mutable_before()->set_cpu_percent(10);
  a.set_memory_transfer_mb_s(100);
  v1::VmMetrics b;
  b.mutable_during()->set_samples(6);
  b.mutable_during()->set_cpu_percent(80);
  b.set_memory_transfer_mb_s(0);  // Nova reported none: not in the mean
  const v1::VmMetrics mean = mean_vm_metrics({&a, &b});
  EXPECT_EQ(mean.migrations(), 2U);
  EXPECT_NEAR(mean.during().cpu_percent(), 60.0, 1e-9);
  EXPECT_EQ(mean.during().samples(), 10U);
  EXPECT_NEAR(mean.before().cpu_percent(), 10.0, 1e-9);
  EXPECT_NEAR(mean.memory_transfer_mb_s(), 100.0, 1e-9);
  EXPECT_EQ(mean.after().samples(), 0U);
}

TEST_F(VmMetricsTest, TheReportOfAJournalWithSamplesShowsThemPerMigration) {
  v1::JournalRecord target;
  target.mutable_target()->set_name("vm1");
  target.mutable_target()->set_instance_id("uuid-vm1");
  target.mutable_target()->set_ip("10.77.0.11");
  journal.records.insert(journal.records.begin(), target);
  v1::JournalRecord mr;
  *mr.mutable_migration() = m;
  mr.mutable_migration()->set_campaign("c");
  mr.mutable_migration()->set_iteration(1);
  mr.mutable_migration()->set_ip("10.77.0.11");
  journal.records.push_back(mr);
  ReportInputs in;
  in.settle_ns = 2 * kS;
  const v1::Report report = build_report_from_journal(journal, in);
  ASSERT_EQ(report.targets_size(), 1);
  ASSERT_EQ(report.targets(0).migrations_size(), 1);
  const v1::MigrationReport& got = report.targets(0).migrations(0);
  ASSERT_TRUE(got.has_vm());
  EXPECT_NEAR(got.vm().during().cpu_percent(), 60.0, 1e-9);
  EXPECT_EQ(got.vm().after().samples(), 1U);  // 21-22 within the 2 s settle
  const std::string text = render_text(report);
  EXPECT_NE(text.find("vm during CPU 60% · NIC 1.00 Mb/s in, 0.00 Mb/s out · memory "
                      "transferred at 100.0 MB/s"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vm before CPU 10%"), std::string::npos) << text;
}

}  // namespace
}  // namespace migprobe::analysis
