// migprobe-dp's --target syntax: addresses, names, MAC, VLAN, and flows in the one flow
// grammar (base/flow_spec.h), with errors that name the target and the item.

#include "dataplane/target_spec.h"

#include <gtest/gtest.h>

namespace migprobe::dataplane {
namespace {

std::string error_of(const std::string& text) {
  auto t = parse_target(text);
  return t ? "" : t.error().message;
}

TEST(TargetSpec, Parses) {
  auto t = parse_target(
      "name=vm1,10.78.0.11,mac=02:00:00:00:00:0b,vlan=5,icmp=1000,"
      "udp=250us/dscp=46/port=9000/size=64");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->name, "vm1");
  EXPECT_EQ(t->ip, 0x0a4e000bU);
  EXPECT_TRUE(t->mac);
  EXPECT_EQ(t->vlan, 5);
  ASSERT_EQ(t->flows.size(), 2U);
  EXPECT_EQ(t->flows[0].interval_ns, 1'000'000U);
  EXPECT_EQ(t->flows[1].interval_ns, 250'000U);
  EXPECT_EQ(t->flows[1].dscp, 46);
  EXPECT_EQ(t->flows[1].port, 9000);
  EXPECT_EQ(t->flows[1].payload_bytes, 64U);
  // No name: the address is the name.
  EXPECT_EQ(parse_target("ip=10.78.0.12,icmp=1ms")->name, "10.78.0.12");
  auto tcp = parse_target("10.78.0.13,icmp=1ms,tcp=1M/port=7");
  ASSERT_TRUE(tcp) << tcp.error().message;
  ASSERT_EQ(tcp->flows.size(), 2U);
  EXPECT_EQ(tcp->flows[1].kind, ProbeKind::kTcpStream);
  EXPECT_EQ(tcp->flows[1].port, 7);
}

TEST(TargetSpec, RefusesClearly) {
  EXPECT_NE(error_of("10.78.0.300,icmp=1k").find("10.78.0.300"), std::string::npos);
  EXPECT_NE(error_of("10.78.0.1,icmp=2M").find("1 Mpps"), std::string::npos);
  EXPECT_NE(error_of("10.78.0.1,icmp=0.5").find("1 pps"), std::string::npos);
  EXPECT_NE(error_of("10.78.0.1").find("no flow"), std::string::npos);
  EXPECT_NE(error_of("10.78.0.1,sctp=1k").find("unknown key 'sctp'"), std::string::npos);
  EXPECT_NE(error_of("10.78.0.1,tcp=1ms").find("bytes per second"), std::string::npos);
  EXPECT_NE(error_of("10.78.0.1,udp=1k/size=10").find("18-byte"), std::string::npos);
  EXPECT_NE(error_of("icmp=1k").find("no IPv4"), std::string::npos);
  EXPECT_NE(error_of("10.78.0.1,,icmp=1k").find("empty item"), std::string::npos);
  EXPECT_NE(error_of("10.78.0.1,vlan=4095,icmp=1k").find("vlan"), std::string::npos);
  // Every error names the target as typed.
  EXPECT_EQ(error_of("10.78.0.1,icmp=fast").rfind("target '10.78.0.1,icmp=fast'", 0), 0U);
}

TEST(TargetSpec, PerFlowReplyTimeout) {
  auto t = parse_target("10.78.0.1,icmp=1k/timeout=200ms,udp=1ms");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->flows[0].reply_timeout_ns, 200'000'000U);
  EXPECT_EQ(t->flows[1].reply_timeout_ns, 0U);  // the run's default
  EXPECT_NE(error_of("10.78.0.1,icmp=1k/timeout=200").find("duration"), std::string::npos);
  EXPECT_NE(error_of("10.78.0.1,icmp=1k/timeout=61s").find("60s"), std::string::npos);
}

}  // namespace
}  // namespace migprobe::dataplane
