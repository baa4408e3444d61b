#include "dataplane/tcp_flows.h"

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>

#include "analysis/byte_order.h"
#include "dataplane/lcore_cores.h"

namespace migprobe::dataplane {

namespace an = migprobe::analysis;

namespace {

constexpr unsigned kReceiveBurst = 32;

}  // namespace

TcpFlows::TcpFlows(uint32_t slots, uint32_t wheel_base, rte_mempool* pool, rte_ring* events,
                   rte_ring* capture, const TscCalibration* clock, DeadlineWheel* wheel,
                   TxCounters* counters, TcpTransmit* transmit)
    : endpoints_(slots),
      slots_(slots),
      wheel_base_(wheel_base),
      pool_(pool),
      events_(events),
      capture_(capture),
      clock_(clock),
      wheel_(wheel),
      counters_(counters),
      transmit_(transmit) {}

uint64_t TcpFlows::now_ns(uint64_t now_tsc) {
  last_ns_ = std::max(last_ns_, clock_->to_ns(now_tsc));
  return last_ns_;
}

void TcpFlows::reschedule(uint32_t slot, uint64_t now_tsc, uint64_t now) {
  const uint64_t d = endpoints_[slot].next_deadline_ns();
  if (d == UINT64_MAX) {
    wheel_->cancel(wheel_base_ + slot);
    return;
  }
  wheel_->schedule(wheel_base_ + slot, now_tsc + (d > now ? clock_->ticks(d - now) : 0));
}

void TcpFlows::start(uint32_t slot, uint64_t now_tsc) {
  Slot& s = slots_[slot];
  s.started = true;
  current_ = slot;
  current_ns_ = now_ns(now_tsc);
  endpoints_[slot].start(current_ns_, static_cast<uint32_t>(now_tsc ^ (now_tsc >> 32)), *this);
  reschedule(slot, now_tsc, current_ns_);
}

void TcpFlows::handle(const TxCommand& c, uint64_t now_tsc) {
  if (c.tcp_slot >= slots_.size()) return;
  Slot& s = slots_[c.tcp_slot];
  switch (c.op) {
    case TxCommand::kAddTcpFlow:
      wheel_->cancel(wheel_base_ + c.tcp_slot);
      endpoints_[c.tcp_slot] = TcpEndpoint(c.tcp);
      s = Slot{};
      s.address = c.tcp_address;
      s.flow_id = c.flow_id;
      s.used = true;
      s.running = true;
      if (c.resolved) start(c.tcp_slot, now_tsc);
      break;
    case TxCommand::kSetTcpDstMac:
      if (!s.running) return;
      s.address.dst_mac = c.mac;
      if (!s.started) start(c.tcp_slot, now_tsc);
      break;
    case TxCommand::kStopTcpFlow:
      if (!s.running) return;
      s.running = false;
      current_ = c.tcp_slot;
      current_ns_ = now_ns(now_tsc);
      endpoints_[c.tcp_slot].stop(current_ns_, *this);
      reschedule(c.tcp_slot, now_tsc, current_ns_);
      break;
    default:
      break;
  }
}

void TcpFlows::on_due(uint32_t wheel_id, uint64_t now_tsc) {
  const uint32_t slot = wheel_id - wheel_base_;
  if (slot >= slots_.size() || !slots_[slot].used) return;
  current_ = slot;
  current_ns_ = now_ns(now_tsc);
  endpoints_[slot].on_timer(current_ns_, *this);
  reschedule(slot, now_tsc, current_ns_);
}

void TcpFlows::receive(rte_ring* segments, uint64_t now_tsc) {
  rte_mbuf* in[kReceiveBurst];
  const unsigned n =
      rte_ring_sc_dequeue_burst(segments, reinterpret_cast<void**>(in), kReceiveBurst, nullptr);
  an::ParseOptions opt;
  opt.verify_checksums = false;  // the RX core did
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = in[i];
    an::ParsedPacket p;
    const an::DropReason parsed =
        an::parse_frame(opt, rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len, &p);
    const uint32_t slot = tcp_slot_of_port(p.dst_port);
    if (parsed != an::DropReason::kNone || slot >= slots_.size() || !slots_[slot].used) {
      // (The RX core parsed it before: a parse failing here would be a bug, counted so.)
      const an::DropReason why =
          parsed != an::DropReason::kNone ? parsed : an::DropReason::kTCP_NO_CONNECTION;
      ++counters_->drops[static_cast<size_t>(why)];
      rte_pktmbuf_free(m);
      continue;
    }
    ++counters_->tcp_segments_received;
    // The time it was received at (the RX core's stamp), kept in order with what the
    // flows were given before. The capture gets it with that time, after what the flows
    // sent before it and before what its flow sends in answer: the order the flow saw.
    uint64_t* stamp = static_cast<uint64_t*>(rte_mbuf_to_priv(m));
    last_ns_ = std::max(last_ns_, *stamp);
    current_ = slot;
    current_ns_ = last_ns_;
    *stamp = current_ns_;
    if (capture_ != nullptr) {
      flush();                       // what was sent before it is captured before it
      rte_mbuf_refcnt_update(m, 1);  // the capture's; ours is read below
      if (rte_ring_sp_enqueue(capture_, m) != 0) {
        rte_mbuf_refcnt_update(m, -1);
        ++counters_->capture_overflow;
      }
    }
    const an::DropReason why = endpoints_[slot].on_segment(p, current_ns_, *this);
    if (why != an::DropReason::kNone) ++counters_->drops[static_cast<size_t>(why)];
    reschedule(slot, now_tsc, now_ns(now_tsc));
    rte_pktmbuf_free(m);
  }
}

void TcpFlows::send(const TcpTx& t) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    ++counters_->no_mbuf;
    return;
  }
  const uint16_t len = build_tcp_frame(slots_[current_].address, t, endpoints_[current_],
                                       rte_pktmbuf_mtod(m, uint8_t*));
  if (len == 0) {
    ++counters_->tcp_unsendable;
    rte_pktmbuf_free(m);
    return;
  }
  m->data_len = len;
  m->pkt_len = len;
  *static_cast<uint64_t*>(rte_mbuf_to_priv(m)) = current_ns_;  // for the capture
  counters_->bytes_sent += len;
  ++counters_->tcp_segments_sent;
  out_[n_out_++] = m;
  if (n_out_ == kOut) flush();
}

void TcpFlows::event(const TcpEndpointEvent& e) {
  TcpFlowEvent ev;
  ev.flow_id = slots_[current_].flow_id;
  ev.tcp_slot = current_;
  ev.event = e;
  if (rte_ring_sp_enqueue_elem(events_, &ev, sizeof(ev)) != 0) ++counters_->tcp_events_dropped;
}

void TcpFlows::flush() {
  if (n_out_ == 0) return;
  transmit_->transmit_tcp(out_, n_out_);
  n_out_ = 0;
}

void TcpFlows::snapshot(std::vector<TcpFlowSnapshot>* out) const {
  const size_t n = std::min(out->size(), slots_.size());
  for (size_t i = 0; i < n; ++i) {
    TcpFlowSnapshot& o = (*out)[i];
    o.used = slots_[i].used;
    if (!o.used) continue;
    o.flow_id = slots_[i].flow_id;
    o.peer_ip = slots_[i].address.dst_ip;
    o.peer_port = slots_[i].address.dst_port;
    o.established = endpoints_[i].established();
    o.rto_ns = endpoints_[i].rto_ns();
    o.echo = endpoints_[i].echo();
    o.meter = endpoints_[i].meter();
  }
}

}  // namespace migprobe::dataplane
