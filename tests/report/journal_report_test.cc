// The report of a run from its journal alone (build_report_from_journal): a journal written
// with JournalWriter holding every record kind, tagged and summed as the capture path does,
// with evacuation statistics and the hypervisor's figures in the renderings.

#include "analysis/journal_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "analysis/journal_events.h"
#include "analysis/report_writers.h"

namespace migprobe::analysis {
namespace {

constexpr uint64_t kT0 = 1'800'000'000'000'000'000ULL;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kS = 1'000'000'000;

// The journal of a short evacuation run, written record by record as migprobe-control
// would: three VMs on host-a, moved to host-b (vm-2's migration fails) and back, then a
// second round trip interrupted on its way back. Times are ms after kT0.
class JournalReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("migprobe-journal-report-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "run.journal").string();
    v1::JournalHeader h;
    h.set_campaign("evac");
    h.set_created_ns(kT0);
    base::Status opened = writer_.open(path_, h);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void put(const v1::JournalRecord& r) { ASSERT_TRUE(writer_.append(r)); }

  void target(const std::string& name, const std::string& ip, const std::string& mac,
              std::vector<std::pair<uint32_t, v1::FlowKind>> flows) {
    v1::JournalRecord r;
    r.mutable_target()->set_name(name);
    r.mutable_target()->set_ip(ip);
    r.mutable_target()->set_mac(mac);
    for (const auto& [id, kind] : flows) {
      auto* f = r.mutable_target()->add_flows();
      f->set_flow_id(id);
      f->set_kind(kind);
      f->set_interval_ns(kMs);
      f->set_reply_timeout_ns(500 * kMs);
    }
    put(r);
  }

  // A gap of flow between the answered probes sent at before_ms and after_ms (1 ms
  // interval), as the dataplane streams it.
  void gap(const std::string& target, uint32_t flow, v1::FlowKind kind, uint64_t before_ms,
           uint64_t after_ms, uint32_t forward_lost = 0) {
    v1::JournalRecord r;
    v1::GapEvent* g = r.mutable_gap();
    g->set_target(target);
    g->set_flow_id(flow);
    g->set_flow_kind(kind);
    g->set_tx_before_ns(kT0 + before_ms * kMs);
    g->set_tx_after_ns(kT0 + after_ms * kMs);
    g->set_lost(static_cast<uint32_t>(after_ms - before_ms - 1));
    g->set_interval_ns(kMs);
    g->set_estimate_ns((after_ms - before_ms - 1) * kMs);
    g->set_lower_bound_ns((after_ms - before_ms - 2) * kMs);
    g->set_upper_bound_ns((after_ms - before_ms) * kMs);
    g->set_outage(true);
    if (forward_lost > 0) {
      g->set_has_direction(true);
      g->set_forward_lost(forward_lost);
    }
    put(r);
  }

  // One phase record of a migration: the whole state so far.
  void migration(const v1::MigrationEvent& m, v1::MigrationPhase phase, uint64_t at_ms) {
    v1::JournalRecord r;
    *r.mutable_migration() = m;
    r.mutable_migration()->set_phase(phase);
    r.mutable_migration()->set_recorded_ns(kT0 + at_ms * kMs);
    put(r);
  }

  // Start and end records of one direction of one iteration.
  void evacuation(uint32_t iteration, const std::string& from, const std::string& to,
                  uint64_t start_ms, uint64_t end_ms, bool interrupted, uint32_t failed) {
    v1::JournalRecord r;
    v1::EvacuationEvent* e = r.mutable_evacuation();
    e->set_campaign("evac");
    e->set_iteration(iteration);
    e->set_source_host(from);
    e->set_dest_host(to);
    e->set_started_ns(kT0 + start_ms * kMs);
    e->set_migrations(3);
    put(r);
    e->set_finished_ns(kT0 + end_ms * kMs);
    e->set_interrupted(interrupted);
    e->set_failed(failed);
    e->set_completed(interrupted ? 1 : 3 - failed);
    put(r);
  }

  static v1::MigrationEvent mig(const std::string& name, const std::string& ip,
                                const std::string& nova_id, uint64_t requested_ms) {
    v1::MigrationEvent m;
    m.set_campaign("evac");
    m.set_iteration(1);
    m.set_instance_id("uuid-" + name);
    m.set_instance_name(name);
    m.set_ip(ip);
    m.set_source_host("host-a");
    m.set_dest_host("host-b");
    m.set_nova_migration_id(nova_id);
    m.set_requested_ns(kT0 + requested_ms * kMs);
    m.set_outcome(v1::MIGRATION_OUTCOME_IN_PROGRESS);
    return m;
  }

  void flow_totals(const std::string& target, uint32_t flow, v1::FlowKind kind, uint64_t sent,
                   uint64_t lost) {
    v1::JournalRecord r;
    v1::FlowReport* f = r.mutable_flow_totals();
    f->set_target(target);
    f->set_flow_id(flow);
    f->set_kind(kind);
    f->set_interval_ns(kMs);
    f->set_sent(sent);
    f->set_answered(sent - lost);
    f->set_lost(lost);
    f->set_rtt_min_ns(40'000);
    f->set_rtt_mean_ns(50'000);
    f->set_rtt_max_ns(90'000);
    put(r);
  }

  // Writes the whole run and reads it back.
  JournalContents write_run() {
    constexpr auto kIcmp = v1::FLOW_KIND_ICMP_ECHO;
    constexpr auto kUdp = v1::FLOW_KIND_UDP_REFLECT;
    v1::JournalRecord run;
    run.mutable_run()->set_seen_ns(kT0);
    run.mutable_run()->set_state("started");
    put(run);
    target("vm-1", "10.77.0.11", "52:54:00:77:00:11", {{1, kIcmp}, {2, kUdp}});
    target("vm-2", "10.77.0.12", "52:54:00:77:00:12", {{3, kIcmp}});
    target("vm-3", "10.77.0.13", "52:54:00:77:00:13", {{4, kIcmp}, {5, kUdp}});
    v1::JournalRecord probe;
    probe.mutable_probe()->set_outage_threshold_ns(2 * kMs);
    probe.mutable_probe()->set_pid(4242);
    put(probe);

    // Iteration 1, host-a -> host-b: 500 ms .. 10.5 s.
    v1::MigrationEvent m1 = mig("vm-1", "10.77.0.11", "1001", 1000);
    migration(m1, v1::MIGRATION_PHASE_REQUESTED, 1000);
    m1.set_accepted_ns(kT0 + 1010 * kMs);
    migration(m1, v1::MIGRATION_PHASE_ACCEPTED, 1010);
    // vm-1 pauses at 1.500 s, resumes at 1.514 s: both flows lose probes.
    gap("vm-1", 1, kIcmp, 1499, 1520);
    gap("vm-1", 2, kUdp, 1501, 1518, 16);
    v1::JournalRecord rarp;
    rarp.mutable_announce()->set_seen_ns(kT0 + 1514 * kMs);
    rarp.mutable_announce()->set_kind(v1::ANNOUNCE_KIND_RARP);
    rarp.mutable_announce()->set_mac("52:54:00:77:00:11");
    put(rarp);
    m1.set_switchover_ns(kT0 + 1514 * kMs);
    migration(m1, v1::MIGRATION_PHASE_SWITCHOVER, 1514);
    m1.set_completed_ns(kT0 + 2000 * kMs);
    m1.set_outcome(v1::MIGRATION_OUTCOME_COMPLETED);
    m1.set_nova_status("completed");
    m1.set_hypervisor_downtime_ms(12.5);
    m1.set_hypervisor_stop_ns(kT0 + 1500 * kMs);
    m1.set_hypervisor_resume_ns(kT0 + 1514 * kMs);
    migration(m1, v1::MIGRATION_PHASE_COMPLETED, 2000);

    // vm-2's migration fails; a short gap within its window goes to it all the same.
    v1::MigrationEvent m2 = mig("vm-2", "10.77.0.12", "1002", 2500);
    migration(m2, v1::MIGRATION_PHASE_REQUESTED, 2500);
    gap("vm-2", 3, kIcmp, 2700, 2703);
    v1::JournalRecord err;
    err.mutable_error()->set_seen_ns(kT0 + 2900 * kMs);
    err.mutable_error()->set_source("nova");
    err.mutable_error()->set_message("migration 1002 of vm-2 went to status error");
    put(err);
    m2.set_failed_ns(kT0 + 3000 * kMs);
    m2.set_outcome(v1::MIGRATION_OUTCOME_FAILED);
    m2.set_nova_status("error");
    m2.set_error("Migration pre-check error: CPU doesn't have compatibility.");
    migration(m2, v1::MIGRATION_PHASE_FAILED, 3000);

    // vm-3's migration overlaps a time the dataplane was restarting.
    v1::MigrationEvent m3 = mig("vm-3", "10.77.0.13", "1003", 4000);
    migration(m3, v1::MIGRATION_PHASE_REQUESTED, 4000);
    gap("vm-3", 5, kUdp, 4200, 4206, 5);
    v1::JournalRecord cov;
    cov.mutable_coverage_gap()->set_from_ns(kT0 + 5000 * kMs);
    cov.mutable_coverage_gap()->set_to_ns(kT0 + 5500 * kMs);
    cov.mutable_coverage_gap()->set_reason("dataplane restarted");
    put(cov);
    m3.set_completed_ns(kT0 + 6000 * kMs);
    m3.set_outcome(v1::MIGRATION_OUTCOME_COMPLETED);
    migration(m3, v1::MIGRATION_PHASE_COMPLETED, 6000);

    // Outside every window (vm-1's ended at 2 s + 1 s settle): unattributed.
    gap("vm-1", 1, kIcmp, 8000, 8004);

    evacuation(1, "host-a", "host-b", 500, 10'500, false, 1);
    evacuation(1, "host-b", "host-a", 10'500, 25'500, false, 0);
    evacuation(2, "host-a", "host-b", 25'500, 37'500, false, 0);
    evacuation(2, "host-b", "host-a", 37'500, 40'000, true, 0);
    // Final counters; flow 5 has none (the run was interrupted before they came).
    flow_totals("vm-1", 1, kIcmp, 40'000, 23);
    flow_totals("vm-1", 2, kUdp, 40'000, 16);
    flow_totals("vm-2", 3, kIcmp, 40'000, 2);
    flow_totals("vm-3", 4, kIcmp, 40'000, 0);
    run.mutable_run()->set_seen_ns(kT0 + 40 * kS);
    run.mutable_run()->set_state("interrupted");
    put(run);
    EXPECT_TRUE(writer_.close());
    JournalContents j;
    base::Status read = read_journal(path_, &j);
    EXPECT_TRUE(read.ok()) << read.error().message;
    return j;
  }

  v1::Report report() {
    const JournalContents j = write_run();
    ReportInputs in;
    in.settle_ns = kS;
    in.source.set_journal_path(path_);
    return build_report_from_journal(j, in);
  }

  std::filesystem::path dir_;
  std::string path_;
  JournalWriter writer_;
};

TEST_F(JournalReportTest, TargetsFlowsAndGapsSitWhereTheJournalSays) {
  const v1::Report r = report();
  EXPECT_EQ(r.generator(), "migprobe-control");
  EXPECT_EQ(r.source().format(), "journal");
  EXPECT_EQ(r.source().first_ns(), kT0);
  EXPECT_EQ(r.source().last_ns(), kT0 + 40 * kS);
  // The flows' own reply timeout wins over the default, and so does the dataplane's own
  // outage threshold (it classified the gaps).
  EXPECT_EQ(r.settings().reply_timeout_ns(), 500 * kMs);
  EXPECT_EQ(r.settings().outage_threshold_ns(), 2 * kMs);
  ASSERT_EQ(r.targets_size(), 3);
  EXPECT_EQ(r.targets(0).name(), "vm-1");
  EXPECT_EQ(r.targets(0).mac(), "52:54:00:77:00:11");
  EXPECT_EQ(r.targets(2).name(), "vm-3");
  ASSERT_EQ(r.targets(0).flows_size(), 2);
  const v1::FlowReport& icmp = r.targets(0).flows(0);
  EXPECT_EQ(icmp.flow_id(), 1U);
  EXPECT_EQ(icmp.sent(), 40'000U);
  EXPECT_EQ(icmp.lost(), 23U);
  EXPECT_EQ(icmp.target(), "");  // the flow sits under its target
  ASSERT_EQ(icmp.gaps_size(), 2);
  EXPECT_EQ(icmp.gaps(0).target(), "vm-1");
  // Flow 5 has a gap but no final counters: it appears, kind and interval from its spec.
  ASSERT_EQ(r.targets(2).flows_size(), 2);
  const v1::FlowReport& udp5 = r.targets(2).flows(1);
  EXPECT_EQ(udp5.flow_id(), 5U);
  EXPECT_EQ(udp5.kind(), v1::FLOW_KIND_UDP_REFLECT);
  EXPECT_EQ(udp5.interval_ns(), kMs);
  EXPECT_EQ(udp5.sent(), 0U);
  EXPECT_EQ(udp5.gaps_size(), 1);
  EXPECT_EQ(r.announces_size(), 1);
  ASSERT_EQ(r.errors_size(), 1);
  EXPECT_EQ(r.errors(0).source(), "nova");
  ASSERT_EQ(r.coverage_gaps_size(), 1);
  EXPECT_EQ(r.coverage_gaps(0).reason(), "dataplane restarted");
}

// The run's --settle, journaled with its run records, tags the gaps of the report made
// from the journal alone, whatever the reader's default.
TEST_F(JournalReportTest, TheRunsOwnSettleWins) {
  JournalContents j = write_run();
  for (auto& r : j.records) {
    if (r.has_run()) r.mutable_run()->set_settle_ns(7 * kS);
  }
  ReportInputs in;
  in.settle_ns = kS;
  const v1::Report r = build_report_from_journal(j, in);
  EXPECT_EQ(r.settings().settle_ns(), 7 * kS);
}

TEST_F(JournalReportTest, GapsAreTaggedAndMigrationsSummed) {
  const v1::Report r = report();
  // Phase records merge to one migration each, newest state.
  ASSERT_EQ(r.migrations_size(), 3);
  EXPECT_EQ(r.migrations(0).phase(), v1::MIGRATION_PHASE_COMPLETED);
  EXPECT_EQ(r.migrations(0).hypervisor_downtime_ms(), 12.5);
  EXPECT_EQ(r.migrations_completed(), 2U);
  EXPECT_EQ(r.migrations_failed(), 1U);

  const auto& vm1 = r.targets(0);
  EXPECT_EQ(vm1.flows(0).gaps(0).migration_number(), 1U);
  EXPECT_EQ(vm1.flows(1).gaps(0).migration_number(), 1U);
  ASSERT_EQ(vm1.migrations_size(), 1);
  const v1::MigrationReport& m1 = vm1.migrations(0);
  EXPECT_EQ(m1.number(), 1U);
  EXPECT_EQ(m1.gaps(), 2U);
  EXPECT_EQ(m1.lost(), 20U + 16U);
  // icmp: 20 ms estimated from 1.4995 s to 1.5195 s; udp: 16 ms inside it.
  EXPECT_EQ(m1.union_ns(), 20 * kMs);
  EXPECT_EQ(m1.longest_icmp_ns(), 20 * kMs);
  EXPECT_EQ(m1.longest_udp_ns(), 16 * kMs);
  EXPECT_EQ(m1.lower_bound_ns(), 19 * kMs);
  EXPECT_EQ(m1.upper_bound_ns(), 21 * kMs);
  EXPECT_EQ(m1.forward_lost(), 16U);
  EXPECT_EQ(m1.announce_ns(), kT0 + 1514 * kMs);
  EXPECT_FALSE(m1.coverage_lost());

  // The failed migration keeps its gap, and counts as failed, not in the downtime figures.
  const v1::MigrationReport& m2 = r.targets(1).migrations(0);
  EXPECT_EQ(m2.number(), 2U);
  EXPECT_EQ(m2.gaps(), 1U);
  EXPECT_EQ(m2.migration().outcome(), v1::MIGRATION_OUTCOME_FAILED);
  EXPECT_FALSE(m2.coverage_lost());

  // The dataplane restart inside vm-3's window flags it.
  const v1::MigrationReport& m3 = r.targets(2).migrations(0);
  EXPECT_EQ(m3.union_ns(), 5 * kMs);
  EXPECT_TRUE(m3.coverage_lost());

  // The gap outside every window stays, unattributed.
  ASSERT_EQ(r.unattributed_gaps_size(), 1);
  EXPECT_EQ(r.unattributed_gaps(0).target(), "vm-1");
  EXPECT_EQ(r.unattributed_gaps(0).lost(), 3U);
  EXPECT_EQ(vm1.flows(0).gaps(1).migration_number(), 0U);

  // Downtime over the completed migrations: 20 ms and 5 ms.
  EXPECT_EQ(r.downtime().count(), 2U);
  EXPECT_EQ(r.downtime().max_ns(), 20 * kMs);
  EXPECT_EQ(r.downtime().median_ns(), 12'500'000U);
}

TEST_F(JournalReportTest, ARequestNovaNeverTookIsNoMigration) {
  // The run stopped between vm-4's request and Nova's answer; the resume found nothing in
  // Nova, closed the request as not made and made the migration again.
  v1::MigrationEvent lost = mig("vm-4", "10.0.0.4", "", 100);
  migration(lost, v1::MIGRATION_PHASE_REQUESTED, 100);
  lost.set_outcome(v1::MIGRATION_OUTCOME_NOT_MADE);
  migration(lost, v1::MIGRATION_PHASE_REQUESTED, 9'000);
  v1::MigrationEvent again = mig("vm-4", "10.0.0.4", "nova-4", 9'100);
  again.set_outcome(v1::MIGRATION_OUTCOME_COMPLETED);
  again.set_completed_ns(kT0 + 15'000 * kMs);
  migration(again, v1::MIGRATION_PHASE_COMPLETED, 15'000);
  ASSERT_TRUE(writer_.close());
  JournalContents j;
  ASSERT_TRUE(read_journal(path_, &j).ok());
  const std::vector<v1::MigrationEvent> merged = merge_migrations(&j);
  ASSERT_EQ(merged.size(), 1U);
  EXPECT_EQ(merged[0].nova_migration_id(), "nova-4");
  const v1::Report r = build_report_from_journal(j, ReportInputs{});
  ASSERT_EQ(r.migrations_size(), 1);
  EXPECT_EQ(r.migrations_completed(), 1U);
  EXPECT_EQ(r.migrations_failed(), 0U);
}

TEST_F(JournalReportTest, EvacuationsMergeAndTimePerDirection) {
  const v1::Report r = report();
  // Start and end records of each direction merge into one; the newest wins.
  ASSERT_EQ(r.evacuations_size(), 4);
  EXPECT_EQ(r.evacuations(0).finished_ns(), kT0 + 10'500 * kMs);
  EXPECT_EQ(r.evacuations(0).failed(), 1U);
  EXPECT_TRUE(r.evacuations(3).interrupted());
  ASSERT_EQ(r.evacuation_time_size(), 2);
  // host-a -> host-b: 10 s and 12 s.
  const auto& ab = r.evacuation_time(0);
  EXPECT_EQ(ab.source_host(), "host-a");
  EXPECT_EQ(ab.dest_host(), "host-b");
  EXPECT_EQ(ab.duration().count(), 2U);
  EXPECT_EQ(ab.duration().mean_ns(), 11 * kS);
  EXPECT_EQ(ab.duration().median_ns(), 11 * kS);
  EXPECT_EQ(ab.duration().p95_ns(), 12 * kS);
  EXPECT_EQ(ab.duration().min_ns(), 10 * kS);
  // host-b -> host-a: 15 s; the interrupted direction does not count.
  const auto& ba = r.evacuation_time(1);
  EXPECT_EQ(ba.source_host(), "host-b");
  EXPECT_EQ(ba.duration().count(), 1U);
  EXPECT_EQ(ba.duration().max_ns(), 15 * kS);
}

TEST_F(JournalReportTest, RenderingsShowHypervisorFiguresAndRunSections) {
  const v1::Report r = report();
  const std::string text = render_text(r);
  auto has = [&text](const std::string& s) {
    EXPECT_NE(text.find(s), std::string::npos) << "missing: " << s << "\n" << text;
  };
  has("times are relative to the start of the run");
  has("hypervisor: downtime 12.500 ms, paused 14.000 ms (stop to resume); the probe measured "
      "20.000 ms");
  has("nova migration 1001  status completed");
  has("FAILED");
  has("error: Migration pre-check error: CPU doesn't have compatibility.");
  has("WARNING: the probe was not measuring during part of this migration");
  has("migrations: 3 (completed 2, failed or aborted 1, success rate 66.7%)");
  has("median 12.500 ms");
  has("iteration 1  host-a -> host-b  started +0.500000 s  took 10.000 s  3 migrations: 2 "
      "completed, 1 failed");
  has("INTERRUPTED");
  has("evacuation time host-a -> host-b (2): mean 11.000 s  median 11.000 s  p95 12.000 s  max "
      "12.000 s");
  has("from +5.000000 s to +5.500000 s (0.500 s): dataplane restarted");
  has("+2.900000 s  nova: migration 1002 of vm-2 went to status error");
  has("udp flow 5  interval 1.000 ms  no final counters");
  EXPECT_EQ(text.find("dropped frames"), std::string::npos);

  const std::string json = render_json(r);
  EXPECT_NE(json.find("\"hypervisor_downtime_ms\": 12.5"), std::string::npos);
  EXPECT_NE(json.find("\"hypervisor_resume_ns\": \"" + std::to_string(kT0 + 1514 * kMs)),
            std::string::npos);
  EXPECT_NE(json.find("\"coverage_lost\": true"), std::string::npos);
  EXPECT_NE(json.find("\"evacuation_time\""), std::string::npos);

  // CSV: the columns added at the end carry Nova's id, the error and both figures (then a
  // neighbour's migration, empty: these gaps have their own; and the TCP verdict, empty:
  // no TCP stream).
  const std::string csv = render_csv(r);
  EXPECT_NE(csv.find(",MIGRATION_OUTCOME_COMPLETED,1001,,20000000,12.5,14000000,0,,,,,\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",MIGRATION_OUTCOME_FAILED,1002,Migration pre-check error: CPU doesn't "
                     "have compatibility.,2000000,,,0,,,,,\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",MIGRATION_OUTCOME_COMPLETED,1003,,5000000,,,1,,,,,\n"), std::string::npos);
  // Every row has the header's columns, those of a gap no migration explains included.
  const auto fields = [](const std::string& row) {
    size_t n = 1;
    bool quoted = false;
    for (char c : row) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) ++n;
    }
    return n;
  };
  size_t rows = 0, unattributed = 0, header = 0;
  for (size_t at = 0, end; (end = csv.find('\n', at)) != std::string::npos; at = end + 1) {
    const std::string row = csv.substr(at, end - at);
    if (at == 0) {
      header = fields(row);
      continue;
    }
    ++rows;
    if (row.find("MIGRATION_OUTCOME") == std::string::npos) ++unattributed;
    EXPECT_EQ(fields(row), header) << row;
  }
  EXPECT_GT(rows, 0U);
  EXPECT_GT(unattributed, 0U) << csv;
}

}  // namespace
}  // namespace migprobe::analysis
