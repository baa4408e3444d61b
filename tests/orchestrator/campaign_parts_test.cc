// The parts of a campaign run that need no cloud: a cell's figures from its run's report,
// the matrix table and CSV, the campaign report read back from journals written here, and
// the operator's before/after commands (exit status, output, timeout, a missing program).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "analysis/journal.h"
#include "base/clock.h"
#include "orchestrator/campaign_report.h"
#include "orchestrator/campaign_run.h"
#include "orchestrator/campaign_spec.h"
#include "orchestrator/cell_command.h"

namespace migprobe::orchestrator {
namespace {

// A target probed with ICMP and TCP (no UDP) and its migrations: union downtime, longest
// ICMP and TCP gap, outcome and TCP verdict.
struct Mig {
  uint64_t union_ms;
  uint64_t icmp_ms;
  uint64_t tcp_ms;
  v1::MigrationOutcome outcome;
  v1::TcpVerdictKind verdict;
};

v1::Report report_of(const std::vector<Mig>& migs) {
  v1::Report r;
  v1::TargetReport* t = r.add_targets();
  t->set_name("vm1");
  t->add_flows()->set_kind(v1::FLOW_KIND_ICMP_ECHO);
  t->add_flows()->set_kind(v1::FLOW_KIND_TCP_STREAM);
  for (const Mig& m : migs) {
    v1::MigrationReport* mr = t->add_migrations();
    mr->mutable_migration()->set_outcome(m.outcome);
    mr->set_union_ns(m.union_ms * 1'000'000);
    mr->set_longest_icmp_ns(m.icmp_ms * 1'000'000);
    mr->set_longest_tcp_ns(m.tcp_ms * 1'000'000);
    mr->mutable_tcp()->set_verdict(m.verdict);
    *r.add_migrations() = mr->migration();
    if (m.outcome == v1::MIGRATION_OUTCOME_COMPLETED) {
      r.set_migrations_completed(r.migrations_completed() + 1);
    } else {
      r.set_migrations_failed(r.migrations_failed() + 1);
    }
  }
  r.add_unattributed_gaps();
  v1::DirectionStats* d = r.add_evacuation_time();
  d->set_source_host("hostA");
  d->set_dest_host("hostB");
  d->mutable_duration()->set_count(1);
  d->mutable_duration()->set_mean_ns(12'500'000'000);
  return r;
}

TEST(CampaignReport, ACellsFiguresFromItsRunsReport) {
  v1::Report report = report_of({
      {100, 90, 300, v1::MIGRATION_OUTCOME_COMPLETED, v1::TCP_VERDICT_RECOVERED},
      {200, 150, 0, v1::MIGRATION_OUTCOME_COMPLETED, v1::TCP_VERDICT_INTACT},
      {0, 0, 0, v1::MIGRATION_OUTCOME_FAILED, v1::TCP_VERDICT_NOT_MEASURED},
      {400, 380, 900, v1::MIGRATION_OUTCOME_COMPLETED, v1::TCP_VERDICT_RECOVERED},
      {0, 0, 0, v1::MIGRATION_OUTCOME_COMPLETED, v1::TCP_VERDICT_NOT_MEASURED},
  });
  // The last one happened while the probe was not measuring (a resume's coverage gap).
  report.mutable_targets(0)->mutable_migrations(4)->set_coverage_lost(true);
  const v1::CellResult c = cell_result(report);
  EXPECT_EQ(c.migrations(), 5U);
  EXPECT_EQ(c.completed(), 4U);
  EXPECT_EQ(c.not_measured(), 1U);
  EXPECT_EQ(c.failed(), 1U);
  // Completed migrations only.
  EXPECT_EQ(c.downtime().count(), 3U);
  EXPECT_EQ(c.downtime().median_ns(), 200'000'000U);
  EXPECT_EQ(c.downtime().max_ns(), 400'000'000U);
  EXPECT_EQ(c.downtime().p99_ns(), 400'000'000U);
  ASSERT_EQ(c.downtimes_ns_size(), 3);
  EXPECT_EQ(c.icmp().count(), 3U);
  EXPECT_EQ(c.icmp().max_ns(), 380'000'000U);
  EXPECT_EQ(c.tcp().max_ns(), 900'000'000U);
  // No UDP flow: no UDP figures (not three zeros).
  EXPECT_EQ(c.udp().count(), 0U);
  // Verdicts counted, "not measured" left out.
  ASSERT_EQ(c.tcp_verdicts_size(), 2);
  EXPECT_EQ(c.tcp_verdicts(0).verdict(), v1::TCP_VERDICT_INTACT);
  EXPECT_EQ(c.tcp_verdicts(0).count(), 1U);
  EXPECT_EQ(c.tcp_verdicts(1).verdict(), v1::TCP_VERDICT_RECOVERED);
  EXPECT_EQ(c.tcp_verdicts(1).count(), 2U);
  EXPECT_EQ(c.unattributed_gaps(), 1U);
  EXPECT_EQ(c.evacuation_time_size(), 1);
}

TEST(CampaignReport, ACellsVmMetricsAreTheMeanOfItsCompletedMigrations) {
  v1::Report report = report_of({
      {100, 90, 0, v1::MIGRATION_OUTCOME_COMPLETED, v1::TCP_VERDICT_NOT_MEASURED},
      {200, 150, 0, v1::MIGRATION_OUTCOME_COMPLETED, v1::TCP_VERDICT_NOT_MEASURED},
      {0, 0, 0, v1::MIGRATION_OUTCOME_FAILED, v1::TCP_VERDICT_NOT_MEASURED},
  });
  const double during[] = {40, 80, 5};
  for (int i = 0; i < 3; ++i) {
    v1::VmMetrics* vm = report.mutable_targets(0)->mutable_migrations(i)->mutable_vm();
    vm->mutable_before()->set_samples(2);
    vm->mutable_before()->set_cpu_percent(10);
    vm->mutable_during()->set_samples(4);
    vm->mutable_during()->set_cpu_percent(during[i]);
    vm->mutable_during()->set_nic_rx_mbit_s(1.5);
    vm->set_memory_transfer_mb_s(100.0 * (i + 1));
  }
  v1::CellResult c = cell_result(report);
  // The failed migration is left out.
  EXPECT_EQ(c.vm().migrations(), 2U);
  EXPECT_DOUBLE_EQ(c.vm().during().cpu_percent(), 60.0);
  EXPECT_DOUBLE_EQ(c.vm().memory_transfer_mb_s(), 150.0);
  c.set_index(1);
  c.set_state("finished");
  v1::CampaignReport r;
  r.set_name("vm");
  *r.add_cells() = c;
  const std::string text = render_campaign_text(r);
  EXPECT_NE(text.find(" 10/60 "), std::string::npos) << text;
  EXPECT_NE(text.find(" 150.0 "), std::string::npos) << text;
  EXPECT_NE(text.find("cell 1 VM metrics, the mean of 2 completed migrations:\n"
                      "    vm before CPU 10% · NIC 0.00 Mb/s in, 0.00 Mb/s out\n"
                      "    vm during CPU 60% · NIC 1.50 Mb/s in, 0.00 Mb/s out · memory "
                      "transferred at 150.0 MB/s\n"
                      "    vm after  not sampled\n"),
            std::string::npos)
      << text;
  const std::string csv = render_campaign_csv(r);
  EXPECT_NE(csv.find(",10.00,60.00,,1.50,0.00,150.00,"), std::string::npos) << csv;
}

TEST(CampaignReport, TheMatrixTableHasTheLabelsAsColumns) {
  v1::CampaignReport r;
  r.set_name("seed");
  r.add_labels("flavor");
  r.add_labels("storage");
  v1::CellResult a = cell_result(
      report_of({{100, 90, 300, v1::MIGRATION_OUTCOME_COMPLETED, v1::TCP_VERDICT_RECOVERED}}));
  a.set_index(1);
  (*a.mutable_cell()->mutable_labels())["flavor"] = "small";
  (*a.mutable_cell()->mutable_labels())["storage"] = "ceph";
  a.mutable_cell()->mutable_settings()->set_source_host("hostA");
  a.mutable_cell()->mutable_settings()->set_dest_host("hostB");
  a.set_state("finished");
  v1::CellResult b;
  b.set_index(2);
  (*b.mutable_cell()->mutable_labels())["flavor"] = "large, fast";
  b.set_state("skipped");
  b.set_reason("before command exit 1 after 0.0 s");
  *r.add_cells() = a;
  *r.add_cells() = b;
  const std::string text = render_campaign_text(r);
  EXPECT_NE(text.find("# flavor      storage state"), std::string::npos) << text;
  EXPECT_NE(text.find("1 small       ceph    finished"), std::string::npos) << text;
  EXPECT_NE(text.find("100.0"), std::string::npos) << text;
  EXPECT_NE(text.find("0/1/0/0"), std::string::npos) << text;
  EXPECT_NE(text.find("12.5"), std::string::npos) << text;
  EXPECT_NE(text.find("cell 2 skipped: before command exit 1"), std::string::npos) << text;
  const std::string csv = render_campaign_csv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "cell,flavor,storage,state,migrations,completed,failed,downtime_mean_ms,"
            "downtime_median_ms,downtime_p95_ms,downtime_p99_ms,downtime_max_ms,icmp_p95_ms,"
            "udp_p95_ms,tcp_p95_ms,tcp_intact,tcp_recovered,tcp_reset,tcp_stalled,"
            "tcp_not_established,evacuation_there_mean_s,evacuation_back_mean_s,queued,"
            "queued_mean_s,queued_max_s,vm_cpu_before_pct,vm_cpu_during_pct,vm_cpu_after_pct,"
            "vm_nic_during_mbit_s,vm_disk_during_mb_s,vm_memory_transfer_mb_s,unattributed_gaps,"
            "authentications");
  EXPECT_NE(csv.find("\n1,small,ceph,finished,1,1,0,100.0,100.0,100.0,100.0,100.0,90.0,,300.0,"
                     "0,1,0,0,0,12.5,,0,,,,,,,,,1,0\n"),
            std::string::npos)
      << csv;
  // A label with a comma is quoted; a cell without figures has empty fields.
  EXPECT_NE(csv.find("\n2,\"large, fast\",,skipped,0,0,0,,,,,,,,,0,0,0,0,0,,,0,,,,,,,,,0,0\n"),
            std::string::npos)
      << csv;
}

TEST(CampaignReport, TimeQueuedCountsFromAcceptanceToNovasStart) {
  v1::Report report =
      report_of({{100, 90, 300, v1::MIGRATION_OUTCOME_COMPLETED, v1::TCP_VERDICT_INTACT},
                 {100, 90, 300, v1::MIGRATION_OUTCOME_COMPLETED, v1::TCP_VERDICT_INTACT},
                 {0, 0, 0, v1::MIGRATION_OUTCOME_ABORTED, v1::TCP_VERDICT_NOT_MEASURED},
                 {100, 90, 300, v1::MIGRATION_OUTCOME_COMPLETED, v1::TCP_VERDICT_INTACT}});
  const uint64_t s = 1'000'000'000;
  // The first ran at once; the second waited 14 s, the third was cancelled after 30 s in
  // the queue; the fourth started without ever being seen queued.
  auto* m = report.mutable_migrations();
  m->Mutable(0)->set_accepted_ns(100 * s);
  m->Mutable(0)->set_running_ns(101 * s);
  m->Mutable(1)->set_accepted_ns(100 * s);
  m->Mutable(1)->set_queued_ns(101 * s);
  m->Mutable(1)->set_running_ns(114 * s);
  m->Mutable(2)->set_accepted_ns(100 * s);
  m->Mutable(2)->set_queued_ns(101 * s);
  m->Mutable(2)->set_failed_ns(130 * s);
  m->Mutable(3)->set_accepted_ns(100 * s);
  m->Mutable(3)->set_running_ns(190 * s);
  v1::CellResult c = cell_result(report);
  EXPECT_EQ(c.queued(), 2U);
  EXPECT_EQ(c.queued_time().max_ns(), 30 * s);
  EXPECT_EQ(c.queued_time().min_ns(), 14 * s);
  c.set_index(1);
  c.set_state("finished");
  v1::CampaignReport r;
  *r.add_cells() = c;
  EXPECT_NE(render_campaign_text(r).find(" 2 (30.0) "), std::string::npos)
      << render_campaign_text(r);
  EXPECT_NE(render_campaign_csv(r).find(",2,22.0,30.0,"), std::string::npos)
      << render_campaign_csv(r);
}

control::Server server(const std::string& name, const std::string& flavor_id,
                       const std::string& flavor_name) {
  control::Server s;
  s.id = "id-" + name;
  s.name = name;
  s.flavor_id = flavor_id;
  s.flavor_name = flavor_name;
  return s;
}

TEST(CampaignCheck, TheCellsFlavorExistsAndIsItsServers) {
  const std::vector<control::Flavor> flavors = {{"f-1", "small", 2, 4096, 40},
                                                {"f-3", "large", 8, 16384, 160}};
  // Servers from before 2.47 (flavor by id) and from 2.47 on (by name).
  const std::vector<control::Server> on_a = {server("s1", "f-1", ""), server("s2", "", "small"),
                                             server("l1", "", "large")};
  v1::CellSettings s;
  EXPECT_TRUE(flavor_problems(s, flavors, on_a).empty());  // no flavor set
  s.set_flavor("small");
  s.add_servers("s1");
  s.add_servers("id-s2");
  EXPECT_TRUE(flavor_problems(s, flavors, on_a).empty());
  s.set_flavor("f-1");  // by id
  EXPECT_TRUE(flavor_problems(s, flavors, on_a).empty());
  s.add_servers("l1");
  EXPECT_EQ(flavor_problems(s, flavors, on_a),
            std::vector<std::string>{"server l1 is of flavor large, not small"});
  // No servers named: every server on the source host is moved.
  s.clear_servers();
  s.set_flavor("large");
  EXPECT_EQ(flavor_problems(s, flavors, on_a),
            (std::vector<std::string>{"server s1 is of flavor f-1, not large",
                                      "server s2 is of flavor small, not large"}));
  s.set_flavor("medium");
  EXPECT_EQ(flavor_problems(s, flavors, on_a),
            std::vector<std::string>{"no flavor 'medium' in Nova (it has: small, large)"});
}

std::string temp_dir() {
  char tmpl[] = "/tmp/migprobe-campaign-test-XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d == nullptr ? std::string() : std::string(d);
}

TEST(CampaignReport, ReadBackFromTheCampaignJournal) {
  const std::string dir = temp_dir();
  ASSERT_FALSE(dir.empty());
  auto spec = parse_campaign_spec(R"(name: two
defaults: {source_host: hostA, dest_host: hostB}
axes: [{name: copy, values: [pre, post, never]}]
)",
                                  "two.yaml");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  auto cells = expand_cells(*spec);
  ASSERT_TRUE(cells.ok());
  analysis::JournalWriter w;
  v1::JournalHeader h;
  h.set_campaign("two");
  ASSERT_TRUE(w.open(dir + "/" + kCampaignJournal, h).ok());
  v1::JournalRecord start;
  *start.mutable_campaign()->mutable_spec() = *spec;
  start.mutable_campaign()->set_state("started");
  for (const auto& c : *cells) *start.mutable_campaign()->add_cells() = c;
  ASSERT_TRUE(w.append(start));
  // Cell 1 started and its run journal is missing: a problem, the row kept; cell 2 was
  // skipped by its before command; cell 3 never ran.
  v1::JournalRecord one;
  one.mutable_cell()->set_index(1);
  one.mutable_cell()->set_state("started");
  one.mutable_cell()->set_dir(cell_dir((*cells)[0], 1));
  ASSERT_TRUE(w.append(one));
  v1::JournalRecord two;
  two.mutable_cell()->set_index(2);
  two.mutable_cell()->set_state("skipped");
  two.mutable_cell()->set_reason("before command exit 3 after 0.1 s");
  two.mutable_cell()->mutable_before()->set_exit_status(3);
  ASSERT_TRUE(w.append(two));
  ASSERT_TRUE(w.close());

