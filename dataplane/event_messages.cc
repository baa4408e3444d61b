#include "dataplane/event_messages.h"

#include "analysis/announce.h"
#include "analysis/flow_proto.h"
#include "analysis/gap_event.h"
#include "analysis/tcp_report.h"

namespace migprobe::dataplane {

namespace an = migprobe::analysis;

namespace {

uint64_t exported(uint64_t ns, int64_t offset) {
  return ns + static_cast<uint64_t>(offset);
}

std::string ip_text(uint32_t ip) {
  return an::IpAddress::v4(ip).to_string();
}

}  // namespace

v1::Event gap_message(const an::Gap& gap, const FlowRegistry& registry,
                      const NeighbourTable& neighbours, int64_t time_offset_ns) {
  v1::Event ev;
  const FlowRegistry::Flow* flow = registry.flow(gap.flow_id);
  v1::GapEvent* p = ev.mutable_gap();
  *p = an::to_gap_event(
      gap, flow != nullptr ? an::to_proto_kind(flow->params.kind) : v1::FLOW_KIND_UNSPECIFIED,
      time_offset_ns);
  if (flow == nullptr) return ev;
  const FlowRegistry::Target& target = registry.target(flow->target);
  p->set_target(target.params.name);
  const uint32_t ip = target.params.ip;
  const Neighbour* n = neighbours.find(ip);
  const an::AnnounceWindow w = an::announce_window(gap);
  const an::Announce* a = neighbours.first_announce(n != nullptr && n->resolved ? &n->mac : nullptr,
                                                    ip, w.from_ns, w.to_ns);
  if (a != nullptr) an::set_gap_announce(gap, *a, p, time_offset_ns);
  return ev;
}

v1::Event outage_message(uint32_t flow_id, uint64_t detected_ns, uint64_t since_tx_ns,
                         const FlowRegistry& registry, int64_t time_offset_ns) {
  v1::Event ev;
  v1::OutageInProgressEvent* p = ev.mutable_outage_in_progress();
  p->set_flow_id(flow_id);
  if (const FlowRegistry::Flow* flow = registry.flow(flow_id)) {
    p->set_target(registry.target(flow->target).params.name);
    p->set_flow_kind(an::to_proto_kind(flow->params.kind));
  }
  p->set_detected_ns(exported(detected_ns, time_offset_ns));
  p->set_since_tx_ns(exported(since_tx_ns, time_offset_ns));
  return ev;
}

v1::Event announce_message(const RxEvent& e, int64_t time_offset_ns) {
  v1::Event ev;
  v1::AnnounceEvent* p = ev.mutable_announce();
  p->set_seen_ns(exported(e.ts_ns, time_offset_ns));
  p->set_mac(an::mac_to_string(e.sender_mac));
  p->set_vlan(e.vlan);
  if (e.kind == RxEvent::kRarp) {
    p->set_kind(v1::ANNOUNCE_KIND_RARP);
  } else {
    p->set_kind(v1::ANNOUNCE_KIND_GARP);
    p->set_ip(ip_text(e.sender_ip));
  }
  return ev;
}

v1::Event neighbour_message(const RxEvent& e, bool moved, const an::MacAddress& previous_mac,
                            int64_t time_offset_ns) {
  v1::Event ev;
  v1::NeighbourEvent* p = ev.mutable_neighbour();
  p->set_seen_ns(exported(e.ts_ns, time_offset_ns));
  p->set_ip(ip_text(e.sender_ip));
  p->set_mac(an::mac_to_string(e.sender_mac));
  p->set_moved(moved);
  if (moved) p->set_previous_mac(an::mac_to_string(previous_mac));
  return ev;
}

v1::Event tcp_connection_message(const TcpFlowEvent& e, const FlowRegistry& registry,
                                 int64_t time_offset_ns) {
  v1::Event ev;
  v1::TcpConnectionEvent* p = ev.mutable_tcp_connection();
  p->set_flow_id(e.flow_id);
  if (const FlowRegistry::Target* t = registry.target_of(e.flow_id)) p->set_target(t->params.name);
  switch (e.event.kind) {
    case TcpEndpointEvent::kEstablished:
      p->set_change(v1::TCP_CONNECTION_ESTABLISHED);
      break;
    case TcpEndpointEvent::kRefused:
      p->set_change(v1::TCP_CONNECTION_REFUSED);
      break;
    case TcpEndpointEvent::kUnanswered:
      p->set_change(v1::TCP_CONNECTION_UNANSWERED);
      break;
    case TcpEndpointEvent::kReset:
      p->set_change(v1::TCP_CONNECTION_RESET);
      break;
    case TcpEndpointEvent::kPeerClosed:
      p->set_change(v1::TCP_CONNECTION_PEER_CLOSED);
      break;
  }
  p->set_ts_ns(exported(e.event.ts_ns, time_offset_ns));
  p->set_by_peer(e.event.by_peer);
  p->set_unacked_bytes(e.event.unacked_bytes);
  p->set_unechoed_bytes(e.event.unechoed_bytes);
  if (e.event.reconnect_at_ns != 0) {
    p->set_reconnect_at_ns(exported(e.event.reconnect_at_ns, time_offset_ns));
  }
  return ev;
}

void tcp_flow_figures(const TcpFlowSnapshot& s, uint32_t tcp_slot, uint32_t probe_ip,
                      uint64_t now_ns, int64_t time_offset_ns, v1::TcpStreamReport* stream,
                      v1::TcpEchoReport* echo) {
  an::TcpMeter meter = s.meter;
  meter.finish(now_ns);
  const std::string peer = an::endpoint_text(an::IpAddress::v4(s.peer_ip), s.peer_port);
  const std::string opener = an::endpoint_text(an::IpAddress::v4(probe_ip),
                                               static_cast<uint16_t>(kTcpPortBase + tcp_slot));
  *stream = an::to_tcp_stream_report(meter, opener, peer, time_offset_ns);
  stream->set_probe(s.probe);
  stream->set_flow_id(s.flow_id);
  const TcpEchoStats& e = s.echo;
  echo->set_bytes_echoed(e.bytes_echoed);
  echo->set_bytes_mismatched(e.bytes_mismatched);
  echo->set_out_of_order_segments(e.out_of_order_segments);
  echo->set_echo_mean_ns(e.echo_samples != 0 ? e.echo_sum_ns / e.echo_samples : 0);
  echo->set_echo_max_ns(e.echo_max_ns);
  echo->set_unexpected_bytes(e.unexpected_bytes);
  echo->set_refused(e.refused);
  echo->set_unanswered(e.unanswered);
  echo->set_peer_closed(e.peer_closed);
  echo->set_rto_ns(s.rto_ns);
  echo->set_established(s.established);
}

}  // namespace migprobe::dataplane
