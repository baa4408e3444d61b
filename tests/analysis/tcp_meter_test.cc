// The TCP meter on scripted conversations: a handshake, clean transfer, an outage healed by
// timeout retransmissions (the stall and its episode), fast retransmit after three
// duplicate ACKs, a zero window that is not a loss, resets with the bytes they left
// unacknowledged, a reconnection, a stream seen mid-way, and segments that are none of
// these (a retransmitted SYN, a keepalive, an ACK beyond what was sent).

#include "analysis/tcp_meter.h"

#include <gtest/gtest.h>

namespace migprobe::analysis {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint32_t kIsnA = 1000;     // the opener's initial sequence
constexpr uint32_t kIsnB = 500'000;  // the peer's
constexpr uint32_t kSeg = 1000;

// A conversation between the opener (A) and the peer (B), segment by segment.
class Talk {
 public:
  TcpMeter meter;
  uint32_t a_next = kIsnA;  // A's next sequence to send
  uint32_t b_next = kIsnB;
  uint32_t a_rcv = 0;  // what A acknowledges of B's data
  uint32_t b_rcv = 0;
  uint16_t b_window = 65535;

  void seg(uint64_t t_ms, bool from_a, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len,
           uint16_t window = 65535) {
    TcpSegmentInfo s;
    s.ts_ns = t_ms * kMs;
    s.from_opener = from_a;
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.len = len;
    s.window = window;
    meter.on_segment(s);
  }
  void handshake(uint64_t t_ms) {
    seg(t_ms, true, kTcpSyn, kIsnA, 0, 0);
    seg(t_ms + 1, false, kTcpSyn | kTcpAck, kIsnB, kIsnA + 1, 0);
    seg(t_ms + 2, true, kTcpAck, kIsnA + 1, kIsnB + 1, 0);
    a_next = kIsnA + 1;
    b_next = kIsnB + 1;
    a_rcv = kIsnB + 1;
    b_rcv = kIsnA + 1;
  }
  // A sends one new segment at t; returns its sequence.
  uint32_t a_sends(uint64_t t_ms) {
    const uint32_t seq = a_next;
    seg(t_ms, true, kTcpAck | kTcpPsh, seq, a_rcv, kSeg);
    a_next += kSeg;
    return seq;
  }
  // B acknowledges up to ack at t (a pure ACK).
  void b_acks(uint64_t t_ms, uint32_t ack) {
    b_rcv = ack;
    seg(t_ms, false, kTcpAck, b_next, ack, 0, b_window);
  }
};

TEST(TcpMeter, CleanTransferIsMeasuredAndIntact) {
  Talk t;
  t.handshake(0);
  for (int i = 0; i < 10; ++i) {
    t.a_sends(10 + i);
    t.b_acks(10 + i + 2, t.a_next);  // each acknowledged 2 ms later
  }
  t.meter.finish(100 * kMs);
  const TcpDirectionStats& a = t.meter.opener();
  EXPECT_EQ(t.meter.connection().connections, 1U);
  EXPECT_EQ(t.meter.connection().established, 1U);
  EXPECT_EQ(t.meter.connection().first_established_ns, 2 * kMs);
  EXPECT_TRUE(t.meter.connection().open_at_end);
  EXPECT_EQ(a.bytes_sent, 10U * kSeg);
  EXPECT_EQ(a.bytes_acked, 10U * kSeg);
  EXPECT_EQ(a.retransmitted_segments, 0U);
  EXPECT_EQ(a.dup_acks, 0U);
  EXPECT_EQ(a.unacked_bytes, 0U);
  EXPECT_TRUE(t.meter.episodes(true).empty());
  // The SYN's round trip (1 ms), then ten of 2 ms.
  EXPECT_EQ(a.rtt_samples, 11U);
  EXPECT_EQ(a.rtt_min_ns, 1 * kMs);
  EXPECT_EQ(a.rtt_max_ns, 2 * kMs);
  EXPECT_EQ(a.longest_stall_ns, 2 * kMs);
  EXPECT_EQ(a.syns, 1U);
  EXPECT_EQ(t.meter.peer().syns, 1U);
}

TEST(TcpMeter, OutageHealedByTimeoutsIsOneEpisodeWithItsStall) {
  Talk t;
  t.handshake(0);
  t.a_sends(10);
  t.b_acks(11, t.a_next);  // progress at 11 ms
  // The path fails at 12 ms: two segments go out and nothing comes back.
  const uint32_t lost = t.a_sends(12);
  t.a_sends(13);
  // RTO 200 ms, then 400 ms, then 800 ms: the retransmissions of the first lost byte.
  t.seg(212, true, kTcpAck, lost, t.a_rcv, kSeg);
  t.seg(612, true, kTcpAck, lost, t.a_rcv, kSeg);
  t.seg(1412, true, kTcpAck, lost, t.a_rcv, kSeg);
  // The path is back: the third retransmission is acknowledged at 1413 ms, then the rest.
  t.b_acks(1413, lost + kSeg);
  t.seg(1414, true, kTcpAck, lost + kSeg, t.a_rcv, kSeg);  // go-back-N after the timeout
  t.b_acks(1415, t.a_next);
  t.meter.finish(2000 * kMs);

  const TcpDirectionStats& a = t.meter.opener();
  EXPECT_EQ(a.bytes_sent, 3U * kSeg);
  EXPECT_EQ(a.bytes_acked, 3U * kSeg);
  EXPECT_EQ(a.retransmitted_segments, 4U);
  EXPECT_EQ(a.timeout_retransmits, 4U);
  EXPECT_EQ(a.fast_retransmits, 0U);
  EXPECT_EQ(a.retransmitted_bytes, 4U * kSeg);
  // The stall: everything was acknowledged at 11 ms, so it starts with the send that made
  // data outstanding again (12 ms) and ends at the next progress (1413 ms).
  EXPECT_EQ(a.longest_stall_ns, 1401 * kMs);
  EXPECT_EQ(a.longest_stall_start_ns, 12 * kMs);
  ASSERT_EQ(t.meter.episodes(true).size(), 1U);
  const TcpEpisode& e = t.meter.episodes(true)[0];
  EXPECT_EQ(e.start_ns, 12 * kMs);
  EXPECT_EQ(e.first_retransmit_ns, 212 * kMs);
  EXPECT_EQ(e.end_ns, 1415 * kMs);  // every byte outstanding at 212 ms acknowledged
  EXPECT_EQ(e.stall_ns, 1401 * kMs);
  EXPECT_EQ(e.timeout_retransmits, 4U);
  EXPECT_FALSE(e.reset);
  EXPECT_FALSE(e.open);
  // Karn: the retransmitted bytes gave no round trip; the first segment's did.
  EXPECT_EQ(a.rtt_samples, 2U);
}

TEST(TcpMeter, FastRetransmitAfterThreeDuplicateAcks) {
  Talk t;
  t.handshake(0);
  const uint32_t first = t.a_sends(10);
  for (int i = 1; i < 6; ++i) t.a_sends(10 + i);
  // The first is lost: the five after it each bring a duplicate ACK.
  for (int i = 0; i < 5; ++i) t.b_acks(13 + i, first);
  t.seg(18, true, kTcpAck, first, t.a_rcv, kSeg);  // fast retransmit
  t.b_acks(19, t.a_next);
  t.meter.finish(100 * kMs);
  const TcpDirectionStats& a = t.meter.opener();
  EXPECT_EQ(a.dup_acks, 5U);
  EXPECT_EQ(a.fast_retransmits, 1U);
  EXPECT_EQ(a.timeout_retransmits, 0U);
  ASSERT_EQ(t.meter.episodes(true).size(), 1U);
  EXPECT_EQ(t.meter.episodes(true)[0].fast_retransmits, 1U);
  EXPECT_EQ(t.meter.episodes(true)[0].end_ns, 19 * kMs);
  EXPECT_EQ(a.bytes_acked, 6U * kSeg);
}

TEST(TcpMeter, FastRetransmitLostAgainBecomesATimeout) {
  Talk t;
  t.handshake(0);
  const uint32_t first = t.a_sends(10);
  for (int i = 1; i < 4; ++i) t.a_sends(10 + i);
  for (int i = 0; i < 3; ++i) t.b_acks(13 + i, first);
  t.seg(16, true, kTcpAck, first, t.a_rcv, kSeg);   // fast, lost too
  t.seg(216, true, kTcpAck, first, t.a_rcv, kSeg);  // the RTO expires
  t.b_acks(217, t.a_next);
  t.meter.finish(300 * kMs);
  EXPECT_EQ(t.meter.opener().fast_retransmits, 1U);
  EXPECT_EQ(t.meter.opener().timeout_retransmits, 1U);
  ASSERT_EQ(t.meter.episodes(true).size(), 1U);
}

TEST(TcpMeter, ZeroWindowIsNotALossNorAStall) {
  Talk t;
  t.handshake(0);
  t.a_sends(10);
  t.b_window = 0;
  t.b_acks(11, t.a_next);  // everything acknowledged, and the window closes
  // Window probes as Linux sends them: no data, the sequence one below the next.
  t.seg(211, true, kTcpAck, t.a_next - 1, t.a_rcv, 0);
  t.b_acks(212, t.a_next);
  t.seg(611, true, kTcpAck, t.a_next - 1, t.a_rcv, 0);
  t.b_acks(612, t.a_next);
  t.b_window = 65535;
  t.b_acks(700, t.a_next);  // the reader is back
  t.a_sends(701);
  t.b_acks(702, t.a_next);
  t.meter.finish(800 * kMs);
  const TcpDirectionStats& a = t.meter.opener();
  EXPECT_EQ(a.zero_windows, 1U);
  EXPECT_EQ(a.zero_window_ns, 689 * kMs);
  EXPECT_EQ(a.retransmitted_segments, 0U);
  EXPECT_EQ(a.dup_acks, 0U);
  EXPECT_LE(a.longest_stall_ns, 2 * kMs);
  EXPECT_TRUE(t.meter.episodes(true).empty());
  EXPECT_EQ(a.bytes_acked, 2U * kSeg);
}

TEST(TcpMeter, ResetCountsWhatWasNeverAcknowledgedThenReconnects) {
  Talk t;
  t.handshake(0);
  t.a_sends(10);
  t.b_acks(11, t.a_next);
  t.a_sends(12);
  t.a_sends(13);
  // The peer resets: two segments never acknowledged.
  t.seg(20, false, kTcpRst | kTcpAck, t.b_next, t.b_rcv, 0);
  // Late segments of the dead connection are not measured.
  t.seg(21, true, kTcpAck, t.a_next, t.a_rcv, kSeg);
  ASSERT_EQ(t.meter.resets().size(), 1U);
  const TcpReset& r = t.meter.resets()[0];
  EXPECT_EQ(r.ts_ns, 20 * kMs);
  EXPECT_FALSE(r.from_opener);
  EXPECT_TRUE(r.established);
  EXPECT_EQ(r.unacked_opener, 2U * kSeg);
  EXPECT_EQ(r.unacked_peer, 0U);
  EXPECT_FALSE(t.meter.established());

  // A new handshake with a new sequence: a reconnection, measured on top.
  TcpSegmentInfo syn;
  syn.ts_ns = 500 * kMs;
  syn.flags = kTcpSyn;
  syn.seq = 9'000'000;
  t.meter.on_segment(syn);
  TcpSegmentInfo synack;
  synack.ts_ns = 501 * kMs;
  synack.from_opener = false;
  synack.flags = kTcpSyn | kTcpAck;
  synack.seq = 7'000'000;
  synack.ack = 9'000'001;
  synack.window = 100;
  t.meter.on_segment(synack);
  TcpSegmentInfo ack = syn;
  ack.ts_ns = 502 * kMs;
  ack.flags = kTcpAck;
  ack.seq = 9'000'001;
  ack.ack = 7'000'001;
  t.meter.on_segment(ack);
  ack.ts_ns = 503 * kMs;
  ack.len = 100;
  t.meter.on_segment(ack);
  t.meter.finish(600 * kMs);
  EXPECT_EQ(t.meter.connection().connections, 2U);
  EXPECT_EQ(t.meter.connection().established, 2U);
  EXPECT_EQ(t.meter.connection().last_established_ns, 502 * kMs);
  EXPECT_TRUE(t.meter.connection().open_at_end);
  EXPECT_EQ(t.meter.opener().bytes_sent, 3U * kSeg + 100);
  EXPECT_EQ(t.meter.opener().unacked_bytes, 100U);
  EXPECT_EQ(t.meter.peer().resets, 1U);
}

TEST(TcpMeter, FinIsNotCountedAsAByte) {
  Talk t;
  t.handshake(0);
  t.a_sends(10);
  // The FIN goes while the data is still unacknowledged; one ACK covers both.
  t.seg(11, true, kTcpFin | kTcpAck, t.a_next, t.a_rcv, 0);
  t.b_acks(12, t.a_next + 1);
  t.meter.finish(20 * kMs);
  EXPECT_EQ(t.meter.opener().bytes_sent, kSeg);
  EXPECT_EQ(t.meter.opener().bytes_acked, kSeg);
  EXPECT_EQ(t.meter.opener().unacked_bytes, 0U);
  EXPECT_EQ(t.meter.opener().fins, 1U);
  EXPECT_FALSE(t.meter.connection().open_at_end);
}

TEST(TcpMeter, RefusedConnectionIsNeverEstablished) {
  TcpMeter m;
  TcpSegmentInfo syn;
  syn.ts_ns = kMs;
  syn.flags = kTcpSyn;
  syn.seq = 42;
  m.on_segment(syn);
  syn.ts_ns = 1001 * kMs;  // sent again after the SYN's timeout
  m.on_segment(syn);
  TcpSegmentInfo rst;
  rst.ts_ns = 1002 * kMs;
  rst.from_opener = false;
  rst.flags = kTcpRst | kTcpAck;
  rst.ack = 43;
  m.on_segment(rst);
  m.finish(2000 * kMs);
  EXPECT_EQ(m.connection().connections, 1U);
  EXPECT_EQ(m.connection().established, 0U);
  EXPECT_EQ(m.opener().syns, 2U);
  EXPECT_EQ(m.opener().retransmitted_segments, 0U);  // a SYN carries no data
  EXPECT_EQ(m.opener().rtt_samples, 0U);             // Karn: the SYN was sent twice
  ASSERT_EQ(m.resets().size(), 1U);
  EXPECT_FALSE(m.resets()[0].established);
  EXPECT_FALSE(m.connection().open_at_end);
}

TEST(TcpMeter, StreamSeenMidwayAndStrayAcks) {
  TcpMeter m;
  TcpSegmentInfo d;
  d.ts_ns = 10 * kMs;
  d.flags = kTcpAck;
  d.seq = 77'000;
  d.ack = 1;
  d.len = 500;
  m.on_segment(d);
  TcpSegmentInfo a;
  a.ts_ns = 11 * kMs;
  a.from_opener = false;
  a.flags = kTcpAck;
  a.seq = 1;
  a.ack = 90'000;  // beyond anything seen sent: ignored
  a.window = 1000;
  m.on_segment(a);
  a.ts_ns = 12 * kMs;
  a.ack = 77'500;
  m.on_segment(a);
  // A keepalive: one old byte below the acknowledged point, not a retransmission.
  d.ts_ns = 5000 * kMs;
  d.seq = 77'499;
  d.len = 1;
  m.on_segment(d);
  m.finish(6000 * kMs);
  EXPECT_TRUE(m.connection().mid_stream);
  EXPECT_EQ(m.connection().connections, 0U);
  EXPECT_EQ(m.opener().bytes_sent, 500U);
  EXPECT_EQ(m.opener().bytes_acked, 500U);
  EXPECT_EQ(m.opener().retransmitted_segments, 0U);
  EXPECT_EQ(m.opener().longest_stall_ns, 2 * kMs);
}

TEST(TcpMeter, SequenceWrapIsSeamless) {
  Talk t;
  TcpSegmentInfo s;
  s.ts_ns = 0;
  s.flags = kTcpSyn;
  s.seq = 0xffffff00;
  t.meter.on_segment(s);
  s.from_opener = false;
  s.flags = kTcpSyn | kTcpAck;
  s.seq = 5;
  s.ack = 0xffffff01;
  s.ts_ns = kMs;
  s.window = 1000;
  t.meter.on_segment(s);
  uint32_t next = 0xffffff01;
  for (int i = 0; i < 4; ++i) {
    TcpSegmentInfo d;
    d.ts_ns = (10 + i) * kMs;
    d.flags = kTcpAck;
    d.seq = next;
    d.ack = 6;
    d.len = 200;
    t.meter.on_segment(d);
    next += 200;
    TcpSegmentInfo a;
    a.ts_ns = (10 + i) * kMs + 500'000;
    a.from_opener = false;
    a.flags = kTcpAck;
    a.seq = 6;
    a.ack = next;
    a.window = 1000;
    t.meter.on_segment(a);
  }
  t.meter.finish(100 * kMs);
  EXPECT_EQ(t.meter.opener().bytes_sent, 800U);
  EXPECT_EQ(t.meter.opener().bytes_acked, 800U);
  EXPECT_EQ(t.meter.opener().retransmitted_segments, 0U);
}

}  // namespace
}  // namespace migprobe::analysis