  auto report = build_campaign_report(dir);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->name(), "two");
  ASSERT_EQ(report->labels_size(), 1);
  EXPECT_EQ(report->labels(0), "copy");
  ASSERT_EQ(report->cells_size(), 3);
  EXPECT_EQ(report->cells(0).state(), "started");
  EXPECT_EQ(report->cells(0).dir(), "cells/01-copy=pre");
  EXPECT_EQ(report->cells(1).state(), "skipped");
  EXPECT_EQ(report->cells(1).before().exit_status(), 3);
  EXPECT_EQ(report->cells(2).state(), "not run");
  ASSERT_EQ(report->problems_size(), 1);
  EXPECT_NE(report->problems(0).find("cell 1: "), std::string::npos) << report->problems(0);
  EXPECT_NE(report->problems(0).find("cells/01-copy=pre/journal.mpj"), std::string::npos)
      << report->problems(0);

  // Not a campaign directory: the error names the journal.
  auto none = build_campaign_report(dir + "/cells");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("campaign.mpj"), std::string::npos) << none.error().message;
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST(CellCommand, ExitStatusAndOutput) {
  v1::CellCommand c;
  for (const char* a : {"sh", "-c", "echo out; echo err >&2; exit 3"}) c.add_argv(a);
  const v1::CommandResult r = run_cell_command(c);
  EXPECT_EQ(r.exit_status(), 3);
  EXPECT_FALSE(r.timed_out());
  EXPECT_EQ(r.output(), "out\nerr\n");
  EXPECT_FALSE(command_succeeded(r));
  EXPECT_EQ(command_summary(r).substr(0, 7), "exit 3 ");
  v1::CellCommand ok;
  ok.add_argv("true");
  EXPECT_TRUE(command_succeeded(run_cell_command(ok)));
}

