// Probe frames and target syntax: what the TX core writes parses back, checksums included,
// through the same parser the RX core and the analyzer use.

#include "dataplane/probe_frame.h"

#include <gtest/gtest.h>

#include "dataplane/target_spec.h"

namespace migprobe::dataplane {
namespace {

namespace an = migprobe::analysis;

ProbeIdentity self() {
  ProbeIdentity s;
  s.mac = {2, 0, 0, 0, 0, 1};
  s.ip = 0x0a4e0001;
  return s;
}

void roundtrip(ProbeKind kind, uint16_t vlan, uint32_t payload, uint8_t dscp) {
  FlowParams f;
  f.kind = kind;
  f.payload_bytes = payload;
  f.dscp = dscp;
  ProbeHeader h;
  build_probe_header(self(), {2, 0, 0, 0, 0, 2}, vlan, 0x0a4e000b, f, 77, &h);
  uint8_t frame[2048];
  for (uint32_t seq : {0U, 1U, 65535U, 65536U, 0xffffffffU}) {
    write_probe(h, frame, 9, 77, seq, 1'795'000'000'123'456'789ULL + seq);
    an::ParsedPacket p;
    an::ParseOptions opt;
    ASSERT_EQ(an::parse_frame(opt, frame, h.frame_len, h.frame_len, &p), an::DropReason::kNone)
        << "seq " << seq;
    EXPECT_EQ(p.kind, kind == ProbeKind::kIcmpEcho ? an::PacketKind::kIcmpEchoRequest
                                                   : an::PacketKind::kUdp);
    EXPECT_EQ(p.has_vlan, vlan != 0);
    EXPECT_EQ(p.dscp, dscp);
    an::ProbeTrailer t;
    ASSERT_EQ(an::decode_trailer(p.payload, p.payload_len, &t), an::TrailerError::kNone);
    EXPECT_EQ(t.flow_id, 77U);
    EXPECT_EQ(t.generation, 9);
    EXPECT_EQ(t.seq, seq);
    EXPECT_EQ(t.tx_ns, 1'795'000'000'123'456'789ULL + seq);
    EXPECT_EQ(p.payload_len, payload < 18 ? 18U : payload);
  }
  EXPECT_GE(h.frame_len, 60);
}

TEST(ProbeFrame, IcmpParsesBackWithValidChecksums) {
  roundtrip(ProbeKind::kIcmpEcho, 0, 0, 0);
}
TEST(ProbeFrame, UdpParsesBackWithValidChecksums) {
  roundtrip(ProbeKind::kUdpReflect, 0, 0, 46);
}
TEST(ProbeFrame, VlanAndPadding) {
  roundtrip(ProbeKind::kUdpReflect, 42, 200, 10);
}
TEST(ProbeFrame, IcmpLarge) {
  roundtrip(ProbeKind::kIcmpEcho, 7, 1472, 63);
}

TEST(ProbeFrame, SmallestFrameIs60Bytes) {
  ProbeHeader h;
  build_probe_header(self(), {}, 0, 1, FlowParams{}, 0, &h);
  EXPECT_EQ(h.frame_len, 60);
}

TEST(ProbeFrame, ArpParses) {
  uint8_t frame[64];
  const uint16_t n = build_arp(frame, kArpRequest, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, self().mac,
                               self().ip, {}, 0x0a4e000b, 0);
  an::ParsedPacket p;
  ASSERT_EQ(an::parse_frame(an::ParseOptions{}, frame, n, n, &p), an::DropReason::kNone);
  EXPECT_EQ(p.kind, an::PacketKind::kArp);
  EXPECT_EQ(p.arp_op, kArpRequest);
  EXPECT_EQ(p.arp_sender_ip, self().ip);
  EXPECT_EQ(p.arp_target_ip, 0x0a4e000bU);
}

}  // namespace
}  // namespace migprobe::dataplane
