// The RX core: validates every frame, matches replies to flows through a flat array indexed
// by flow id, feeds the flow trackers (the analysis library's, as offline), emits gap and
// outage-in-progress events, and hands ARP/RARP to the control thread. Drops are counted by
// reason in one table. Hot path: no allocation (but a tracker's rare gap list), no logging.
//
// One file of about 500 lines, on purpose: the loop, the frame handlers, the flow tables and
// the outage scan share the core's state and are inlined into one loop per mode (capture,
// replay); what stands alone is elsewhere (analysis/classify.h judges a frame,
// analysis/flow_tracker.h keeps a flow's gaps, scan_pacer.h paces the scan, core_link.h
// speaks to the control thread).

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <vector>

#include "analysis/byte_order.h"
#include "analysis/classify.h"
#include "analysis/packet.h"
#include "analysis/probe_trailer.h"
#include "analysis/syn_probe.h"
#include "dataplane/dp_messages.h"
#include "dataplane/flow_array.h"
#include "dataplane/lcore_cores.h"
#include "dataplane/scan_pacer.h"
#include "dataplane/tcp_flows.h"

namespace migprobe::dataplane {
namespace {

namespace an = migprobe::analysis;

constexpr unsigned kBurst = 32;
// Flows of the outage scan's next visits prefetched (scan_pacer.h paces the visits).
constexpr uint32_t kScanPrefetch = 4;
constexpr unsigned kEmptyPollsBeforeSleep = 64;
constexpr long kIdleSleepNs = 20'000;

// What the matcher and the outage scan read of one flow, in one cache line: a reply is
// checked, and a steady flow scanned, without touching its tracker.
struct alignas(64) RxFlowHot {
  uint64_t interval_ns = 0;       // configured; 0: measured by the tracker (replay)
  uint64_t reply_timeout_ns = 0;  // this flow's
  uint64_t newest_tx_ns = 0;      // send time of the newest answered probe; 0: none yet
  uint64_t rtt_max_ns = 0;
  // When an outage-in-progress event went out (0: none since the outage ended). Only a reply
  // to a probe sent at or after it ends the outage: a late reply to an older probe (queued
  // in the guest or behind a core that was not scheduled) does not, or one outage would be
  // announced twice.
  uint64_t in_progress_ns = 0;
  uint32_t peer_ip = 0;
  an::ProbeKind kind = an::ProbeKind::kIcmpEcho;
  uint8_t generation = 0;
  bool active = false;
  bool pending = false;  // the tracker holds gaps still open to reordered replies
};
static_assert(sizeof(RxFlowHot) == 64, "one cache line per flow");

// Where the segments to one of the probe's TCP ports come from (the TX core runs the flow).
struct RxTcpRoute {
  uint32_t peer_ip = 0;
  uint16_t peer_port = 0;
  bool active = false;
  uint32_t syn_flow = UINT32_MAX;  // a tcp-syn flow's id: its replies are matched here
};

// Replay: one of the probe's TCP flows measured from the capture, as migprobe-analyze does
// (the live flow's own meter read the same segments at the same times: tcp_flows.h).
struct RxTcpReplay {
  an::TcpMeter meter;
  uint32_t flow_id = 0;
  uint32_t peer_ip = 0;
  uint16_t peer_port = 0;
  bool used = false;
  bool probe = false;  // flow_id read from a trailer
  // A tcp-syn flow's port (syn_probe.h): the ISN of its probe 0, its replies' pairing.
  bool syn = false;
  uint32_t syn_base = 0;
  std::unique_ptr<an::SynMatcher> syn_matcher;
};

class alignas(64) RxCore {
 public:
  explicit RxCore(const RxCoreSetup& s)
      : s_(s),
        flows_(s.max_flows),
        trackers_(s.max_flows),
        tcp_routes_(s.tcp_segments != nullptr ? s.tcp_slots : 0),
        tcp_replay_(s.learn_flows ? s.tcp_slots : 0) {
    active_.reserve(s.max_flows);
    gaps_.reserve(64);
    opt_.verify_checksums = s.verify_checksums;
  }

  // Capture on or off, replay or live: chosen here once, not tested per frame.
  template <bool kCapture>
  void run() {
    if (s_.learn_flows) {
      loop<kCapture, true>();
    } else {
      loop<kCapture, false>();
    }
  }

