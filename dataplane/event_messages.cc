#include "dataplane/event_messages.h"

#include "analysis/announce.h"
#include "analysis/flow_proto.h"
#include "analysis/gap_event.h"

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

}  // namespace migprobe::dataplane
