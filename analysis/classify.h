#pragma once
// The one classification of a received frame that migprobe-dp's RX core and migprobe-analyze
// both call, so live and offline agree by construction (DESIGN.md "The probe packet"):
// parse the frame, validate a probe's trailer, and say what the frame is to the detector;
// then check a probe against the flow it names. What either side does not use is dropped
// under the same reason (drop_reason.h). No allocation, no protobuf.

#include <cstdint>

#include "analysis/drop_reason.h"
#include "analysis/packet.h"
#include "analysis/probe_trailer.h"
#include "base/flow_spec.h"
#include "base/ipv4.h"

namespace migprobe::analysis {

// The probe kinds migprobe sends (the proto FlowKind values).
using base::ProbeKind;

// What a frame is to the detector.
enum class FrameClass : uint8_t {
  kDrop,         // not trusted, or of no use: FrameVerdict::drop says why
  kProbe,        // a migprobe probe or its reply, with a valid trailer
  kForeignEcho,  // ICMP echo without a trailer (ping, fping): migprobe-analyze tracks it
  kRarp,         // RARP: a hypervisor's announce after a switchover
  kArp,          // ARP; an announce too when gratuitous (garp)
  kTcp,          // a TCP segment (checksum and options valid): a stream to measure
};

// The verdict on one frame. The parsed view points into the frame.
struct FrameVerdict {
  FrameClass cls = FrameClass::kDrop;
  DropReason drop = DropReason::kNone;
  ParsedPacket pkt;
  // kProbe: the trailer and the kind; kProbe and kForeignEcho: sent towards the target
  // (an echo request, or a UDP probe not yet reflected) rather than a reply.
  ProbeTrailer trailer;
  ProbeKind kind = ProbeKind::kIcmpEcho;
  bool request = false;
  // kArp: a gratuitous ARP (sender IP == target IP), which announces its sender.
  bool garp = false;
};

// Classifies a frame of caplen captured bytes (wirelen on the wire).
void classify_frame(const ParseOptions& opt, const uint8_t* frame, uint32_t caplen,
                    uint32_t wirelen, FrameVerdict* out);

// What a probe flow expects of its frames.
struct ProbeFlowMatch {
  uint32_t peer_ip = 0;  // the target, IPv4 host order
  ProbeKind kind = ProbeKind::kIcmpEcho;
  uint8_t generation = 0;
};

// Checks a kProbe verdict against its flow: the run generation, the kind, the peer (a
// reply's source, a request's destination) and, for a reply, a send time not after its
// arrival at rx_ns. kNone: the frame belongs to the flow.
DropReason check_probe(const FrameVerdict& v, const ProbeFlowMatch& flow, uint64_t rx_ns);

// An IPv4 address in host order (0 for any other family).
inline uint32_t ipv4_host_order(const IpAddress& a) {
  return a.family == 4 ? base::ipv4_from_bytes(a.bytes.data()) : 0;
}

}  // namespace migprobe::analysis