 private:
  template <bool kCapture, bool kReplay>
  void loop();
  void process_commands();
  void handle(const RxCommand& c);
  void add_flow(uint32_t id, uint32_t peer, uint8_t kind, uint8_t generation, uint64_t interval,
                uint64_t reply_timeout);
  void remove_flow(uint32_t id);
  // Returns true when the frame is to be captured.
  template <bool kReplay>
  bool on_frame(rte_mbuf* m, uint64_t rx_ns);
  // Starts loading the flow state frame m will touch. Called a burst ahead of its use, one
  // frame of the next burst per frame processed: with many flows the misses overlap with
  // work, and never more are in flight than the core has line fill buffers for.
  void prefetch_flow(const rte_mbuf* m) const;
  // Processes a burst while prefetching for the next one (ahead, n_ahead frames).
  template <bool kCapture, bool kReplay>
  void process_burst(rte_mbuf** pkts, uint16_t n, uint64_t burst_ns, rte_mbuf* const* ahead,
                     uint16_t n_ahead);
  template <bool kReplay>
  bool on_probe(const an::FrameVerdict& v, uint64_t rx_ns);
  bool on_arp(const an::FrameVerdict& v, uint64_t rx_ns);
  // A TCP segment: to one of the probe's TCP flows (handed to the TX core), else dropped.
  bool on_tcp(const an::FrameVerdict& v, rte_mbuf* m, uint64_t rx_ns);
  // The answer to a tcp-syn probe (a SYN-ACK, reset then, or a reset) on the flow's port.
  bool on_syn_reply(const an::FrameVerdict& v, uint32_t slot, uint64_t rx_ns);
  // Replay: a segment of one of the probe's TCP flows, either way, to its meter.
  // Replay: a segment on a tcp-syn flow's port, or the first probe SYN of one.
  bool on_syn_replay(const an::ParsedPacket& p, RxTcpReplay& r, uint64_t rx_ns, bool from_probe);
  // A tcp-syn probe answered: what on_syn_reply does live with a matched reply.
  void syn_replied(RxFlowHot& f, an::FlowTracker& tracker, uint32_t seq, uint64_t tx_ns,
                   uint64_t rx_ns);
  bool on_tcp_replay(const an::FrameVerdict& v, uint64_t rx_ns);
  void scan(uint64_t now_ns);
  // Settles what a flow's tracker can, posting the gaps (all of them at the end of a run).
  void settle(uint32_t id, uint64_t now_ns, bool finish);
  // The tracker settings of one flow: its own reply timeout.
  an::TrackerConfig config(const RxFlowHot& f) const {
    an::TrackerConfig c = s_.tracker;
    c.reply_timeout_ns = f.reply_timeout_ns;
    return c;
  }
  // Copies what the scan needs from a tracker into the flow's hot line.
  void refresh_hot(RxFlowHot& f, const an::FlowTracker& t) {
    f.newest_tx_ns = t.newest_answered_tx_ns();
    f.rtt_max_ns = t.rtt_max_ns();
    f.pending = t.has_pending();
  }
  void post(const RxEvent& e);
  void drop(an::DropReason r) { ++counters_.drops[static_cast<size_t>(r)]; }
  uint64_t now_ns() const {
    return s_.port_timestamps ? replay_now_ns_ : s_.clock.to_ns(rte_rdtsc());
  }

