// The evacuation run's parts that need no cloud: options, the journal's background flush,
// flow totals over dataplane restarts, the hypervisor's figures.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "analysis/journal.h"
#include "control/run_journal.h"
#include "orchestrator/evacuation_options.h"
#include "orchestrator/hypervisor_figures.h"
#include "orchestrator/probe_link.h"

namespace migprobe::orchestrator {
namespace {

std::string temp_path(const char* name) {
  return testing::TempDir() + "/" + name + "-" + std::to_string(getpid());
}

TEST(Flows, ParsesKindsIntervalsAndPorts) {
  base::Result<std::vector<v1::FlowSpec>> parsed =
      parse_flows("icmp=1ms,udp=500us,udp=2ms/port=9000/timeout=50ms", 100'000'000);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const std::vector<v1::FlowSpec>& flows = *parsed;
  ASSERT_EQ(flows.size(), 3u);
  EXPECT_EQ(flows[0].kind(), v1::FLOW_KIND_ICMP_ECHO);
  EXPECT_EQ(flows[0].interval_ns(), 1'000'000u);
  EXPECT_EQ(flows[0].port(), 0u);
  EXPECT_EQ(flows[0].reply_timeout_ns(), 100'000'000u);
  EXPECT_EQ(flows[1].kind(), v1::FLOW_KIND_UDP_REFLECT);
  EXPECT_EQ(flows[1].port(), 7077u);
  EXPECT_EQ(flows[1].interval_ns(), 500'000u);
  EXPECT_EQ(flows[2].port(), 9000u);
  EXPECT_EQ(flows[2].reply_timeout_ns(), 50'000'000u);  // its own timeout wins
}

// The error of parse_flows(text): kInvalid, and its message.
std::string flows_error(const std::string& text) {
  base::Result<std::vector<v1::FlowSpec>> parsed = parse_flows(text, 0);
  if (parsed.ok()) return "(parsed)";
  EXPECT_EQ(parsed.error().kind, base::ErrorKind::kInvalid) << text;
  return parsed.error().message;
}

TEST(Flows, NamesWhatIsWrong) {
  EXPECT_NE(flows_error("sctp=1ms").find("unknown kind 'sctp'"), std::string::npos);
  EXPECT_NE(flows_error("tcp=1ms").find("bytes per second"), std::string::npos);
  EXPECT_NE(flows_error("icmp=fast").find("rate 'fast'"), std::string::npos);
  EXPECT_NE(flows_error("icmp=2s").find("1 pps"), std::string::npos);
  EXPECT_NE(flows_error("udp=1ms/port=70000").find("port '70000'"), std::string::npos);
  EXPECT_NE(flows_error("icmp=1ms/port=7").find("no port"), std::string::npos);
  // The old kind:interval form is refused with the form to use.
  EXPECT_NE(flows_error("icmp:1ms").find("KIND=RATE"), std::string::npos);
}

// The error of validate(o): kInvalid, and its message; "" when the options are valid.
std::string validate_error(const EvacuationOptions& o) {
  base::Status valid = validate(o);
  if (valid.ok()) return "";
  EXPECT_EQ(valid.error().kind, base::ErrorKind::kInvalid);
  return valid.error().message;
}

TEST(Options, ValidateRefusesInconsistentRuns) {
  EvacuationOptions o;
  o.source_host = "a";
  o.dest_host = "b";
  o.out_dir = "/tmp/x";
  EXPECT_EQ(validate_error(o), "");
  o.dest_host = "a";
  EXPECT_NE(validate_error(o).find("same host"), std::string::npos);
  o.dest_host = "b";
  o.converge_timeout = std::chrono::seconds(700);
  EXPECT_NE(validate_error(o).find("--migration-timeout"), std::string::npos);
  o.converge_timeout = std::chrono::seconds(10);
  o.parallel = 0;
  EXPECT_NE(validate_error(o).find("--parallel"), std::string::npos);
  o.parallel = 2;
  o.dataplane_socket = "/run/dp.sock";
  EXPECT_NE(validate_error(o).find("--flows"), std::string::npos);
}

TEST(Options, SummarySaysWhatTheRunDoes) {
  EvacuationOptions o;
  o.source_host = "compute1";
  o.dest_host = "compute2";
  o.iterations = 20;
  o.parallel = 3;
  o.policy = ConvergePolicy::kForceComplete;
  const std::string s = summary(o);
  EXPECT_NE(s.find("compute1 -> compute2"), std::string::npos) << s;
  EXPECT_NE(s.find("20 iterations"), std::string::npos) << s;
  EXPECT_NE(s.find("3 at a time"), std::string::npos) << s;
  EXPECT_NE(s.find("force-complete"), std::string::npos) << s;
}

TEST(RunJournal, RecordsReachTheFileWithoutAnExplicitFlush) {
  const std::string path = temp_path("journal-flush");
  std::remove(path.c_str());
  control::RunJournal journal;
  v1::JournalHeader header;
  header.set_campaign("flush");
  ASSERT_TRUE(journal.open(path, header, std::chrono::milliseconds(50)).ok());
  // Several threads append at once, as migration workers and the event reader do.
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&journal, t] {
      for (int i = 0; i < 100; ++i) {
        v1::JournalRecord r;
        r.mutable_error()->set_source("t" + std::to_string(t));
        r.mutable_error()->set_message(std::to_string(i));
        journal.append(r);
      }
    });
  }
  for (auto& w : writers) w.join();
  // No flush, no close: what a crash right now would leave on disk.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  analysis::JournalContents contents;
  base::Status read = analysis::read_journal(path, &contents);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(contents.header.campaign(), "flush");
  EXPECT_EQ(contents.records.size(), 400u);
  EXPECT_EQ(contents.warning, "");
  journal.close();
  EXPECT_EQ(journal.error(), "");
  std::remove(path.c_str());
}

