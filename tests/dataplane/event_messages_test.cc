// The RX core's events as clients see them: named by the registry, on CLOCK_REALTIME, a gap
// split at its target's announce and not at another MAC's.

#include "dataplane/event_messages.h"

#include <gtest/gtest.h>

namespace migprobe::dataplane {
namespace {

constexpr uint32_t kVmIp = 0x0a4e000b;  // 10.78.0.11
constexpr int64_t kOffset = 1'000'000'000'000;
const analysis::MacAddress kVmMac{0x52, 0x54, 0, 0, 0, 0x0b};
const analysis::MacAddress kOtherMac{0x52, 0x54, 0, 0, 0, 0x0c};

struct Fixture {
  Fixture() {
    TargetParams vm;
    vm.name = "vm1";
    vm.ip = kVmIp;
    FlowParams udp;
    udp.kind = ProbeKind::kUdpReflect;
    vm.flows = {FlowParams{}, udp};
    EXPECT_TRUE(registry.add({vm}, &added));
    neighbours.want(kVmIp, 0);
    EXPECT_EQ(neighbours.on_arp(kVmIp, kVmMac, 1), NeighbourChange::kResolved);
  }
  FlowRegistry registry{8};
  std::vector<uint32_t> added;
  NeighbourTable neighbours;
};

analysis::Gap gap_of(uint32_t flow_id) {
  analysis::Gap g;
  g.flow_id = flow_id;
  g.seq_before = 10;
  g.seq_after = 20;
  g.lost = 9;
  g.interval_ns = 1'000'000;
  g.tx_before_ns = 10'000'000;
  g.tx_after_ns = 20'000'000;
  g.rx_after_ns = 20'200'000;
  g.estimate_ns = 9'000'000;
  g.lower_ns = 8'000'000;
  g.upper_ns = 10'000'000;
  g.outage = true;
  return g;
}

TEST(EventMessages, GapNamedAndSplitAtItsTargetsAnnounce) {
  Fixture f;
  const uint32_t udp_id = f.registry.target(0).flow_ids[1];
  // Another VM's RARP comes first inside the window; the target's own comes later.
  f.neighbours.on_announce(analysis::Announce{12'000'000, true, kOtherMac, 0, 0});
  f.neighbours.on_announce(analysis::Announce{15'000'000, true, kVmMac, 0, 0});
  const v1::Event ev = gap_message(gap_of(udp_id), f.registry, f.neighbours, kOffset);
  ASSERT_TRUE(ev.has_gap());
  const v1::GapEvent& g = ev.gap();
  EXPECT_EQ(g.target(), "vm1");
  EXPECT_EQ(g.flow_kind(), v1::FLOW_KIND_UDP_REFLECT);
  EXPECT_EQ(g.flow_id(), udp_id);
  EXPECT_EQ(g.lost(), 9U);
  EXPECT_EQ(g.announce_ns(), 15'000'000 + kOffset);
  EXPECT_EQ(g.before_announce_ns() + g.after_announce_ns(), g.estimate_ns());
  EXPECT_GT(g.after_announce_ns(), 0U);
}

TEST(EventMessages, GapWithoutAnnounceOrFlow) {
  Fixture f;
  const v1::Event ev =
      gap_message(gap_of(f.registry.target(0).flow_ids[0]), f.registry, f.neighbours, 0);
  EXPECT_EQ(ev.gap().target(), "vm1");
  EXPECT_EQ(ev.gap().announce_ns(), 0U);
  // A flow removed before its gap was posted: still reported, unnamed.
  const v1::Event gone = gap_message(gap_of(7), f.registry, f.neighbours, 0);
  EXPECT_TRUE(gone.gap().target().empty());
  EXPECT_EQ(gone.gap().flow_kind(), v1::FLOW_KIND_UNSPECIFIED);
  EXPECT_EQ(gone.gap().lost(), 9U);
}

TEST(EventMessages, OutageInProgressOnRealtime) {
  Fixture f;
  const uint32_t id = f.registry.target(0).flow_ids[0];
  const v1::Event ev = outage_message(id, 5'000, 4'000, f.registry, kOffset);
  ASSERT_TRUE(ev.has_outage_in_progress());
  EXPECT_EQ(ev.outage_in_progress().target(), "vm1");
  EXPECT_EQ(ev.outage_in_progress().flow_kind(), v1::FLOW_KIND_ICMP_ECHO);
  EXPECT_EQ(ev.outage_in_progress().detected_ns(), 5'000 + kOffset);
  EXPECT_EQ(ev.outage_in_progress().since_tx_ns(), 4'000 + kOffset);
}

TEST(EventMessages, AnnouncesAndNeighbours) {
  RxEvent rarp;
  rarp.kind = RxEvent::kRarp;
  rarp.ts_ns = 7;
  rarp.sender_mac = kVmMac;
  rarp.vlan = 42;
  const v1::Event r = announce_message(rarp, 100);
  EXPECT_EQ(r.announce().kind(), v1::ANNOUNCE_KIND_RARP);
  EXPECT_EQ(r.announce().seen_ns(), 107U);
  EXPECT_EQ(r.announce().mac(), "52:54:00:00:00:0b");
  EXPECT_EQ(r.announce().vlan(), 42U);
  EXPECT_TRUE(r.announce().ip().empty());

  RxEvent garp = rarp;
  garp.kind = RxEvent::kArp;
  garp.garp = true;
  garp.sender_ip = kVmIp;
  const v1::Event g = announce_message(garp, 0);
  EXPECT_EQ(g.announce().kind(), v1::ANNOUNCE_KIND_GARP);
  EXPECT_EQ(g.announce().ip(), "10.78.0.11");

  const v1::Event moved = neighbour_message(garp, true, kOtherMac, 0);
  EXPECT_TRUE(moved.neighbour().moved());
  EXPECT_EQ(moved.neighbour().ip(), "10.78.0.11");
  EXPECT_EQ(moved.neighbour().previous_mac(), "52:54:00:00:00:0c");
  const v1::Event resolved = neighbour_message(garp, false, kOtherMac, 0);
  EXPECT_FALSE(resolved.neighbour().moved());
  EXPECT_TRUE(resolved.neighbour().previous_mac().empty());
}

}  // namespace
}  // namespace migprobe::dataplane
