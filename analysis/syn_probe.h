#pragma once
// tcp-syn probes as a capture shows them. A SYN carries no trailer (data on a SYN is what
// firewalls drop), so the probe says in its headers which flow and which probe it is: the
// IPv4 identification holds the flow id's low 16 bits, the initial sequence number is
// syn_isn(flow, generation, seq), and the reply (SYN-ACK or RST) acknowledges ISN + 1. The
// dataplane writes and matches them live (dataplane/probe_frame.h); migprobe-analyze and
// migprobe-dp --replay read them back from its capture with the rules written here, once.

#include <array>
#include <cstdint>

#include "analysis/packet.h"

namespace migprobe::analysis {

// The initial sequence number of a tcp-syn flow's probe seq.
inline uint32_t syn_isn(uint32_t flow_id, uint8_t generation, uint32_t seq) {
  return ((flow_id * 2654435761U) ^ (uint32_t{generation} << 24) ^ 0x5eed0000U) + seq;
}

// The IPv4 identification of a tcp-syn flow's probes.
inline uint16_t syn_ip_id(uint32_t flow_id) {
  return static_cast<uint16_t>(flow_id & 0xffff);
}

// A reply to a probe older than this many probes of its flow is not matched, live or
// offline: its probe counts as lost.
inline constexpr uint32_t kSynLogDepth = 256;

// Whether a segment has the shape of a tcp-syn probe as the dataplane writes it: a bare SYN
// with no data, a window of 65535 and an MSS option only (a stack's SYN offers more).
bool is_syn_probe_shape(const ParsedPacket& p);

// A decoded probe SYN.
struct SynProbeId {
  uint32_t flow_id = 0;
  uint8_t generation = 0;
  uint32_t seq = 0;
};

// Decodes the first probe SYN seen of a flow from its IPv4 identification and ISN: the
// flow id is ip_id plus a multiple of 65536 (flow ids below 2^20) and the sequence the ISN
// less syn_isn(flow, generation, 0). Of the candidates, the one with the lowest sequence,
// which must be below max_seq; generation -1 tries every generation (then below 2^16 at
// most: further in the candidates are ambiguous). With the generation known, flow ids'
// ISN bases are more than 2^24 apart: max_seq 2^24 decodes one flow. False when none fits
// (a stack's SYN that only looks like a probe).
bool decode_syn_probe(uint16_t ip_id, uint32_t isn, int generation, uint32_t max_seq,
                      SynProbeId* out);

// Pairs a tcp-syn flow's replies with its probes in a capture: the send times of its latest
// kSynLogDepth probes (as the dataplane's SynSendLog keeps them live), and the replies
// that came before their probe in the file. A capture is merged from the probe's TX and RX
// sides, and a reply can be written before the SYN it answers: live, the probe was logged
// before it left, so the reply was matched, and offline it is too.
class SynMatcher {
 public:
  enum class Reply {
    kMatched,  // *tx_ns: the probe's send time
    kEarly,    // before its probe in the capture: kept, given back by sent()
    kStale,    // to no probe of the latest kSynLogDepth (live: not matched either)
  };

  // Probe seq sent at tx_ns. True, with its reply's time, when the reply came first.
  bool sent(uint32_t seq, uint64_t tx_ns, uint64_t* early_rx_ns);
  // A reply to probe seq received at rx_ns.
  Reply reply(uint32_t seq, uint64_t rx_ns, uint64_t* tx_ns);

 private:
  struct Entry {
    uint32_t seq = 0;
    uint64_t ns = 0;  // 0: empty
  };
  bool any_sent_ = false;
  uint32_t newest_ = 0;
  std::array<Entry, kSynLogDepth> sent_{};
  std::array<Entry, kSynLogDepth> early_{};
};

// What a segment of a tcp-syn flow's address pair is, once the flow is known.
enum class SynSegment {
  kProbe,       // a probe SYN of the flow: seq set
  kReply,       // a SYN-ACK or RST answering probe seq: seq set
  kProbeReset,  // the probe resetting the half-open connection a SYN-ACK left
  kOther,       // anything else: not an answer to a SYN (counted as out of window)
};

// Classifies a segment of the flow whose probe 0 had ISN base; from_probe: sent by the
// probe's side. Sets *seq for probes and replies.
SynSegment classify_syn_segment(const ParsedPacket& p, bool from_probe, uint32_t base,
                                uint32_t* seq);

}  // namespace migprobe::analysis
