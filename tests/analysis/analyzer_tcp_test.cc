// The offline analyzer's TCP streams: both directions of one address and port pair are one
// stream, opened by the side of the SYN; migprobe-dp's own flows are told by their trailer.

#include <gtest/gtest.h>

#include "analysis/analyzer.h"
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

}  // namespace
}  // namespace migprobe::analysis
