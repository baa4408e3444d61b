#include "analysis/syn_probe.h"

#include "analysis/sequence.h"
#include "analysis/tcp_meter.h"

namespace migprobe::analysis {

namespace {

// Flow ids are below 2^20 (migprobe-dp --max-flows): 16 candidates per identification.
constexpr uint32_t kFlowIdBlocks = 16;
// With the generation unknown, a flow id of another block in another generation can have an
// ISN base 2^16 from the right one: a first SYN further into its flow than this could be
// read as another flow's. (With the generation known, the bases are 1.8 x 2^24 apart at
// least.)
constexpr uint32_t kUnknownGenerationMaxSeq = 1U << 16;

}  // namespace

bool is_syn_probe_shape(const ParsedPacket& p) {
  return p.kind == PacketKind::kTcp && p.tcp_flags == kTcpSyn && p.tcp_len == 0 &&
         p.tcp_window == 65535 && p.tcp_mss != 0 && p.tcp_wscale < 0 && !p.tcp_sack_ok &&
         !p.tcp_has_ts;
}

bool decode_syn_probe(uint16_t ip_id, uint32_t isn, int generation, uint32_t max_seq,
                      SynProbeId* out) {
  if (generation < 0 && max_seq > kUnknownGenerationMaxSeq) max_seq = kUnknownGenerationMaxSeq;
  bool found = false;
  const int g_first = generation < 0 ? 0 : generation;
  const int g_last = generation < 0 ? 255 : generation;
  for (int g = g_first; g <= g_last; ++g) {
    for (uint32_t block = 0; block < kFlowIdBlocks; ++block) {
      const uint32_t flow = ip_id + (block << 16);
      const uint32_t seq = isn - syn_isn(flow, static_cast<uint8_t>(g), 0);
      if (seq >= max_seq || (found && seq >= out->seq)) continue;
      found = true;
      out->flow_id = flow;
      out->generation = static_cast<uint8_t>(g);
      out->seq = seq;
    }
  }
  return found;
}

bool SynMatcher::sent(uint32_t seq, uint64_t tx_ns, uint64_t* early_rx_ns) {
  if (!any_sent_ || seq_after(seq, newest_)) newest_ = seq;
  any_sent_ = true;
  sent_[seq % kSynLogDepth] = Entry{seq, tx_ns};
  Entry& e = early_[seq % kSynLogDepth];
  if (e.ns == 0 || e.seq != seq) return false;
  const uint64_t rx = e.ns;
  e = Entry{};
  if (rx < tx_ns) return false;  // answered before it was sent: not its reply
  *early_rx_ns = rx;
  return true;
}

SynMatcher::Reply SynMatcher::reply(uint32_t seq, uint64_t rx_ns, uint64_t* tx_ns) {
  const Entry& s = sent_[seq % kSynLogDepth];
  if (s.ns != 0 && s.seq == seq) {
    if (s.ns > rx_ns) return Reply::kStale;
    *tx_ns = s.ns;
    return Reply::kMatched;
  }
  // Ahead of the newest probe seen, by less than the log holds: its probe is still to come.
  if (any_sent_ && seq_after(seq, newest_) && seq - newest_ <= kSynLogDepth) {
    early_[seq % kSynLogDepth] = Entry{seq, rx_ns};
    return Reply::kEarly;
  }
  return Reply::kStale;
}

SynSegment classify_syn_segment(const ParsedPacket& p, bool from_probe, uint32_t base,
                                uint32_t* seq) {
  if (from_probe) {
    if (is_syn_probe_shape(p)) {
      *seq = p.tcp_seq - base;
      return SynSegment::kProbe;
    }
    return (p.tcp_flags & kTcpRst) != 0 ? SynSegment::kProbeReset : SynSegment::kOther;
  }
  // The live rule (migprobe-dp's RX core): an ACK with exactly one of SYN and RST.
  const bool syn = (p.tcp_flags & kTcpSyn) != 0;
  const bool rst = (p.tcp_flags & kTcpRst) != 0;
  if ((p.tcp_flags & kTcpAck) == 0 || syn == rst) return SynSegment::kOther;
  *seq = p.tcp_ack - 1 - base;
  return SynSegment::kReply;
}

}  // namespace migprobe::analysis
