#include "pcaps/gen/probe_flow.h"

#include <utility>

namespace migprobe::pcapgen {
namespace {

// Linux ping's payload: struct timeval of the send time (64-bit, little endian, as on
// x86-64) then the byte pattern 0x10, 0x11, ... up to the default 56 bytes.
std::vector<uint8_t> ping_payload(uint64_t tx_ns) {
  std::vector<uint8_t> p(56);
  const uint64_t sec = tx_ns / 1'000'000'000;
  const uint64_t usec = tx_ns % 1'000'000'000 / 1000;
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<uint8_t>(sec >> (8 * i));
    p[8 + i] = static_cast<uint8_t>(usec >> (8 * i));
  }
  for (size_t i = 16; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i);
  return p;
}

uint16_t probe_src_port(uint32_t flow_id) {
  return static_cast<uint16_t>(40000 + (flow_id & 0x3fff));
}

}  // namespace

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string direction_name(Direction d) {
  switch (d) {
    case Direction::kBoth:
      return "both";
    case Direction::kForward:
      return "forward";
    case Direction::kReturn:
      return "return";
  }
  return "both";
}

const Outage* ProbeFlow::outage_at(uint64_t tx_ns) const {
  for (const Outage& o : spec_.outages) {
    if (tx_ns >= o.start_ns && tx_ns < o.end_ns) return &o;
  }
  return nullptr;
}

Frame ProbeFlow::request(uint32_t seq, uint64_t tx_ns) {
  FrameOptions opt = spec_.frame;
  opt.ip_id = static_cast<uint16_t>(seq);
  if (spec_.kind == ProbeKind::kForeignPing) {
    return icmp_echo(spec_.probe, spec_.target, opt, false, spec_.ping_id,
                     static_cast<uint16_t>(seq), ping_payload(tx_ns));
  }
  analysis::ProbeTrailer t;
  t.generation = spec_.generation;
  t.flow_id = spec_.flow_id;
  t.seq = seq;
  t.tx_ns = tx_ns;
  if (spec_.kind == ProbeKind::kUdpReflect) {
    return udp_datagram(spec_.probe, spec_.target, opt, probe_src_port(spec_.flow_id),
                        kReflectorPort, trailer_payload(t));
  }
  return icmp_echo(spec_.probe, spec_.target, opt, false, static_cast<uint16_t>(spec_.flow_id),
                   static_cast<uint16_t>(seq), trailer_payload(t));
}

Frame ProbeFlow::reply(uint32_t seq, uint64_t tx_ns) {
  FrameOptions opt = spec_.frame;
  opt.ip_id = guest_ip_id_++;
  if (spec_.kind == ProbeKind::kForeignPing) {
    return icmp_echo(spec_.target, spec_.probe, opt, true, spec_.ping_id,
                     static_cast<uint16_t>(seq), ping_payload(tx_ns));
  }
  analysis::ProbeTrailer t;
  t.generation = spec_.generation;
  t.flow_id = spec_.flow_id;
  t.seq = seq;
  t.tx_ns = tx_ns;
  if (spec_.kind == ProbeKind::kUdpReflect) {
    // The reflector echoes the trailer under its own magic and appends its count.
    t.reflected = true;
    t.has_reflector_count = true;
    t.reflector_count = reflector_count_;
    return udp_datagram(spec_.target, spec_.probe, opt, kReflectorPort,
                        probe_src_port(spec_.flow_id), trailer_payload(t));
  }
  // An ICMP echo reply returns the request's payload unchanged: the trailer keeps "mp".
  return icmp_echo(spec_.target, spec_.probe, opt, true, static_cast<uint16_t>(spec_.flow_id),
                   static_cast<uint16_t>(seq), trailer_payload(t));
}

void ProbeFlow::emit_next(Timeline* timeline) {
  const uint32_t i = next_++;
  const uint32_t seq = spec_.first_seq + i;
  const uint64_t tx = spec_.first_tx_ns + uint64_t{i} * spec_.interval_ns;
  timeline->add(tx, request(seq, tx));
  // Draw the jitter for every probe, lost or not, so that one outage more or less does
  // not shift the round trips of all later probes.
  const uint64_t jitter = spec_.return_jitter_ns ? rng_.below(spec_.return_jitter_ns) : 0;
  const Outage* o = outage_at(tx);
  if (o != nullptr && o->direction != Direction::kReturn) return;
  ++reflector_count_;
  if (o != nullptr) return;
  ++answered_;
  uint64_t rx = tx + spec_.forward_delay_ns + spec_.return_delay_ns + jitter;
  if (auto it = spec_.reply_extra_delay.find(i); it != spec_.reply_extra_delay.end()) {
    rx += it->second;
  }
  Frame r = reply(seq, tx);
  if (auto it = spec_.duplicate_reply_after.find(i); it != spec_.duplicate_reply_after.end()) {
    timeline->add(rx + it->second, r);
  }
  timeline->add(rx, std::move(r));
}

std::vector<TruthGap> ProbeFlow::truth() const {
  std::vector<TruthGap> gaps;
  const uint64_t first = spec_.first_tx_ns;
  const uint64_t last = first + uint64_t{spec_.count - 1} * spec_.interval_ns;
  for (const Outage& o : spec_.outages) {
    if (o.end_ns <= first || o.start_ns > last) continue;
    const uint64_t d = spec_.interval_ns;
    const uint64_t lo = o.start_ns <= first ? 0 : (o.start_ns - first + d - 1) / d;
    uint64_t hi = (o.end_ns - first + d - 1) / d - 1;
    if (hi > spec_.count - 1) hi = spec_.count - 1;
    if (hi < lo) continue;
    TruthGap g;
    g.flow_id = spec_.flow_id;
    g.first_lost_seq = spec_.first_seq + static_cast<uint32_t>(lo);
    g.last_lost_seq = spec_.first_seq + static_cast<uint32_t>(hi);
    g.lost = static_cast<uint32_t>(hi - lo + 1);
    g.forward_lost = o.direction == Direction::kReturn ? 0 : g.lost;
    g.return_lost = o.direction == Direction::kReturn ? g.lost : 0;
    g.start_ns = o.start_ns;
    g.end_ns = o.end_ns;
    g.open_start = lo == 0;
    g.open_end = hi == spec_.count - 1;
    g.direction = direction_name(o.direction);
    gaps.push_back(g);
  }
  return gaps;
}

bool run_flows(std::vector<ProbeFlow>* flows, Timeline* timeline) {
  for (;;) {
    ProbeFlow* earliest = nullptr;
    for (ProbeFlow& f : *flows) {
      if (!f.done() && (earliest == nullptr || f.next_tx_ns() < earliest->next_tx_ns())) {
        earliest = &f;
      }
    }
    if (earliest == nullptr) return timeline->finish();
    // Nothing queued later can be earlier than the request about to be made.
    if (!timeline->drain_before(earliest->next_tx_ns())) return false;
    earliest->emit_next(timeline);
  }
}

}  // namespace migprobe::pcapgen