  RxCoreSetup s_;
  an::ParseOptions opt_;
  FlowArray<RxFlowHot> flows_;
  // The analysis library's trackers: an in-order reply touches the first line of one.
  FlowArray<an::FlowTracker> trackers_;
  std::vector<uint32_t> active_;
  std::vector<RxTcpRoute> tcp_routes_;   // by TCP slot
  std::vector<RxTcpReplay> tcp_replay_;  // by TCP slot (replay only)
  uint32_t cursor_ = 0;
  ScanPacer pacer_;
  std::vector<an::Gap> gaps_;
  RxCounters counters_;
  uint64_t replay_now_ns_ = 0;
  int replay_generation_ = -1;  // of the probes replayed so far (-1: none yet)
  bool quit_ = false;
};

void RxCore::post(const RxEvent& e) {
  if (rte_ring_sp_enqueue_elem(s_.events, const_cast<RxEvent*>(&e), sizeof(e)) != 0)
    ++counters_.events_dropped;
}

void RxCore::add_flow(uint32_t id, uint32_t peer, uint8_t kind, uint8_t generation,
                      uint64_t interval, uint64_t reply_timeout) {
  if (id >= flows_.size()) return;
  RxFlowHot& f = flows_[id];
  if (!f.active) active_.push_back(id);
  trackers_[id] = an::FlowTracker(id, interval);
  f = RxFlowHot{};
  f.interval_ns = interval;
  f.reply_timeout_ns = reply_timeout != 0 ? reply_timeout : s_.tracker.reply_timeout_ns;
  f.peer_ip = peer;
  f.kind = static_cast<an::ProbeKind>(kind);
  f.generation = generation;
  f.active = true;
}

void RxCore::settle(uint32_t id, uint64_t now, bool finish) {
  RxFlowHot& f = flows_[id];
  an::FlowTracker& t = trackers_[id];
  gaps_.clear();
  if (finish) {
    t.finish(config(f), now, &gaps_);
  } else {
    t.advance(config(f), now, &gaps_);
  }
  for (const an::Gap& g : gaps_) {
    RxEvent e;
    e.kind = RxEvent::kGap;
    e.flow_id = id;
    e.ts_ns = now;
    e.gap = g;
    post(e);
    ++counters_.gaps;
  }
  refresh_hot(f, t);
}

void RxCore::remove_flow(uint32_t id) {
  if (id >= flows_.size() || !flows_[id].active) return;
  flows_[id].active = false;
  for (size_t i = 0; i < active_.size(); ++i) {
    if (active_[i] == id) {
      active_[i] = active_.back();
      active_.pop_back();
      break;
    }
  }
}

void RxCore::handle(const RxCommand& c) {
  switch (c.op) {
    case RxCommand::kAddFlow:
      add_flow(c.flow_id, c.peer_ip, c.kind, c.generation, c.interval_ns, c.reply_timeout_ns);
      break;
    case RxCommand::kRemoveFlow: {
      // Settle what the flow still holds before it goes.
      if (c.flow_id < flows_.size() && flows_[c.flow_id].active) {
        settle(c.flow_id, now_ns(), false);
      }
      remove_flow(c.flow_id);
      break;
    }
    case RxCommand::kSetClock:
      s_.clock = c.clock;
      break;
    case RxCommand::kSnapshot: {
      RxSnapshot* snap = c.snapshot;
      snap->totals = counters_;
      const size_t n = std::min(snap->flows.size(), flows_.size());
      for (size_t i = 0; i < n; ++i) {
        snap->flows[i].active = flows_[i].active;
        snap->flows[i].counters = trackers_[i].counters();
      }
      for (size_t i = 0; i < std::min(snap->tcp.size(), tcp_replay_.size()); ++i) {
        const RxTcpReplay& r = tcp_replay_[i];
        TcpFlowSnapshot& o = snap->tcp[i];
        o.used = r.used && !r.syn;  // a tcp-syn flow's port is no TCP stream
        if (!o.used) continue;
        o.flow_id = r.flow_id;
        o.probe = r.probe;
        o.peer_ip = r.peer_ip;
        o.peer_port = r.peer_port;
        o.established = r.meter.established();
        o.meter = r.meter;
      }
      snap->done.store(true, std::memory_order_release);
      break;
    }
    case RxCommand::kFinish: {
      const uint64_t end = c.end_ns != 0 ? c.end_ns : now_ns();
      for (uint32_t id : active_) {
        if (c.sent != nullptr && id < c.sent->size() && (*c.sent)[id].sent != 0) {
          trackers_[id].on_request((*c.sent)[id].next_seq - 1, (*c.sent)[id].last_tx_ns);
        }
        settle(id, end, true);
      }
      RxEvent done;
      done.kind = RxEvent::kFinished;
      done.ts_ns = end;
      post(done);
      break;
    }
    case RxCommand::kQuit:
      quit_ = true;
      break;
    case RxCommand::kAddTcpRoute:
      if (c.tcp_slot < tcp_routes_.size()) {
        const bool syn = c.kind == static_cast<uint8_t>(an::ProbeKind::kTcpSyn);
        tcp_routes_[c.tcp_slot] =
            RxTcpRoute{c.peer_ip, c.peer_port, true, syn ? c.flow_id : UINT32_MAX};
      }
      break;
    case RxCommand::kRemoveTcpRoute:
      if (c.tcp_slot < tcp_routes_.size()) tcp_routes_[c.tcp_slot].active = false;
      break;
  }
}

void RxCore::process_commands() {
  RxCommand c;
  while (rte_ring_sc_dequeue_elem(s_.commands, &c, sizeof(c)) == 0) handle(c);
}

bool RxCore::on_arp(const an::FrameVerdict& v, uint64_t rx_ns) {
  const an::ParsedPacket& p = v.pkt;
  ++counters_.arp;
  RxEvent e;
  e.ts_ns = rx_ns;
  e.arp_op = p.arp_op;
  e.vlan = p.vlan;
  if (v.cls == an::FrameClass::kRarp) {
    ++counters_.rarp;
    e.kind = RxEvent::kRarp;
    e.sender_mac = p.src_mac;
    post(e);
    return true;
  }
  if (v.garp) ++counters_.garp;
  if (p.arp_op == kArpRequest && p.arp_target_ip == s_.probe_ip && !v.garp) {
    // Answer for the probe's own address right here: the guest must be able to reply.
    TxCommand c;
    c.op = TxCommand::kSendFrame;
    c.header.frame_len = build_arp(c.header.bytes, kArpReply, p.arp_sender_mac, s_.probe_mac,
                                   s_.probe_ip, p.arp_sender_mac, p.arp_sender_ip, p.vlan);
    if (rte_ring_sp_enqueue_elem(s_.frames, &c, sizeof(c)) != 0) ++counters_.frames_dropped;
  } else if (!v.garp && p.arp_op == kArpRequest) {
    drop(an::DropReason::kNOT_FOR_US);
    return false;
  }
  e.kind = RxEvent::kArp;
  e.sender_ip = p.arp_sender_ip;
  e.target_ip = p.arp_target_ip;
  e.sender_mac = p.arp_sender_mac;
  e.garp = v.garp;
  post(e);
  return true;
}

template <bool kReplay>
bool RxCore::on_probe(const an::FrameVerdict& v, uint64_t rx_ns) {
  const an::ProbeTrailer& t = v.trailer;
  if (unlikely(t.flow_id >= flows_.size())) {
    drop(an::DropReason::kBAD_FLOW_ID);
    return false;
  }
  RxFlowHot& f = flows_[t.flow_id];
  if constexpr (kReplay) {
    if (unlikely(!f.active)) {
      // The first packet of a flow defines it; the interval is measured from the probes.
      add_flow(t.flow_id, an::ipv4_host_order(v.request ? v.pkt.dst_ip : v.pkt.src_ip),
               static_cast<uint8_t>(v.kind), t.generation, 0, 0);
      replay_generation_ = t.generation;
    }
  } else {
    if (unlikely(!f.active)) {
      drop(an::DropReason::kUNKNOWN_FLOW);
      return false;
    }
    if (unlikely(v.request)) {
      drop(an::DropReason::kNOT_A_REPLY);
      return false;
    }
  }
  const an::DropReason why = an::check_probe(v, {f.peer_ip, f.kind, f.generation}, rx_ns);
  if (unlikely(why != an::DropReason::kNone)) {
    drop(why);
    return false;
  }
  an::FlowTracker& tracker = trackers_[t.flow_id];
  if (v.request) {  // replay only
    ++counters_.requests;
    tracker.on_request(t.seq, t.tx_ns);
    return true;
  }
  if constexpr (!kReplay) {
    if (unlikely(an::ipv4_host_order(v.pkt.dst_ip) != s_.probe_ip)) {
      drop(an::DropReason::kNOT_FOR_US);
      return false;
    }
  }
  if (unlikely(rx_ns - t.tx_ns > f.reply_timeout_ns)) ++counters_.late_replies;
  tracker.on_reply(config(f), t.seq, t.tx_ns, rx_ns, t.has_reflector_count, t.reflector_count);
  refresh_hot(f, tracker);
  if (t.tx_ns >= f.in_progress_ns) f.in_progress_ns = 0;
  ++counters_.replies;
  return true;
}

bool RxCore::on_tcp(const an::FrameVerdict& v, rte_mbuf* m, uint64_t rx_ns) {
  const an::ParsedPacket& p = v.pkt;
  if (p.dst_ip.family != 4 || an::ipv4_host_order(p.dst_ip) != s_.probe_ip) {
    drop(an::DropReason::kNOT_PROBE);  // foreign TCP: migprobe-analyze measures it offline
    return false;
  }
  const uint32_t slot = tcp_slot_of_port(p.dst_port);
  if (slot >= tcp_routes_.size() || !tcp_routes_[slot].active) {
    drop(an::DropReason::kTCP_NO_CONNECTION);
    return false;
  }
  const RxTcpRoute& r = tcp_routes_[slot];
  if (an::ipv4_host_order(p.src_ip) != r.peer_ip || p.src_port != r.peer_port) {
    drop(an::DropReason::kTCP_WRONG_PEER);
    return false;
  }
  if (r.syn_flow != UINT32_MAX) return on_syn_reply(v, slot, rx_ns);
  // The TX core takes its own reference, and captures the segment when its flow takes it
  // (tcp_flows.h); this core frees its reference as for any frame it does not capture.
  *static_cast<uint64_t*>(rte_mbuf_to_priv(m)) = rx_ns;
  rte_mbuf_refcnt_update(m, 1);
  if (rte_ring_sp_enqueue(s_.tcp_segments, m) != 0) {
    rte_mbuf_refcnt_update(m, -1);
    ++counters_.tcp_ring_full;
  } else {
    ++counters_.tcp_segments;
  }
  return false;
}

bool RxCore::on_syn_reply(const an::FrameVerdict& v, uint32_t slot, uint64_t rx_ns) {
  const an::ParsedPacket& p = v.pkt;
  const uint32_t id = tcp_routes_[slot].syn_flow;
  const bool syn = (p.tcp_flags & an::kTcpSyn) != 0;
  const bool rst = (p.tcp_flags & an::kTcpRst) != 0;
  if ((p.tcp_flags & an::kTcpAck) == 0 || syn == rst || id >= flows_.size() ||
      s_.syn_log == nullptr) {
    drop(an::DropReason::kTCP_OUT_OF_WINDOW);  // not an answer to a SYN
    return false;
  }
  RxFlowHot& f = flows_[id];
  if (unlikely(!f.active)) {
    drop(an::DropReason::kUNKNOWN_FLOW);
    return false;
  }
  const uint32_t seq = p.tcp_ack - 1 - an::syn_isn(id, f.generation, 0);
  uint64_t tx_ns = 0;
  if (!s_.syn_log[slot].get(seq, &tx_ns) || tx_ns > rx_ns) {
    // Not one of the latest probes sent: a stale answer, or not to our SYN at all.
    drop(an::DropReason::kTCP_OUT_OF_WINDOW);
    return false;
  }
  if (syn) {
    // Leave no half-open connection in the guest: reset it, as a stack would.
    TxCommand c;
    c.op = TxCommand::kSendFrame;
    TcpFrameAddress a;
    a.src_mac = s_.probe_mac;
    a.dst_mac = p.src_mac;
    a.vlan = p.vlan;
    a.src_ip = s_.probe_ip;
    a.dst_ip = an::ipv4_host_order(p.src_ip);
    a.src_port = p.dst_port;
    a.dst_port = p.src_port;
    c.header.frame_len = build_tcp_reset(a, p.tcp_ack, c.header.bytes);
    if (rte_ring_sp_enqueue_elem(s_.frames, &c, sizeof(c)) != 0) ++counters_.frames_dropped;
  }
  syn_replied(f, trackers_[id], seq, tx_ns, rx_ns);
  return true;
}

void RxCore::syn_replied(RxFlowHot& f, an::FlowTracker& tracker, uint32_t seq, uint64_t tx_ns,
                         uint64_t rx_ns) {
  if (unlikely(rx_ns - tx_ns > f.reply_timeout_ns)) ++counters_.late_replies;
  tracker.on_reply(config(f), seq, tx_ns, rx_ns, false, 0);
  refresh_hot(f, tracker);
  if (tx_ns >= f.in_progress_ns) f.in_progress_ns = 0;
  ++counters_.replies;
}

bool RxCore::on_syn_replay(const an::ParsedPacket& p, RxTcpReplay& r, uint64_t rx_ns,
                           bool from_probe) {
  const uint32_t peer_ip = an::ipv4_host_order(from_probe ? p.dst_ip : p.src_ip);
  const uint16_t peer_port = from_probe ? p.dst_port : p.src_port;
  if (!r.syn) {
    an::SynProbeId id;
    if (!an::decode_syn_probe(p.ip_id, p.tcp_seq, replay_generation_, 1U << 24, &id) ||
        id.flow_id >= flows_.size() ||
        (flows_[id.flow_id].active && flows_[id.flow_id].kind != an::ProbeKind::kTcpSyn)) {
      drop(an::DropReason::kNOT_PROBE);  // a stack's SYN, not one of the probe's
      return false;
    }
    r.used = true;
    r.syn = true;
    r.flow_id = id.flow_id;
    r.peer_ip = peer_ip;
    r.peer_port = peer_port;
    r.syn_base = p.tcp_seq - id.seq;
    r.syn_matcher = std::make_unique<an::SynMatcher>();
    if (!flows_[id.flow_id].active) {
      add_flow(id.flow_id, peer_ip, static_cast<uint8_t>(an::ProbeKind::kTcpSyn), id.generation, 0,
               0);
    }
  } else if (r.peer_ip != peer_ip || r.peer_port != peer_port) {
    drop(an::DropReason::kTCP_WRONG_PEER);
    return false;
  }
  RxFlowHot& f = flows_[r.flow_id];
  an::FlowTracker& tracker = trackers_[r.flow_id];
  uint32_t seq = 0;
  switch (an::classify_syn_segment(p, from_probe, r.syn_base, &seq)) {
    case an::SynSegment::kProbe: {
      ++counters_.requests;
      tracker.on_request(seq, rx_ns);
      uint64_t reply_ns = 0;
      if (r.syn_matcher->sent(seq, rx_ns, &reply_ns)) syn_replied(f, tracker, seq, rx_ns, reply_ns);
      return true;
    }
    case an::SynSegment::kReply: {
      // Matched as on_syn_reply matches it live.
      uint64_t tx_ns = 0;
      switch (r.syn_matcher->reply(seq, rx_ns, &tx_ns)) {
        case an::SynMatcher::Reply::kMatched:
          syn_replied(f, tracker, seq, tx_ns, rx_ns);
          return true;
        case an::SynMatcher::Reply::kEarly:
          return true;  // its probe, still to come in the capture, takes it
        case an::SynMatcher::Reply::kStale:
          break;
      }
      drop(an::DropReason::kTCP_OUT_OF_WINDOW);
      return false;
    }
    case an::SynSegment::kProbeReset:
      return true;
    case an::SynSegment::kOther:
      break;
  }
  drop(an::DropReason::kTCP_OUT_OF_WINDOW);  // not an answer to a SYN
  return false;
}

bool RxCore::on_tcp_replay(const an::FrameVerdict& v, uint64_t rx_ns) {
  const an::ParsedPacket& p = v.pkt;
  const bool from_probe = p.src_ip.family == 4 && an::ipv4_host_order(p.src_ip) == s_.probe_ip;
  const bool to_probe = p.dst_ip.family == 4 && an::ipv4_host_order(p.dst_ip) == s_.probe_ip;
  const uint32_t slot = tcp_slot_of_port(from_probe ? p.src_port : p.dst_port);
  if ((!from_probe && !to_probe) || slot >= tcp_replay_.size()) {
    drop(an::DropReason::kNOT_PROBE);  // foreign TCP: migprobe-analyze measures it
    return false;
  }
  RxTcpReplay& r = tcp_replay_[slot];
  if (r.syn || (!r.used && from_probe && an::is_syn_probe_shape(p))) {
    return on_syn_replay(p, r, rx_ns, from_probe);
  }
  const uint32_t peer_ip = an::ipv4_host_order(from_probe ? p.dst_ip : p.src_ip);
  const uint16_t peer_port = from_probe ? p.dst_port : p.src_port;
  if (!r.used) {
    r.used = true;
    r.peer_ip = peer_ip;
    r.peer_port = peer_port;
  } else if (r.peer_ip != peer_ip || r.peer_port != peer_port) {
    drop(an::DropReason::kTCP_WRONG_PEER);
    return false;
  }
  r.meter.on_segment(an::tcp_segment_info(p, rx_ns, from_probe));
  an::ProbeTrailer t;
  if (!r.probe && from_probe && p.payload_len >= an::kTrailerSize &&
      an::decode_trailer(p.payload, p.payload_len, &t) == an::TrailerError::kNone) {
    r.flow_id = t.flow_id;
    r.probe = true;
  }
  return true;
}

template <bool kReplay>
bool RxCore::on_frame(rte_mbuf* m, uint64_t rx_ns) {
  an::FrameVerdict v;
  an::classify_frame(opt_, rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len, &v);
  switch (v.cls) {
    case an::FrameClass::kProbe:
      return on_probe<kReplay>(v, rx_ns);
    case an::FrameClass::kRarp:
    case an::FrameClass::kArp:
      return on_arp(v, rx_ns);
    case an::FrameClass::kTcp:
      if constexpr (kReplay) return on_tcp_replay(v, rx_ns);
      return on_tcp(v, m, rx_ns);
    case an::FrameClass::kForeignEcho:
      drop(an::DropReason::kNOT_PROBE);  // migprobe-dp tracks its own probes only
      return false;
    case an::FrameClass::kDrop:
      break;
  }
  drop(v.drop);
  return false;
}

void RxCore::scan(uint64_t now) {
  const uint32_t n = static_cast<uint32_t>(active_.size());
  if (n == 0) return;
  const uint32_t quota = pacer_.quota(now, n);
  if (quota == 0) return;
  const uint32_t count = std::min(quota, n);
  for (uint32_t i = 0; i < count; ++i) {
    if (cursor_ >= n) cursor_ = 0;
    const uint32_t id = active_[cursor_++];
    RxFlowHot& f = flows_[id];
    if (f.pending) settle(id, now, false);
    // An outage is in progress when no reply has come for the threshold past the interval
    // and the worst round trip seen so far. The interval is left out of a first, cheap
    // test: a measured one (replay) is the tracker's to compute.
    if (f.in_progress_ns != 0 || f.newest_tx_ns == 0) continue;
    const uint64_t base = f.newest_tx_ns + s_.tracker.outage_threshold_ns +
                          (f.rtt_max_ns < f.reply_timeout_ns ? f.rtt_max_ns : f.reply_timeout_ns);
    if (now <= base) continue;
    const uint64_t interval = f.interval_ns != 0 ? f.interval_ns : trackers_[id].interval_ns();
    if (now > base + interval) {
      f.in_progress_ns = now;
      RxEvent e;
      e.kind = RxEvent::kOutageInProgress;
      e.flow_id = id;
      e.ts_ns = now;
      e.since_tx_ns = f.newest_tx_ns;
      post(e);
      ++counters_.outages_in_progress;
    }
  }
  // The next visits' flows: start loading their lines now.
  const uint32_t ahead = std::min(kScanPrefetch, n);
  for (uint32_t i = 0, c = cursor_; i < ahead; ++i, ++c) {
    rte_prefetch0(&flows_[active_[c < n ? c : c - n]]);
  }
}

void RxCore::prefetch_flow(const rte_mbuf* m) const {
  // A guess from where the trailer of an untagged IPv4 probe sits (Ethernet 14, IPv4 20,
  // ICMP or UDP 8): only a hint, the frame is parsed and checked in full afterwards.
  constexpr uint32_t kTrailerOff = 14 + 20 + 8;
  if (unlikely(m->data_len < kTrailerOff + an::kTrailerSize)) return;
  const uint8_t* tr = rte_pktmbuf_mtod(m, const uint8_t*) + kTrailerOff;
  // Probe magic ("mp", ICMP echo replies) or reflector magic ("mr", UDP replies).
  if (!an::has_trailer_magic(tr, an::kTrailerSize)) return;
  const uint32_t id = an::load_be32(tr + 2) & an::kMaxFlowId;
  if (id >= flows_.size()) return;
  // The hot line and the tracker's first line: all an in-order reply touches.
  rte_prefetch0(&flows_[id]);
  rte_prefetch0(&trackers_[id]);
}

template <bool kCapture, bool kReplay>
void RxCore::process_burst(rte_mbuf** pkts, uint16_t n, uint64_t burst_ns, rte_mbuf* const* ahead,
                           uint16_t n_ahead) {
  rte_mbuf* keep[kBurst];
  unsigned kept = 0;
  unsigned done = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (i < n_ahead) prefetch_flow(ahead[i]);
    rte_mbuf* m = pkts[i];
    uint64_t rx_ns = burst_ns;
    if (s_.port_timestamps && (m->ol_flags & s_.timestamp_flag) != 0) {
      rx_ns =
          *RTE_MBUF_DYNFIELD(m, s_.timestamp_offset, rte_mbuf_timestamp_t*) * s_.timestamp_scale;
      if (rx_ns > replay_now_ns_) replay_now_ns_ = rx_ns;
    }
    const bool capture = on_frame<kReplay>(m, rx_ns);
    if constexpr (kCapture) {
      if (capture) {
        *static_cast<uint64_t*>(rte_mbuf_to_priv(m)) = rx_ns;
        keep[kept++] = m;
        continue;
      }
    }
    pkts[done++] = m;  // freed together below
  }
  for (uint16_t i = n; i < n_ahead; ++i) prefetch_flow(ahead[i]);
  if (done != 0) rte_pktmbuf_free_bulk(pkts, done);
  if constexpr (kCapture) {
    if (kept != 0) {
      const unsigned q =
          rte_ring_sp_enqueue_burst(s_.capture, reinterpret_cast<void**>(keep), kept, nullptr);
      if (unlikely(q < kept)) {
        counters_.capture_overflow += kept - q;
        rte_pktmbuf_free_bulk(keep + q, kept - q);
      }
    }
  }
}

template <bool kCapture, bool kReplay>
void RxCore::loop() {
  // Two bursts in flight: the one just received has its flow state prefetched while the
  // one before it is processed. Each keeps the time it was received at.
  rte_mbuf* bursts[2][kBurst];
  uint16_t held = 0;
  uint64_t held_ns = 0;
  unsigned cur = 0;
  unsigned empty_polls = 0;
  while (!quit_) {
    if (unlikely(!rte_ring_empty(s_.commands))) {
      // Frames received before a command are handled before it (a finish settles them).
      if (held != 0) process_burst<kCapture, kReplay>(bursts[cur], held, held_ns, nullptr, 0);
      held = 0;
      process_commands();
    }
    rte_mbuf** next = bursts[cur ^ 1];
    const uint16_t n = rte_eth_rx_burst(s_.port, s_.queue, next, kBurst);
    uint64_t now = 0;
    if (n != 0 || held != 0) {
      empty_polls = 0;
      const uint64_t burst_tsc = rte_rdtsc();
      const uint64_t burst_ns = s_.clock.to_ns(burst_tsc);
      // The scan may call silence only up to a time whose frames are all processed: the
      // previous poll's, once its burst is, when that poll emptied the queue. A reply still
      // held (or still queued behind a full burst) is not an outage: after the core was not
      // scheduled for a while, the queue holds the replies of flows that are fine.
      const bool drained_before = held != 0 && held < kBurst;
      const uint64_t processed_until = held_ns;
      counters_.packets += n;
      if (held != 0) {
        process_burst<kCapture, kReplay>(bursts[cur], held, held_ns, next, n);
      } else {
        for (uint16_t i = 0; i < n; ++i) prefetch_flow(next[i]);
      }
      held = n;
      held_ns = burst_ns;
      cur ^= 1;
      if (s_.port_timestamps) {
        scan(replay_now_ns_);
      } else if (drained_before) {
        scan(processed_until);
      }
      // One more TSC read per loop: what the core spends on frames and on the scan, without
      // the driver.
      counters_.busy_cycles += rte_rdtsc() - burst_tsc;
      continue;
    }
    now = now_ns();
    if (s_.idle_sleep && ++empty_polls > kEmptyPollsBeforeSleep) {
      // Replies are stamped on wake-up, so an idle sleep delays RX timestamps by at most
      // this much; gap estimates use TX timestamps and do not move.
      timespec ts{0, kIdleSleepNs};
      nanosleep(&ts, nullptr);
      ++counters_.sleeps;
    }
    scan(now);
  }
  if (held != 0) rte_pktmbuf_free_bulk(bursts[cur], held);
}

}  // namespace

int rx_core_main(void* arg) {
  return run_fast_path_core<RxCore, RxCoreSetup>(arg);
}

}  // namespace migprobe::dataplane
