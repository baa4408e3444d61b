// The offline analyzer's TCP streams: both directions of one address and port pair are one
// stream, opened by the side of the SYN; migprobe-dp's own flows are told by their trailer,
// and its tcp-syn probes by their headers (a flow with gaps, not a stream).

#include <gtest/gtest.h>

#include "analysis/analyzer.h"
#include "analysis/syn_probe.h"
#include "tests/analysis/test_frames.h"

namespace migprobe::analysis {
namespace {

using test_frames::tcp_segment;

void feed(Analyzer& a, uint64_t ts, const pcapgen::Frame& f) {
  a.on_frame(ts, f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()));
}

TEST(AnalyzerTcp, OneStreamPerPairAndProbeFlowsByTheirTrailer) {
  Analyzer a{AnalyzerOptions{}};
  // A plain stream: data without a trailer.
  feed(a, 1'000, tcp_segment({'h', 'i'}, kTcpAck | kTcpPsh));
  // migprobe's: the chunk starts with the probe trailer (flow 77).
  ProbeTrailer t = test_frames::probe_trailer(0);
  t.flow_id = 77;
  // Another pair of ports: another stream.
  const pcapgen::Frame probe =
      tcp_segment(pcapgen::trailer_payload(t), kTcpAck | kTcpPsh, {}, 40001);
  feed(a, 2'000, probe);
  a.finish();
  ASSERT_EQ(a.tcp_streams().size(), 2U);
  EXPECT_FALSE(a.tcp_streams()[0]->probe);
  EXPECT_TRUE(a.tcp_streams()[1]->probe);
  EXPECT_EQ(a.tcp_streams()[1]->flow_id, 77U);
  EXPECT_EQ(a.tcp_streams()[0]->meter.opener().bytes_sent, 2U);
  EXPECT_EQ(a.totals().tcp_segments, 2U);
}

constexpr uint64_t kMs = 1'000'000;
const std::vector<uint8_t> kMssOnly = {2, 4, 0x05, 0xb4};

// Probe seq of tcp-syn flow 9 (generation 4), as migprobe-dp sends it from port 49153.
pcapgen::Frame syn_probe(uint32_t seq) {
  test_frames::TcpFields t;
  t.probe_port = 49153;
  t.target_port = 22;
  t.seq = syn_isn(9, 4, seq);
  t.ack = 0;
  t.ip_id = syn_ip_id(9);
  t.options = kMssOnly;
  return test_frames::tcp_segment_with({}, kTcpSyn, t);
}

// The target's answer to probe seq: a SYN-ACK, or a reset when the port is closed.
pcapgen::Frame syn_answer(uint32_t seq, uint8_t flags) {
  test_frames::TcpFields t;
  t.from_target = true;
  t.probe_port = 49153;
  t.target_port = 22;
  t.seq = 5555;
  t.ack = syn_isn(9, 4, seq) + 1;
  return test_frames::tcp_segment_with({}, flags, t);
}

TEST(AnalyzerTcp, SynProbesAreAFlowWithItsGapsNotAStream) {
  Analyzer a{AnalyzerOptions{}};
  for (uint32_t seq = 0; seq < 10; ++seq) {
    const uint64_t tx = (seq + 1) * kMs;
    // Probe 2's answer was written before its SYN (the capture merges two rings).
    if (seq == 2) feed(a, tx + 100'000, syn_answer(seq, kTcpSyn | kTcpAck));
    feed(a, tx, syn_probe(seq));
    if (seq >= 4 && seq <= 6) continue;  // an outage: three probes unanswered
    if (seq != 2)
      feed(a, tx + 100'000, syn_answer(seq, seq % 2 ? kTcpRst | kTcpAck : kTcpSyn | kTcpAck));
    // The probe resets the half-open connection a SYN-ACK leaves.
    test_frames::TcpFields r;
    r.probe_port = 49153;
    r.target_port = 22;
    r.seq = syn_isn(9, 4, seq) + 1;
    feed(a, tx + 110'000, test_frames::tcp_segment_with({}, kTcpRst, r));
  }
  // An answer to no probe of the latest: not matched, as live.
  feed(a, 20 * kMs, syn_answer(5000, kTcpRst | kTcpAck));
  a.finish();
  EXPECT_TRUE(a.tcp_streams().empty());
  ASSERT_EQ(a.flows().size(), 1U);
  const AnalyzedFlow& f = *a.flows()[0];
  EXPECT_EQ(f.probe_kind, ProbeKind::kTcpSyn);
  EXPECT_EQ(f.flow_id, 9U);
  EXPECT_EQ(a.generation(), 4);
  const FlowCounters c = f.tracker.counters();
  EXPECT_EQ(c.sent, 10U);
  EXPECT_EQ(c.answered, 7U);
  EXPECT_EQ(c.rtt_min_ns, 100'000U);
  EXPECT_EQ(c.rtt_max_ns, 100'000U);
  ASSERT_EQ(f.gaps.size(), 1U);
  EXPECT_EQ(f.gaps[0].seq_before, 3U);
  EXPECT_EQ(f.gaps[0].seq_after, 7U);
  EXPECT_EQ(f.gaps[0].lost, 3U);
  EXPECT_EQ(a.drops()[static_cast<size_t>(DropReason::kTCP_OUT_OF_WINDOW)], 1U);
}

TEST(AnalyzerTcp, AStacksSynIsAStreamNotAProbe) {
  Analyzer a{AnalyzerOptions{}};
  // Linux's SYN offers SACK, timestamps and window scaling besides the MSS.
  const std::vector<uint8_t> linux_options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
                                              0, 1, 0,    0,    0, 0, 1, 3,  3, 7};
  test_frames::TcpFields t;
  t.probe_port = 49153;
  t.seq = syn_isn(9, 4, 0);  // even with a probe's numbers
  t.ip_id = syn_ip_id(9);
  t.options = linux_options;
  feed(a, kMs, test_frames::tcp_segment_with({}, kTcpSyn, t));
  // A SYN of the probe's shape whose sequence fits no probe of its identification.
  t.probe_port = 49154;
  t.seq = 0x12345678;
  t.options = kMssOnly;
  SynProbeId id;
  ASSERT_FALSE(decode_syn_probe(t.ip_id, t.seq, -1, 1U << 24, &id));
  feed(a, 2 * kMs, test_frames::tcp_segment_with({}, kTcpSyn, t));
  a.finish();
  EXPECT_TRUE(a.flows().empty());
  EXPECT_EQ(a.tcp_streams().size(), 2U);
}

}  // namespace
}  // namespace migprobe::analysis