TEST(CellCommand, AMissingProgramSaysSo) {
  v1::CellCommand c;
  c.add_argv("/nonexistent/ansible-playbook");
  const v1::CommandResult r = run_cell_command(c);
  EXPECT_EQ(r.exit_status(), -1);
  EXPECT_EQ(r.error(), "could not start /nonexistent/ansible-playbook: No such file or directory");
  EXPECT_FALSE(command_succeeded(r));
}

TEST(CellCommand, ATimeoutKillsTheProcessGroupAndKeepsTheTail) {
  v1::CellCommand c;
  // A child of the command that outlives it would hold the output open: the group goes.
  for (const char* a : {"sh", "-c", "head -c 10000 /dev/zero | tr '\\0' x; echo; sleep 30 & wait"})
    c.add_argv(a);
  c.set_timeout_ns(300'000'000);
  const uint64_t t0 = base::realtime_ns();
  const v1::CommandResult r = run_cell_command(c);
  EXPECT_TRUE(r.timed_out());
  EXPECT_LT(base::realtime_ns() - t0, 5'000'000'000U);
  EXPECT_EQ(r.output().size(), kCommandOutputTail);
  EXPECT_EQ(command_summary(r).substr(0, 15), "timed out after");
}

}  // namespace
}  // namespace migprobe::orchestrator
