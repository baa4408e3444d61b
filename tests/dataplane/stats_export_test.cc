// The Stats message from the parts' counters: every table in full, a flow per flow in use or
// seen, named by the registry, with the cores' figures.

#include "dataplane/stats_export.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace migprobe::dataplane {
namespace {

// The error message of a status, "" on success.
std::string why(const base::Status& s) {
  return s ? "" : s.error().message;
}

std::map<std::string, uint64_t> table(const google::protobuf::RepeatedPtrField<v1::Counter>& t) {
  std::map<std::string, uint64_t> out;
  for (const auto& c : t) {
    EXPECT_FALSE(c.description().empty()) << c.name();
    out[c.name()] = c.value();
  }
  return out;
}

TEST(StatsExport, EveryTableAndEveryFlowInUseOrSeen) {
  FlowRegistry registry(8);
  TargetParams vm;
  vm.name = "vm1";
  vm.ip = 0x0a4e000b;
  FlowParams udp;
  udp.kind = ProbeKind::kUdpReflect;
  udp.interval_ns = 250'000;
  vm.flows = {FlowParams{}, udp};
  ASSERT_EQ(why(registry.add({vm}, nullptr)), "");
  TxSnapshot tx;
  RxSnapshot rx;
  tx.flows.resize(8);
  rx.flows.resize(8);
  tx.totals.probes_sent = 1234;
  rx.totals.replies = 1200;
  rx.totals.drops[static_cast<size_t>(analysis::DropReason::kNOT_PROBE)] = 3;
  tx.flows[1].sent = 600;
  tx.flows[1].skipped = 2;
  rx.flows[1].counters.answered = 590;
  rx.flows[1].counters.lost = 10;
  rx.flows[1].counters.rtt_samples = 2;
  rx.flows[1].counters.rtt_sum_ns = 100'000;
  // Flow 5 is no longer configured but its replies were seen: it still shows.
  rx.flows[5].active = true;
  PublisherCounters events;
  events.overflowed = 7;
  v1::Stats s;
  export_counters(tx, rx, registry, nullptr, events, &s);

  EXPECT_EQ(table(s.tx())["probes_sent"], 1234U);
  EXPECT_EQ(table(s.rx())["replies"], 1200U);
  const auto drops = table(s.drops());
  EXPECT_EQ(drops.size(), analysis::kDropReasonCount - 1);  // every reason, zero or not
  EXPECT_EQ(drops.at("NOT_PROBE"), 3U);
  EXPECT_EQ(table(s.events())["overflowed"], 7U);
  EXPECT_EQ(s.capture_size(), 0);  // no capture, no capture table

  ASSERT_EQ(s.flows_size(), 3);
  EXPECT_EQ(s.flows(0).flow_id(), 0U);
  EXPECT_EQ(s.flows(0).kind(), v1::FLOW_KIND_ICMP_ECHO);
  const v1::FlowStats& f = s.flows(1);
  EXPECT_EQ(f.target(), "vm1");
  EXPECT_EQ(f.kind(), v1::FLOW_KIND_UDP_REFLECT);
  EXPECT_EQ(f.interval_ns(), 250'000U);
  EXPECT_EQ(f.sent(), 600U);
  EXPECT_EQ(f.skipped_slots(), 2U);
  EXPECT_EQ(f.answered(), 590U);
  EXPECT_EQ(f.lost(), 10U);
  EXPECT_EQ(f.rtt_mean_ns(), 50'000U);
  EXPECT_EQ(s.flows(2).flow_id(), 5U);
  EXPECT_EQ(s.flows(2).target(), "");
}

TEST(StatsExport, TotalsOnlyWithoutPerFlowSnapshots) {
  FlowRegistry registry(8);
  TargetParams vm;
  vm.name = "vm1";
  vm.ip = 1;
  vm.flows = {FlowParams{}};
  ASSERT_EQ(why(registry.add({vm}, nullptr)), "");
  TxSnapshot tx;
  RxSnapshot rx;  // flow vectors left empty: a watchdog's poll
  v1::Stats s;
  export_counters(tx, rx, registry, nullptr, PublisherCounters{}, &s);
  EXPECT_EQ(s.flows_size(), 0);
  EXPECT_GT(s.tx_size(), 0);
}

TEST(StatsExport, FileIsTheMessageAsJsonAndSummaryCountsTheRun) {
  FlowRegistry registry(8);
  TxSnapshot tx;
  RxSnapshot rx;
  tx.totals.probes_sent = 1234;
  rx.totals.replies = 1200;
  v1::Stats s;
  export_counters(tx, rx, registry, nullptr, PublisherCounters{}, &s);
  s.set_pid(42);
  EXPECT_EQ(stats_summary(s), "probes sent 1234, replies 1200");

  char dir[] = "/tmp/mpt-stats.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/stats.json";
  ASSERT_EQ(why(write_stats_json(s, path)), "");
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  v1::Stats back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text.str(), &back).ok());
  EXPECT_EQ(back.pid(), 42U);
  EXPECT_EQ(table(back.tx())["probes_sent"], 1234U);
  EXPECT_NE(text.str().find("\"running\": false"), std::string::npos);  // zero fields too

  // A path that cannot be written: an error naming it, nothing left behind.
  const std::string bad = std::string(dir) + "/no/such/dir/stats.json";
  EXPECT_NE(why(write_stats_json(s, bad)).find(bad), std::string::npos);
  std::remove(path.c_str());
  EXPECT_EQ(rmdir(dir), 0);
}

}  // namespace
}  // namespace migprobe::dataplane
