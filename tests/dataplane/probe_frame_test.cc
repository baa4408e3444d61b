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

TEST(ProbeFrame, TcpSynProbesParseBackWithTheirSequenceAndChecksum) {
  for (const uint16_t vlan : {uint16_t{0}, uint16_t{100}}) {
    for (const uint32_t flow : {77U, (3U << 16) + 77U}) {
      FlowParams f;
      f.kind = ProbeKind::kTcpSyn;
      f.port = 22;
      f.dscp = 46;
      ProbeHeader h;
      build_probe_header(self(), {2, 0, 0, 0, 0, 2}, vlan, 0x0a4e000b, f, flow, &h, 49155);
      uint8_t frame[2048];
      for (uint32_t seq : {0U, 1U, 65535U, 0xffffffffU}) {
        const uint32_t isn = an::syn_isn(flow, 3, seq);
        write_syn_probe(h, frame, isn);
        an::ParsedPacket p;
        ASSERT_EQ(an::parse_frame(an::ParseOptions{}, frame, h.frame_len, h.frame_len, &p),
                  an::DropReason::kNone)
            << "seq " << seq << " vlan " << vlan;
        EXPECT_EQ(p.kind, an::PacketKind::kTcp);
        EXPECT_EQ(p.tcp_flags, an::kTcpSyn);
        EXPECT_EQ(p.tcp_seq, isn);
        EXPECT_EQ(p.src_port, 49155);
        EXPECT_EQ(p.dst_port, 22);
        EXPECT_EQ(p.tcp_mss, 1460);
        EXPECT_EQ(p.dscp, 46);
        EXPECT_EQ(p.payload_len, 0U);
        // The reply acknowledges isn + 1: the probe's sequence comes back from it.
        EXPECT_EQ(isn + 1 - 1 - an::syn_isn(flow, 3, 0), seq);
        // A capture's reader finds the flow, the run and the probe in the headers.
        EXPECT_TRUE(an::is_syn_probe_shape(p));
        if (seq < (1U << 24)) {
          for (const int generation : {3, -1}) {
            an::SynProbeId id;
            ASSERT_TRUE(an::decode_syn_probe(p.ip_id, p.tcp_seq, generation, 1U << 24, &id))
                << "flow " << flow << " seq " << seq << " generation " << generation;
            EXPECT_EQ(id.flow_id, flow);
            EXPECT_EQ(id.generation, 3);
            EXPECT_EQ(id.seq, seq);
          }
        }
      }
      EXPECT_GE(h.frame_len, 60);
    }
  }
  // Another run (generation) numbers its SYNs apart.
  EXPECT_NE(an::syn_isn(77, 3, 0), an::syn_isn(77, 4, 0));
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

namespace migprobe::dataplane {
namespace {

// Collects what an endpoint sends.
struct Collect : TcpSink {
  std::vector<TcpTx> sent;
  void send(const TcpTx& t) override { sent.push_back(t); }
  void event(const TcpEndpointEvent&) override {}
};

TEST(ProbeFrame, TcpSegmentsParseBackWithOptionsPayloadAndChecksums) {
  TcpEndpointConfig c;
  c.flow_id = 9;
  c.generation = 4;
  c.segment_bytes = 1000;
  TcpEndpoint ep(c);
  Collect out;
  ep.start(1'000'000, 5, out);
  TcpFrameAddress a;
  a.src_mac = {2, 0, 0, 0, 0, 1};
  a.dst_mac = {2, 0, 0, 0, 0, 2};
  a.vlan = 12;
  a.src_ip = 0x0a4e0001;
  a.dst_ip = 0x0a4e000b;
  a.src_port = 40009;
  a.dst_port = 7077;
  a.dscp = 46;
  uint8_t frame[kMaxTcpFrame];
  ASSERT_EQ(out.sent.size(), 1U);
  uint16_t len = build_tcp_frame(a, out.sent[0], ep, frame);
  an::ParsedPacket p;
  ASSERT_EQ(an::parse_frame(an::ParseOptions{}, frame, len, len, &p), an::DropReason::kNone);
  EXPECT_EQ(len, 18 + 20 + 40);  // a SYN with MSS, window scale and timestamps
  EXPECT_EQ(p.kind, an::PacketKind::kTcp);
  EXPECT_EQ(p.vlan, 12);
  EXPECT_EQ(p.dscp, 46);
  EXPECT_EQ(p.src_port, 40009);
  EXPECT_EQ(p.dst_port, 7077);
  EXPECT_EQ(p.tcp_flags, an::kTcpSyn);
  EXPECT_EQ(p.tcp_seq, out.sent[0].seq);
  EXPECT_EQ(p.tcp_mss, 1460);
  EXPECT_EQ(p.tcp_wscale, TcpEndpoint::kWindowScale);
  EXPECT_TRUE(p.tcp_has_ts);
  EXPECT_EQ(p.tcp_ts_val, out.sent[0].ts_val);

  // The SYN-ACK (built as a peer would) and the first data segment.
  an::ParsedPacket synack;
  synack.kind = an::PacketKind::kTcp;
  synack.tcp_flags = an::kTcpSyn | an::kTcpAck;
  synack.tcp_seq = 777;
  synack.tcp_ack = out.sent[0].seq + 1;
  synack.tcp_window = 65535;
  synack.tcp_mss = 1460;
  synack.tcp_wscale = 7;
  synack.tcp_has_ts = true;
  synack.tcp_ts_val = 99;
  ep.on_segment(synack, 1'100'000, out);
  ep.on_timer(1'100'000, out);
  ASSERT_EQ(out.sent.size(), 3U);  // the ACK, then a segment of data
  const TcpTx& data = out.sent[2];
  ASSERT_EQ(data.payload_len, 1000U);
  len = build_tcp_frame(a, data, ep, frame);
  ASSERT_EQ(an::parse_frame(an::ParseOptions{}, frame, len, len, &p), an::DropReason::kNone);
  EXPECT_EQ(p.tcp_flags, an::kTcpAck | an::kTcpPsh);
  EXPECT_EQ(p.tcp_ack, 778U);
  EXPECT_EQ(p.tcp_ts_ecr, 99U);
  EXPECT_EQ(p.tcp_mss, 0);
  ASSERT_EQ(p.payload_len, 1000U);
  std::vector<uint8_t> want(1000);
  ASSERT_TRUE(ep.write_payload(0, 1000, want.data()));
  EXPECT_TRUE(std::equal(want.begin(), want.end(), p.payload));
  an::ProbeTrailer t;
  ASSERT_EQ(an::decode_trailer(p.payload, p.payload_len, &t), an::TrailerError::kNone);
  EXPECT_EQ(t.flow_id, 9U);
  EXPECT_EQ(t.generation, 4);
  EXPECT_EQ(t.seq, 0U);
  EXPECT_EQ(t.tx_ns, 1'100'000U);
  // A corrupted byte fails the checksum.
  frame[len - 1] ^= 1;
  EXPECT_EQ(an::parse_frame(an::ParseOptions{}, frame, len, len, &p),
            an::DropReason::kBAD_L4_CHECKSUM);
}

}  // namespace
}  // namespace migprobe::dataplane
