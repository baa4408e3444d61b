#include "analysis/classify.h"

namespace migprobe::analysis {

namespace {

void classify_echo_or_udp(FrameVerdict* v) {
  const ParsedPacket& p = v->pkt;
  const bool icmp = p.kind != PacketKind::kUdp;
  switch (decode_trailer(p.payload, p.payload_len, &v->trailer)) {
    case TrailerError::kNone:
      break;
    case TrailerError::kNoMagic:
      if (icmp) {
        v->cls = FrameClass::kForeignEcho;
        v->request = p.kind == PacketKind::kIcmpEchoRequest;
      } else {
        v->drop = DropReason::kNOT_PROBE;
      }
      return;
    case TrailerError::kTooShort:
      v->drop = DropReason::kTRUNCATED_TRAILER;
      return;
    case TrailerError::kBadVersion:
      v->drop = DropReason::kBAD_TRAILER_VERSION;
      return;
  }
  v->cls = FrameClass::kProbe;
  v->kind = icmp ? ProbeKind::kIcmpEcho : ProbeKind::kUdpReflect;
  // ICMP says the direction in its type; UDP in the magic: only the reflector writes "mr".
  v->request = icmp ? p.kind == PacketKind::kIcmpEchoRequest : !v->trailer.reflected;
}

}  // namespace

void classify_frame(const ParseOptions& opt, const uint8_t* frame, uint32_t caplen,
                    uint32_t wirelen, FrameVerdict* out) {
  FrameVerdict& v = *out;
  v.cls = FrameClass::kDrop;
  v.request = false;
  v.garp = false;
  v.drop = parse_frame(opt, frame, caplen, wirelen, &v.pkt);
  if (v.drop != DropReason::kNone) return;
  switch (v.pkt.kind) {
    case PacketKind::kIcmpEchoRequest:
    case PacketKind::kIcmpEchoReply:
    case PacketKind::kUdp:
      classify_echo_or_udp(&v);
      return;
    case PacketKind::kRarp:
      v.cls = FrameClass::kRarp;
      return;
    case PacketKind::kArp:
      v.cls = FrameClass::kArp;
      v.garp = v.pkt.arp_sender_ip == v.pkt.arp_target_ip && v.pkt.arp_sender_ip != 0;
      return;
    case PacketKind::kTcp:
      v.cls = FrameClass::kTcp;
      return;
    case PacketKind::kOther:
      v.drop = DropReason::kOTHER_PROTOCOL;
      return;
  }
}

DropReason check_probe(const FrameVerdict& v, const ProbeFlowMatch& flow, uint64_t rx_ns) {
  if (v.trailer.generation != flow.generation) return DropReason::kSTALE_GENERATION;
  if (v.kind != flow.kind) return DropReason::kWRONG_KIND;
  if (v.request) {
    if (ipv4_host_order(v.pkt.dst_ip) != flow.peer_ip) return DropReason::kWRONG_PEER;
    return DropReason::kNone;
  }
  if (ipv4_host_order(v.pkt.src_ip) != flow.peer_ip) return DropReason::kWRONG_PEER;
  if (v.trailer.tx_ns > rx_ns) return DropReason::kTIMESTAMP_AHEAD;
  return DropReason::kNone;
}

}  // namespace migprobe::analysis
