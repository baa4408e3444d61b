#include "analysis/analyzer.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "analysis/probe_trailer.h"
#include "analysis/sequence.h"

namespace migprobe::analysis {

// A flow of plain ICMP echo: 16-bit sequence numbers extended to 32 bits, and the send
// times of recent requests so that replies can be paired with them.
struct Analyzer::ForeignFlow {
  static constexpr uint32_t kRing = 1024;
  AnalyzedFlow flow;
  bool seq_started = false;
  uint32_t seq_ref = 0;
  std::vector<uint64_t> tx_ns = std::vector<uint64_t>(kRing, 0);
  std::vector<uint32_t> tx_seq = std::vector<uint32_t>(kRing, 0);

  uint32_t extend(uint16_t seq16) {
    if (!seq_started) {
      seq_started = true;
      seq_ref = seq16;
      return seq16;
    }
    const uint32_t ext = seq_extend16(seq16, seq_ref);
    if (seq_after(ext, seq_ref)) seq_ref = ext;
    return ext;
  }
};

namespace {

// FNV-1a over a key's bytes: no allocation on the per-packet path.
struct Fnv1a {
  uint64_t h = 1469598103934665603ULL;
  void mix(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  }
};

}  // namespace

size_t Analyzer::ForeignKeyHash::operator()(const ForeignKey& k) const {
  Fnv1a f;
  f.mix(k.initiator.data(), k.initiator.size());
  f.mix(k.target.data(), k.target.size());
  f.mix(&k.icmp_id, sizeof k.icmp_id);
  return static_cast<size_t>(f.h);
}

size_t Analyzer::TcpKeyHash::operator()(const TcpKey& k) const {
  Fnv1a f;
  f.mix(k.low_ip.data(), k.low_ip.size());
  f.mix(k.high_ip.data(), k.high_ip.size());
  f.mix(&k.low_port, sizeof k.low_port);
  f.mix(&k.high_port, sizeof k.high_port);
  return static_cast<size_t>(f.h);
}

Analyzer::Analyzer(AnalyzerOptions options)
    : options_(std::move(options)), generation_(options_.generation) {}

Analyzer::~Analyzer() = default;

void Analyzer::on_frame(uint64_t ts_ns, const uint8_t* frame, uint32_t caplen, uint32_t wirelen) {
  ++totals_.frames;
  totals_.bytes += wirelen;
  if (totals_.first_ns == 0) totals_.first_ns = ts_ns;
  if (ts_ns > totals_.last_ns) totals_.last_ns = ts_ns;
  FrameVerdict v;
  classify_frame(options_.parse, frame, caplen, wirelen, &v);
  switch (v.cls) {
    case FrameClass::kProbe:
      on_probe(ts_ns, v);
      return;
    case FrameClass::kForeignEcho:
      on_foreign_echo(ts_ns, v.pkt, v.request);
      return;
    case FrameClass::kRarp:
    case FrameClass::kArp:
      on_arp(ts_ns, v);
      return;
    case FrameClass::kTcp:
      on_tcp(ts_ns, v.pkt);
      return;
    case FrameClass::kDrop:
      drop(v.drop);
      return;
  }
}

AnalyzedFlow* Analyzer::probe_flow(uint32_t flow_id, ProbeKind kind) {
  if (flow_id >= probe_flows_.size()) probe_flows_.resize(flow_id + 1);
  auto& slot = probe_flows_[flow_id];
  if (!slot) {
    const auto it = options_.flow_interval_ns.find(flow_id);
    const uint64_t interval =
        it != options_.flow_interval_ns.end() ? it->second : options_.default_interval_ns;
    slot = std::make_unique<AnalyzedFlow>();
    slot->probe_kind = kind;
    slot->flow_id = flow_id;
    slot->tracker = FlowTracker(flow_id, interval);
  }
  return slot.get();
}

void Analyzer::on_probe(uint64_t ts_ns, const FrameVerdict& v) {
  const ProbeTrailer& t = v.trailer;
  const ParsedPacket& pkt = v.pkt;
  if (generation_ < 0) generation_ = t.generation;
  // The first probe of a flow defines it (its target and kind); the rest must match it.
  AnalyzedFlow* f = t.flow_id < probe_flows_.size() ? probe_flows_[t.flow_id].get() : nullptr;
  ProbeFlowMatch match;
  match.generation = static_cast<uint8_t>(generation_);
  match.kind = f != nullptr ? f->probe_kind : v.kind;
  match.peer_ip = f != nullptr && f->target_ip.family != 0
                      ? ipv4_host_order(f->target_ip)
                      : ipv4_host_order(v.request ? pkt.dst_ip : pkt.src_ip);
  const DropReason why = check_probe(v, match, ts_ns);
  if (why != DropReason::kNone) {
    drop(why);
    return;
  }
  ++totals_.probes;
  if (f == nullptr) f = probe_flow(t.flow_id, v.kind);
  if (v.request) {
    if (f->target_ip.family == 0) f->target_ip = pkt.dst_ip;
    f->vlan = pkt.vlan;
    f->tracker.on_request(t.seq, t.tx_ns);
  } else {
    if (f->target_ip.family == 0) f->target_ip = pkt.src_ip;
    f->target_mac = pkt.src_mac;
    f->target_mac_known = true;
    f->vlan = pkt.vlan;
    f->tracker.on_reply(options_.tracker, t.seq, t.tx_ns, ts_ns, t.has_reflector_count,
                        t.reflector_count);
  }
  f->tracker.advance(options_.tracker, ts_ns, &f->gaps);
}

void Analyzer::on_foreign_echo(uint64_t ts_ns, const ParsedPacket& pkt, bool request) {
  ++totals_.foreign_echo;
  const IpAddress& initiator = request ? pkt.src_ip : pkt.dst_ip;
  const IpAddress& target = request ? pkt.dst_ip : pkt.src_ip;
  const ForeignKey key{initiator.bytes, target.bytes, pkt.icmp_id};
  auto [it, inserted] = foreign_index_.try_emplace(key, foreign_flows_.size());
  if (inserted) {
    auto ff = std::make_unique<ForeignFlow>();
    ff->flow.foreign = true;
    ff->flow.flow_id = static_cast<uint32_t>(foreign_flows_.size());
    ff->flow.target_ip = target;
    ff->flow.initiator = initiator;
    ff->flow.icmp_id = pkt.icmp_id;
    ff->flow.tracker = FlowTracker(ff->flow.flow_id, options_.default_interval_ns);
    foreign_flows_.push_back(std::move(ff));
  }
  ForeignFlow& ff = *foreign_flows_[it->second];
  const uint32_t seq = ff.extend(pkt.icmp_seq);
  const uint32_t slot = seq % ForeignFlow::kRing;
  if (request) {
    ff.tx_ns[slot] = ts_ns;
    ff.tx_seq[slot] = seq;
    ff.flow.tracker.on_request(seq, ts_ns);
  } else {
    // Without the request in the capture, the reply's arrival stands in for the send time.
    const bool paired = ff.tx_seq[slot] == seq && ff.tx_ns[slot] != 0 && ff.tx_ns[slot] <= ts_ns;
    ff.flow.target_mac = pkt.src_mac;
    ff.flow.target_mac_known = true;
    ff.flow.tracker.on_reply(options_.tracker, seq, paired ? ff.tx_ns[slot] : ts_ns, ts_ns, false,
                             0);
  }
  ff.flow.tracker.advance(options_.tracker, ts_ns, &ff.flow.gaps);
}

void Analyzer::on_arp(uint64_t ts_ns, const FrameVerdict& v) {
  const ParsedPacket& pkt = v.pkt;
  const bool rarp = v.cls == FrameClass::kRarp;
  if (!rarp && !v.garp) {
    ++totals_.other;  // ARP that announces nothing: of no use offline
    return;
  }
  ++totals_.announces;
  Announce a;
  a.seen_ns = ts_ns;
  a.rarp = rarp;
  a.mac = pkt.arp_sender_mac;
  a.ip = rarp ? 0 : pkt.arp_sender_ip;
  a.vlan = pkt.vlan;
  announces_.push_back(a);
}

bool Analyzer::on_syn_probe(uint64_t ts_ns, const ParsedPacket& pkt, const TcpKey& key) {
  auto it = syn_flows_.find(key);
  if (it == syn_flows_.end()) {
    // A new flow starts with a probe SYN on an address pair no TCP stream uses.
    if (pkt.src_ip.family != 4 || !is_syn_probe_shape(pkt) || tcp_index_.count(key) != 0) {
      return false;
    }
    SynProbeId id;
    if (!decode_syn_probe(pkt.ip_id, pkt.tcp_seq, generation_, 1U << 24, &id)) return false;
    if (id.flow_id < probe_flows_.size() && probe_flows_[id.flow_id] &&
        probe_flows_[id.flow_id]->probe_kind != ProbeKind::kTcpSyn) {
      return false;  // the flow id is another kind's: a stack's SYN that looked like one
    }
    if (generation_ < 0) generation_ = id.generation;
    auto sf = std::make_unique<SynFlow>();
    sf->flow_id = id.flow_id;
    sf->probe_ip = pkt.src_ip;
    sf->probe_port = pkt.src_port;
    sf->base = pkt.tcp_seq - id.seq;
    it = syn_flows_.emplace(key, std::move(sf)).first;
  }
  SynFlow& sf = *it->second;
  const bool from_probe = pkt.src_ip == sf.probe_ip && pkt.src_port == sf.probe_port;
  uint32_t seq = 0;
  AnalyzedFlow* f = probe_flow(sf.flow_id, ProbeKind::kTcpSyn);
  f->vlan = pkt.vlan;
  switch (classify_syn_segment(pkt, from_probe, sf.base, &seq)) {
    case SynSegment::kProbe: {
      ++totals_.probes;
      if (f->target_ip.family == 0) f->target_ip = pkt.dst_ip;
      f->tracker.on_request(seq, ts_ns);
      uint64_t rx_ns = 0;
      if (sf.matcher.sent(seq, ts_ns, &rx_ns)) {
        f->tracker.on_reply(options_.tracker, seq, ts_ns, rx_ns, false, 0);
      }
      break;
    }
    case SynSegment::kReply: {
      // As migprobe-dp matches it live: one of the flow's latest probes, sent before.
      ++totals_.probes;
      if (f->target_ip.family == 0) f->target_ip = pkt.src_ip;
      f->target_mac = pkt.src_mac;
      f->target_mac_known = true;
      uint64_t tx_ns = 0;
      switch (sf.matcher.reply(seq, ts_ns, &tx_ns)) {
        case SynMatcher::Reply::kMatched:
          f->tracker.on_reply(options_.tracker, seq, tx_ns, ts_ns, false, 0);
          break;
        case SynMatcher::Reply::kEarly:
          return true;  // its probe, still to come in the capture, takes it
        case SynMatcher::Reply::kStale:
          --totals_.probes;
          drop(DropReason::kTCP_OUT_OF_WINDOW);
          return true;
      }
      break;
    }
    case SynSegment::kProbeReset:
      ++totals_.other;  // the half-open connection a SYN-ACK left, reset
      return true;
    case SynSegment::kOther:
      drop(DropReason::kTCP_OUT_OF_WINDOW);  // not an answer to a SYN
      return true;
  }
  f->tracker.advance(options_.tracker, ts_ns, &f->gaps);
  return true;
}

void Analyzer::on_tcp(uint64_t ts_ns, const ParsedPacket& pkt) {
  const bool src_low =
      std::tie(pkt.src_ip.bytes, pkt.src_port) < std::tie(pkt.dst_ip.bytes, pkt.dst_port);
  const TcpKey key = src_low
                         ? TcpKey{pkt.src_ip.bytes, pkt.dst_ip.bytes, pkt.src_port, pkt.dst_port}
                         : TcpKey{pkt.dst_ip.bytes, pkt.src_ip.bytes, pkt.dst_port, pkt.src_port};
  if (on_syn_probe(ts_ns, pkt, key)) return;
  ++totals_.tcp_segments;
  auto [it, inserted] = tcp_index_.try_emplace(key, tcp_streams_.size());
  if (inserted) {
    auto st = std::make_unique<AnalyzedTcpStream>();
    st->stream_id = static_cast<uint32_t>(tcp_streams_.size());
    // A SYN-ACK seen first was sent by the side that did not open the connection.
    const bool synack = (pkt.tcp_flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck);
    st->opener_ip = synack ? pkt.dst_ip : pkt.src_ip;
    st->opener_port = synack ? pkt.dst_port : pkt.src_port;
    st->peer_ip = synack ? pkt.src_ip : pkt.dst_ip;
    st->peer_port = synack ? pkt.src_port : pkt.dst_port;
    st->vlan = pkt.vlan;
    tcp_streams_.push_back(std::move(st));
  }
  AnalyzedTcpStream& st = *tcp_streams_[it->second];
  const TcpSegmentInfo s =
      tcp_segment_info(pkt, ts_ns, pkt.src_ip == st.opener_ip && pkt.src_port == st.opener_port);
  st.meter.on_segment(s);
  // migprobe-dp's own flows send whole chunks, each starting with the trailer.
  ProbeTrailer t;
  if (!st.probe && s.from_opener &&
      decode_trailer(pkt.payload, pkt.payload_len, &t) == TrailerError::kNone) {
    st.probe = true;
    st.flow_id = t.flow_id;
  }
}

void Analyzer::finish() {
  const uint64_t end = totals_.last_ns;
  // Reports look announces up by time; a capture is not always in time order.
  std::stable_sort(announces_.begin(), announces_.end(),
                   [](const Announce& a, const Announce& b) { return a.seen_ns < b.seen_ns; });
  for (auto& f : probe_flows_) {
    if (f) f->tracker.finish(options_.tracker, end, &f->gaps);
  }
  for (auto& ff : foreign_flows_) ff->flow.tracker.finish(options_.tracker, end, &ff->flow.gaps);
  for (auto& st : tcp_streams_) st->meter.finish(end);
}

std::vector<const AnalyzedFlow*> Analyzer::flows() const {
  std::vector<const AnalyzedFlow*> out;
  for (const auto& f : probe_flows_) {
    if (f) out.push_back(f.get());
  }
  for (const auto& ff : foreign_flows_) out.push_back(&ff->flow);
  return out;
}

}  // namespace migprobe::analysis