TEST(RunJournal, OpenFailureNamesThePath) {
  control::RunJournal journal;
  auto r = journal.open("/nonexistent-dir/j.mpj", v1::JournalHeader{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, base::ErrorKind::kIo);
  EXPECT_NE(r.error().message.find("/nonexistent-dir/j.mpj"), std::string::npos);
}

v1::FlowStats flow(const char* target, v1::FlowKind kind, uint64_t sent, uint64_t answered,
                   uint64_t rtt_min, uint64_t rtt_mean, uint64_t rtt_max) {
  v1::FlowStats f;
  f.set_target(target);
  f.set_kind(kind);
  f.set_flow_id(kind == v1::FLOW_KIND_ICMP_ECHO ? 1 : 2);
  f.set_interval_ns(1'000'000);
  f.set_sent(sent);
  f.set_answered(answered);
  f.set_lost(sent - answered);
  f.set_rtt_min_ns(rtt_min);
  f.set_rtt_mean_ns(rtt_mean);
  f.set_rtt_max_ns(rtt_max);
  return f;
}

TEST(FlowTotals, SumsTheProcessesOfARun) {
  // The same flow before and after a dataplane restart, and another flow.
  const auto merged = merge_flow_totals({
      flow("vm1", v1::FLOW_KIND_ICMP_ECHO, 1000, 990, 300, 500, 900),
      flow("vm1", v1::FLOW_KIND_UDP_REFLECT, 1000, 1000, 400, 600, 800),
      flow("vm1", v1::FLOW_KIND_ICMP_ECHO, 3000, 2970, 200, 700, 2000),
  });
  ASSERT_EQ(merged.size(), 2u);
  const v1::FlowReport& icmp = merged[0].kind() == v1::FLOW_KIND_ICMP_ECHO ? merged[0] : merged[1];
  EXPECT_EQ(icmp.target(), "vm1");
  EXPECT_EQ(icmp.sent(), 4000u);
  EXPECT_EQ(icmp.answered(), 3960u);
  EXPECT_EQ(icmp.lost(), 40u);
  EXPECT_EQ(icmp.rtt_min_ns(), 200u);
  EXPECT_EQ(icmp.rtt_max_ns(), 2000u);
  // Weighted by answers: (990*500 + 2970*700) / 3960 = 650.
  EXPECT_EQ(icmp.rtt_mean_ns(), 650u);
}

TEST(HypervisorFigures, ReadsTheLinesOfOneMigration) {
  const std::string path = temp_path("truth");
  {
    std::ofstream out(path);
    out << "{\"migration_id\": \"other\", \"downtime_ms\": 1}\n"
        << "not json at all\n"
        << "{\"migration_id\": \"m-1\", \"downtime_ms\": 23.5, \"stop_ns\": 1000, "
           "\"resume_ns\": 31000}\n";
  }
  HypervisorFigures figures(path);
  v1::MigrationEvent e;
  ASSERT_TRUE(figures.fill("m-1", &e, std::chrono::milliseconds(0)));
  EXPECT_DOUBLE_EQ(e.hypervisor_downtime_ms(), 23.5);
  EXPECT_EQ(e.hypervisor_stop_ns(), 1000u);
  EXPECT_EQ(e.hypervisor_resume_ns(), 31000u);
  v1::MigrationEvent none;
  EXPECT_FALSE(figures.fill("m-2", &none, std::chrono::milliseconds(0)));
  EXPECT_FALSE(figures.fill("", &none, std::chrono::milliseconds(0)));
  EXPECT_EQ(none.hypervisor_downtime_ms(), 0.0);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace migprobe::orchestrator
