// The one flow grammar: the same text in migprobe-dp --target and migprobe-control --flows.

#include "base/flow_spec.h"

#include <gtest/gtest.h>

namespace migprobe::base {
namespace {

std::string error_of(const std::string& text) {
  auto f = parse_flows(text);
  return f ? "" : f.error().message;
}

TEST(FlowSpec, ParsesEveryOption) {
  auto f = parse_flow("udp=2.5k/port=7078/dscp=46/size=64/timeout=200ms");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->kind, ProbeKind::kUdpReflect);
  EXPECT_EQ(f->interval_ns, 400'000U);
  EXPECT_EQ(f->port, 7078);
  EXPECT_EQ(f->dscp, 46);
  EXPECT_EQ(f->payload_bytes, 64U);
  EXPECT_EQ(f->reply_timeout_ns, 200'000'000U);
  auto icmp = parse_flow("icmp=1ms");
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->kind, ProbeKind::kIcmpEcho);
  EXPECT_EQ(icmp->reply_timeout_ns, 0U);
  EXPECT_EQ(parse_flow("udp=1ms")->port, kDefaultReflectorPort);
}

TEST(FlowSpec, ListsOfFlows) {
  auto flows = parse_flows("icmp=1ms,udp=250us/port=9000");
  ASSERT_TRUE(flows);
  ASSERT_EQ(flows->size(), 2U);
  EXPECT_EQ((*flows)[1].port, 9000);
  EXPECT_NE(error_of("").find("no flow"), std::string::npos);
}

TEST(FlowSpec, ErrorsNameTheFlowAndWhat) {
  EXPECT_NE(error_of("icmp:1ms").find("KIND=RATE"), std::string::npos);  // the old form
  EXPECT_NE(error_of("sctp=1ms").find("unknown kind 'sctp'"), std::string::npos);
  EXPECT_NE(error_of("icmp=fast").find("rate 'fast'"), std::string::npos);
  EXPECT_NE(error_of("icmp=1ms/port=7").find("icmp flow has no port"), std::string::npos);
  EXPECT_NE(error_of("udp=1ms/port=70000").find("port"), std::string::npos);
  EXPECT_NE(error_of("udp=1ms/dscp=64").find("dscp"), std::string::npos);
  EXPECT_NE(error_of("icmp=2M").find("1 Mpps"), std::string::npos);
  EXPECT_NE(error_of("icmp=1ms/timeout=200").find("not a duration"), std::string::npos);
  EXPECT_NE(error_of("icmp=1ms/timeout=61s").find("60s"), std::string::npos);
  EXPECT_NE(error_of("icmp=1ms/colour=red").find("unknown option 'colour'"), std::string::npos);
  EXPECT_NE(error_of("icmp=1ms,udp=1x").find("flow 'udp=1x'"), std::string::npos);
  EXPECT_EQ(parse_flows("icmp=1ms,bad").error().kind, ErrorKind::kInvalid);
}

TEST(FlowSpec, TcpFlows) {
  auto f = parse_flow("tcp=1M");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->kind, ProbeKind::kTcpStream);
  EXPECT_EQ(f->rate_bytes_per_s, 1'000'000U);
  EXPECT_EQ(f->port, kDefaultReflectorPort);
  EXPECT_TRUE(f->echo);
  EXPECT_EQ(tcp_segment_bytes(*f), kDefaultTcpSegmentBytes);
  auto g = parse_flow("tcp=2.5kB/size=1460/port=9/discard/dscp=10");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->rate_bytes_per_s, 2'500U);
  EXPECT_EQ(tcp_segment_bytes(*g), 1460U);
  EXPECT_EQ(g->port, 9);
  EXPECT_FALSE(g->echo);
  EXPECT_EQ(g->dscp, 10);
  EXPECT_NE(error_of("tcp=1ms").find("bytes per second"), std::string::npos);
  EXPECT_NE(error_of("tcp=2G").find("1G bytes per second"), std::string::npos);
  EXPECT_NE(error_of("tcp=500").find("1k"), std::string::npos);
  EXPECT_NE(error_of("tcp=1M/size=1461").find("18..1460"), std::string::npos);
  EXPECT_NE(error_of("tcp=1M/size=10").find("18..1460"), std::string::npos);
  EXPECT_NE(error_of("tcp=1M/timeout=1s").find("no reply timeout"), std::string::npos);
  EXPECT_NE(error_of("tcp=1M/port=0").find("1..65535"), std::string::npos);
  EXPECT_NE(error_of("udp=1ms/discard").find("not key=value"), std::string::npos);
}

TEST(FlowSpec, TcpSynFlows) {
  auto f = parse_flow("tcp-syn=10ms/port=22/timeout=500ms");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->kind, ProbeKind::kTcpSyn);
  EXPECT_EQ(f->interval_ns, 10'000'000U);
  EXPECT_EQ(f->port, 22);
  EXPECT_EQ(f->reply_timeout_ns, 500'000'000U);
  EXPECT_EQ(parse_flow("tcp-syn=1ms")->port, kDefaultReflectorPort);
  EXPECT_NE(error_of("tcp-syn=100us").find("1,000 SYNs"), std::string::npos);
  EXPECT_NE(error_of("tcp-syn=10ms/size=64").find("no payload"), std::string::npos);
}

TEST(FlowSpec, TextReadsBack) {
  for (const char* text : {"tcp-syn=10ms/port=22", "tcp-syn=1ms/timeout=200ms", "tcp=1M",
                           "tcp=250k/size=1460/port=9/discard", "tcp=1500/dscp=46"}) {
    auto f = parse_flow(text);
    ASSERT_TRUE(f) << text;
    EXPECT_EQ(flow_text(*f), text);
  }
  for (const char* text : {"icmp=1ms", "udp=250us/port=9000", "icmp=1ms/size=64/dscp=46",
                           "udp=1ms/timeout=200ms", "icmp=400us"}) {
    auto f = parse_flow(text);
    ASSERT_TRUE(f) << text;
    EXPECT_EQ(flow_text(*f), text);
  }
}

}  // namespace
}  // namespace migprobe::base
