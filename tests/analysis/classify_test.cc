// The one classifier of live and offline detection: what a frame is, and whether a probe
// belongs to its flow. Every reason it gives is exercised here.

#include "analysis/classify.h"

#include <gtest/gtest.h>

#include "test_frames.h"

namespace migprobe::analysis {
namespace {

using namespace test_frames;

FrameVerdict classify(const Frame& f) {
  FrameVerdict v;
  classify_frame(ParseOptions{}, f.data(), static_cast<uint32_t>(f.size()),
                 static_cast<uint32_t>(f.size()), &v);
  return v;
}

// The flow the test frames belong to: target 10.77.0.11, generation 1.
ProbeFlowMatch flow(ProbeKind kind) {
  ProbeFlowMatch m;
  m.peer_ip = ipv4_host_order(pcapgen::target_endpoint_v4(11).ip);
  m.kind = kind;
  m.generation = 1;
  return m;
}

constexpr uint64_t kLater = 1767225600041100000ULL + 50'000;

TEST(Classify, IcmpProbeAndItsReply) {
  const FrameVerdict req = classify(icmp_probe(false));
  ASSERT_EQ(req.cls, FrameClass::kProbe);
  EXPECT_TRUE(req.request);
  EXPECT_EQ(req.kind, ProbeKind::kIcmpEcho);
  EXPECT_EQ(req.trailer.seq, 401U);
  const FrameVerdict rep = classify(icmp_probe(true));
  ASSERT_EQ(rep.cls, FrameClass::kProbe);
  EXPECT_FALSE(rep.request);
  EXPECT_EQ(check_probe(rep, flow(ProbeKind::kIcmpEcho), kLater), DropReason::kNone);
  // Replayed, the request belongs to the same flow: it goes to the target.
  EXPECT_EQ(check_probe(req, flow(ProbeKind::kIcmpEcho), kLater), DropReason::kNone);
}

TEST(Classify, UdpReflectedReplyCarriesTheReflectorCount) {
  const FrameVerdict v = classify(udp_reply(77));
  ASSERT_EQ(v.cls, FrameClass::kProbe);
  EXPECT_FALSE(v.request);
  EXPECT_EQ(v.kind, ProbeKind::kUdpReflect);
  EXPECT_TRUE(v.trailer.has_reflector_count);
  EXPECT_EQ(v.trailer.reflector_count, 77U);
}

TEST(Classify, ForeignTrafficIsNamed) {
  // A plain ping: tracked offline as a foreign flow, dropped live as NOT_PROBE.
  const Frame ping =
      pcapgen::icmp_echo(pcapgen::target_endpoint_v4(3), pcapgen::target_endpoint_v4(11),
                         FrameOptions{}, false, 0x2a17, 9, std::vector<uint8_t>(56, 0x10));
  const FrameVerdict p = classify(ping);
  EXPECT_EQ(p.cls, FrameClass::kForeignEcho);
  EXPECT_TRUE(p.request);
  // UDP without a trailer: dropped by both under the same reason; TCP: a stream to measure.
  const Frame dns =
      pcapgen::udp_datagram(pcapgen::target_endpoint_v4(3), pcapgen::target_endpoint_v4(11),
                            FrameOptions{}, 5353, 53, std::vector<uint8_t>(30, 0x41));
  const FrameVerdict u = classify(dns);
  EXPECT_EQ(u.cls, FrameClass::kDrop);
  EXPECT_EQ(u.drop, DropReason::kNOT_PROBE);
  const FrameVerdict t = classify(tcp_segment({1, 2, 3}, 0x18));
  EXPECT_EQ(t.cls, FrameClass::kTcp);
  EXPECT_EQ(t.drop, DropReason::kNone);
  EXPECT_EQ(t.pkt.payload_len, 3u);
  const FrameVerdict bad = classify(tcp_segment({}, 0x02, {2, 3, 5, 0}));
  EXPECT_EQ(bad.cls, FrameClass::kDrop);
  EXPECT_EQ(bad.drop, DropReason::kBAD_TCP_OPTIONS);
}

TEST(Classify, BrokenTrailersAndMalformedFrames) {
  ProbeTrailer bad = probe_trailer(5);
  std::vector<uint8_t> payload = pcapgen::trailer_payload(bad);
  payload[2] = static_cast<uint8_t>((payload[2] & 0x0f) | 0x70);  // version 7
  const Frame v7 = pcapgen::icmp_echo(pcapgen::target_endpoint_v4(11), pcapgen::probe_endpoint_v4(),
                                      FrameOptions{}, true, 1, 5, payload);
  EXPECT_EQ(classify(v7).drop, DropReason::kBAD_TRAILER_VERSION);
  const Frame cut =
      pcapgen::icmp_echo(pcapgen::target_endpoint_v4(11), pcapgen::probe_endpoint_v4(),
                         FrameOptions{}, true, 1, 5, std::vector<uint8_t>{0x6d, 0x70, 0x10, 0x00});
  EXPECT_EQ(classify(cut).drop, DropReason::kTRUNCATED_TRAILER);
  // A parser reason passes through unchanged.
  Frame f = icmp_probe(true);
  f[pcapgen::kEthHeaderLen + 10] ^= 0xff;  // IPv4 header checksum
  EXPECT_EQ(classify(f).drop, DropReason::kBAD_IP_CHECKSUM);
}

TEST(Classify, AnnouncesAndArp) {
  const MacAddress mac{0x52, 0x54, 0x00, 0x77, 0x00, 0x11};
  EXPECT_EQ(classify(pcapgen::rarp_announce(mac)).cls, FrameClass::kRarp);
  const FrameVerdict g = classify(pcapgen::gratuitous_arp(mac, 0x0a4d000b));
  EXPECT_EQ(g.cls, FrameClass::kArp);
  EXPECT_TRUE(g.garp);
}

TEST(CheckProbe, EachWayAProbeCanNotBelongToItsFlow) {
  const FrameVerdict rep = classify(icmp_probe(true));
  ProbeFlowMatch m = flow(ProbeKind::kIcmpEcho);
  m.generation = 2;
  EXPECT_EQ(check_probe(rep, m, kLater), DropReason::kSTALE_GENERATION);
  EXPECT_EQ(check_probe(rep, flow(ProbeKind::kUdpReflect), kLater), DropReason::kWRONG_KIND);
  m = flow(ProbeKind::kIcmpEcho);
  m.peer_ip += 1;
  EXPECT_EQ(check_probe(rep, m, kLater), DropReason::kWRONG_PEER);
  const FrameVerdict req = classify(icmp_probe(false));
  EXPECT_EQ(check_probe(req, m, kLater), DropReason::kWRONG_PEER);
  // A reply stamped after it arrived.
  EXPECT_EQ(check_probe(rep, flow(ProbeKind::kIcmpEcho), kLater - 100'000),
            DropReason::kTIMESTAMP_AHEAD);
}

}  // namespace
}  // namespace migprobe::analysis
