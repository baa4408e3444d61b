#include "dataplane/probe_control.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "analysis/flow_proto.h"
#include "dataplane/event_messages.h"
#include "dataplane/stats_export.h"

namespace migprobe::dataplane {

namespace an = migprobe::analysis;

namespace {

std::string ip_text(uint32_t ip) {
  return an::IpAddress::v4(ip).to_string();
}

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

ProbeControl::ProbeControl(const Options& o, const PortInfo& port, const CoreRings& rings,
                           const ProbeClock& clock, CaptureThread* capture)
    : o_(o),
      port_(port),
      link_(rings, [this] { poll_events(); }),
      clock_(clock),
      capture_(capture),
      neighbours_(o.neighbour),
      registry_(o.max_flows),
      tcp_slots_(o.max_flows, kNoTcpSlot),
      publisher_(o.events_path, EventPublisher::kDefaultQueueBound, o.quiet) {
  for (uint32_t slot = 0; slot < o.max_tcp_flows; ++slot) free_tcp_slots_.push_back(slot);
  if (!publisher_.file_error().empty()) {
    std::fprintf(stderr, "migprobe-dp: %s\n", publisher_.file_error().c_str());
  }
  self_.ip = o.probe_ip;
  self_.mac = o.probe_mac ? *o.probe_mac : port.mac;
  process_started_ns_ = realtime_ns();
  last_refresh_real_ns_ = process_started_ns_;
}

uint64_t ProbeControl::probe_now() const {
  return clock_.calibration().to_ns(rte_rdtsc());
}

bool ProbeControl::call(const std::function<void()>& fn) {
  std::promise<void> done;
  {
    std::lock_guard<std::mutex> l(tasks_mu_);
    if (!taking_tasks_) return false;
    tasks_.push_back([&] {
      fn();
      done.set_value();
    });
  }
  done.get_future().wait();
  return true;
}

void ProbeControl::run_tasks() {
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> l(tasks_mu_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks) t();
}

void ProbeControl::emit(const v1::Event& e) {
  publisher_.publish(e);
}

std::shared_ptr<EventQueue> ProbeControl::subscribe() {
  return publisher_.subscribe();
}

base::Status ProbeControl::configure(const std::vector<TargetParams>& targets, bool replace,
                                     v1::ConfigureReply* reply) {
  if (base::Status ok = registry_.check(targets, replace); !ok) return ok;
  size_t tcp_wanted = 0;
  for (const TargetParams& t : targets) {
    for (const FlowParams& f : t.flows) {
      tcp_wanted += f.kind == ProbeKind::kTcpStream || f.kind == ProbeKind::kTcpSyn ? 1 : 0;
    }
  }
  size_t tcp_free = free_tcp_slots_.size();
  if (replace) {
    for (uint32_t id : registry_.used_flow_ids()) tcp_free += tcp_slot(id) != kNoTcpSlot ? 1 : 0;
  }
  if (tcp_wanted > tcp_free) {
    return base::make_error(base::ErrorKind::kExhausted,
                            std::to_string(tcp_wanted) + " TCP flows asked, " +
                                std::to_string(tcp_free) +
                                " TCP flow slots free (migprobe-dp --max-tcp-flows)");
  }
  if (replace) remove_targets(registry_.names());
  std::vector<uint32_t> added;
  if (base::Status ok = registry_.add(targets, &added); !ok) return ok;  // never half done
  assign_tcp_slots(added);
  const uint64_t now = probe_now();
  for (uint32_t index : added) {
    const FlowRegistry::Target& t = registry_.target(index);
    const TargetParams& tp = t.params;
    if (tp.mac) {
      neighbours_.set_static(tp.ip, *tp.mac, now);
    } else {
      neighbours_.want(tp.ip, now);
    }
    if (running_) add_flows_to_cores(t.flow_ids);
    if (reply != nullptr) {
      v1::Target* pt = reply->add_targets();
      pt->set_name(tp.name);
      pt->set_ip(ip_text(tp.ip));
      if (tp.mac) pt->set_mac(an::mac_to_string(*tp.mac));
      pt->set_vlan(tp.vlan);
      for (size_t i = 0; i < tp.flows.size(); ++i) {
        v1::FlowSpec* fs = pt->add_flows();
        *fs = an::to_proto(tp.flows[i]);
        fs->set_flow_id(t.flow_ids[i]);
        fs->set_reply_timeout_ns(reply_timeout(tp.flows[i]));
      }
    }
  }
  return base::Done{};
}

void ProbeControl::assign_tcp_slots(const std::vector<uint32_t>& added_targets) {
  for (uint32_t index : added_targets) {
    for (uint32_t id : registry_.target(index).flow_ids) {
      const ProbeKind kind = registry_.flow(id)->params.kind;
      if (kind != ProbeKind::kTcpStream && kind != ProbeKind::kTcpSyn) continue;
      tcp_slots_[id] = free_tcp_slots_.front();  // configure() checked there are enough
      free_tcp_slots_.pop_front();
      if (kind == ProbeKind::kTcpSyn) syn_flows_.insert(id);
    }
  }
}

void ProbeControl::stop_tcp_flows(const std::vector<uint32_t>& ids) {
  for (uint32_t id : ids) {
    if (!tcp_stream(id)) continue;
    TxCommand c;
    c.op = TxCommand::kStopTcpFlow;
    c.flow_id = id;
    c.tcp_slot = tcp_slot(id);
    link_.send_tx(c);
  }
}

void ProbeControl::emit_tcp_figures(const std::vector<uint32_t>& ids) {
  bool any = false;
  for (uint32_t id : ids) any = any || tcp_stream(id);
  if (!any) return;
  auto tx = std::make_unique<TxSnapshot>();
  tx->tcp.resize(o_.max_tcp_flows);
  link_.snapshot_tx(tx.get());
  const uint64_t now = probe_now();
  for (uint32_t id : ids) {
    const uint32_t slot = tcp_slot(id);
    if (!tcp_stream(id) || !tx->tcp[slot].used || tx->tcp[slot].flow_id != id) continue;
    v1::Event ev;
    v1::TcpStreamEvent* p = ev.mutable_tcp_stream();
    p->set_flow_id(id);
    if (const FlowRegistry::Target* t = registry_.target_of(id)) p->set_target(t->params.name);
    tcp_flow_figures(tx->tcp[slot], slot, self_.ip, now, time_offset_ns(), p->mutable_stream(),
                     p->mutable_echo());
    emit(ev);
  }
}

void ProbeControl::emit_replayed_tcp_figures() {
  auto rx = std::make_unique<RxSnapshot>();
  rx->tcp.resize(o_.max_tcp_flows);
  link_.snapshot_rx(rx.get());
  for (uint32_t slot = 0; slot < rx->tcp.size(); ++slot) {
    const TcpFlowSnapshot& s = rx->tcp[slot];
    if (!s.used) continue;
    v1::Event ev;
    v1::TcpStreamEvent* p = ev.mutable_tcp_stream();
    p->set_flow_id(s.flow_id);
    tcp_flow_figures(s, slot, self_.ip, finished_ns_, 0, p->mutable_stream(), p->mutable_echo());
    p->clear_echo();  // a capture does not say what the probe checked of the echo
    emit(ev);
  }
}

uint32_t ProbeControl::remove_targets(const std::vector<std::string>& names) {
  // The TCP flows of the targets end first: a FIN, then their figures.
  std::vector<uint32_t> tcp_ids;
  for (uint32_t index : registry_.find(names)) {
    for (uint32_t id : registry_.target(index).flow_ids) {
      if (tcp_stream(id)) tcp_ids.push_back(id);
    }
  }
  if (running_) {
    stop_tcp_flows(tcp_ids);
    emit_tcp_figures(tcp_ids);
  }
  std::vector<uint32_t> freed;
  std::vector<uint32_t> ips;
  const uint32_t removed = registry_.remove(names, &freed, &ips);
  for (uint32_t id : freed) {
    // (The registry forgot the flow: its kind is told by what the control thread kept.)
    const bool stream = tcp_slot(id) != kNoTcpSlot && !syn_flows_.count(id);
    if (!stream && running_) link_.remove_flow(id);
    if (tcp_slot(id) == kNoTcpSlot) continue;
    free_tcp_slots_.push_back(tcp_slot(id));
    tcp_slots_[id] = kNoTcpSlot;
    syn_flows_.erase(id);
  }
  for (uint32_t ip : ips) {
    if (registry_.targets_at(ip).empty()) neighbours_.forget(ip);
  }
  return removed;
}

void ProbeControl::add_flows_to_cores(const std::vector<uint32_t>& ids) {
  if (ids.empty()) return;
  for (uint32_t id : ids) {
    const FlowRegistry::Flow& f = *registry_.flow(id);
    RxCommand r;
    r.peer_ip = registry_.target(f.target).params.ip;
    if (tcp_slot(id) != kNoTcpSlot) {
      // Its segments go to the TX core, which runs the connection; a tcp-syn flow's replies
      // are matched by the RX core (kind says which).
      r.op = RxCommand::kAddTcpRoute;
      r.flow_id = id;
      r.kind = static_cast<uint8_t>(f.params.kind);
      r.tcp_slot = tcp_slot(id);
      r.peer_port = f.params.port;
      link_.send_rx(r);
      if (tcp_stream(id)) continue;
    }
    r.op = RxCommand::kAddFlow;
    r.flow_id = id;
    r.kind = static_cast<uint8_t>(f.params.kind);
    r.generation = generation_;
    r.interval_ns = f.params.interval_ns;
    r.reply_timeout_ns = reply_timeout(f.params);
    link_.send_rx(r);
  }
  // Frames the RX core took before the adds would otherwise race with the first replies.
  link_.barrier_rx();
  for (uint32_t id : ids) {
    const FlowRegistry::Flow& f = *registry_.flow(id);
    const FlowRegistry::Target& t = registry_.target(f.target);
    const Neighbour* n = neighbours_.find(t.params.ip);
    const bool resolved = n != nullptr && n->resolved;
    const uint16_t vlan = t.params.vlan ? t.params.vlan : o_.vlan;
    TxCommand c;
    c.flow_id = id;
    c.generation = generation_;
    c.resolved = resolved;
    c.tcp_slot = tcp_slot(id);
    if (tcp_stream(id)) {
      c.op = TxCommand::kAddTcpFlow;
      c.tcp.flow_id = id;
      c.tcp.generation = generation_;
      c.tcp.rate_bytes_per_s = f.params.rate_bytes_per_s;
      c.tcp.segment_bytes = base::tcp_segment_bytes(f.params);
      c.tcp.echo = f.params.echo;
      c.tcp.local_port = static_cast<uint16_t>(kTcpPortBase + c.tcp_slot);
      c.tcp.peer_port = f.params.port;
      TcpFrameAddress& a = c.tcp_address;
      a.src_mac = self_.mac;
      if (resolved) a.dst_mac = n->mac;
      a.vlan = vlan;
      a.src_ip = self_.ip;
      a.dst_ip = t.params.ip;
      a.src_port = c.tcp.local_port;
      a.dst_port = f.params.port;
      a.dscp = f.params.dscp;
      link_.send_tx(c);
      continue;
    }
    c.op = TxCommand::kAddFlow;
    c.interval_ns = f.params.interval_ns;
    const uint16_t src_port =
        c.tcp_slot != kNoTcpSlot ? static_cast<uint16_t>(kTcpPortBase + c.tcp_slot) : 0;
    build_probe_header(self_, resolved ? n->mac : an::MacAddress{}, vlan, t.params.ip, f.params, id,
                       &c.header, src_port);
    link_.send_tx(c);
  }
}

uint32_t ProbeControl::start() {
  if (running_) return generation_;
  ++generation_;
  running_ = true;
  run_started_ns_ = realtime_ns();
  add_flows_to_cores(registry_.used_flow_ids());
  return generation_;
}

void ProbeControl::stop() {
  if (!running_) return;
  // Stop TX, wait out the reply timeout (replies still count), then settle every flow with
  // the last probe it sent, so an outage still open at the end is reported.
  // TCP flows send their FIN meanwhile (their peers' last segments still count).
  const std::vector<uint32_t> ids = registry_.used_flow_ids();
  uint64_t longest = 0;
  for (uint32_t id : ids) {
    if (!tcp_stream(id)) link_.stop_tx_flow(id);
    longest = std::max(longest, reply_timeout(registry_.flow(id)->params));
  }
  stop_tcp_flows(ids);
  const uint64_t until = probe_now() + longest + 2'000'000;
  while (probe_now() < until) {
    poll_events();
    sleep_ms(1);
  }
  auto tx = std::make_unique<TxSnapshot>();
  tx->flows.resize(registry_.capacity());
  link_.snapshot_tx(tx.get());
  finished_ = false;
  link_.finish_rx(probe_now(), &tx->flows, [this] { return finished_; });
  emit_tcp_figures(ids);
  for (uint32_t id : ids) {
    if (!tcp_stream(id)) link_.remove_rx_flow(id);
    if (tcp_slot(id) == kNoTcpSlot) continue;
    RxCommand r;
    r.op = RxCommand::kRemoveTcpRoute;
    r.tcp_slot = tcp_slot(id);
    link_.send_rx(r);
  }
  running_ = false;
}

void ProbeControl::on_event(const RxEvent& e) {
  switch (e.kind) {
    case RxEvent::kGap:
      emit(gap_message(e.gap, registry_, neighbours_, time_offset_ns()));
      break;
    case RxEvent::kOutageInProgress:
      emit(outage_message(e.flow_id, e.ts_ns, e.since_tx_ns, registry_, time_offset_ns()));
      break;
    case RxEvent::kRarp:
      neighbours_.on_announce(an::Announce{e.ts_ns, true, e.sender_mac, 0, e.vlan});
      emit(announce_message(e, time_offset_ns()));
      break;
    case RxEvent::kArp: {
      const Neighbour* before = neighbours_.find(e.sender_ip);
      const an::MacAddress previous = before != nullptr ? before->mac : an::MacAddress{};
      const NeighbourChange change = neighbours_.on_arp(e.sender_ip, e.sender_mac, e.ts_ns);
      if (e.garp) {
        neighbours_.on_announce(an::Announce{e.ts_ns, false, e.sender_mac, e.sender_ip, e.vlan});
        emit(announce_message(e, time_offset_ns()));
      }
      if (change != NeighbourChange::kNone) {
        if (running_) point_flows_at(e.sender_ip, e.sender_mac);
        emit(neighbour_message(e, change == NeighbourChange::kMoved, previous, time_offset_ns()));
      }
      break;
    }
    case RxEvent::kFinished:
      finished_ = true;
      finished_ns_ = e.ts_ns;
      break;
  }
}

void ProbeControl::point_flows_at(uint32_t ip, const an::MacAddress& mac) {
  // The TX core keeps sending meanwhile: only the destination MAC of the flows changes.
  for (uint32_t index : registry_.targets_at(ip)) {
    for (uint32_t id : registry_.target(index).flow_ids) {
      TxCommand c;
      c.op = tcp_stream(id) ? TxCommand::kSetTcpDstMac : TxCommand::kSetDstMac;
      c.flow_id = id;
      c.tcp_slot = tcp_slot(id);
      c.mac = mac;
      link_.send_tx(c);
    }
  }
}

void ProbeControl::poll_events() {
  RxEvent e;
  while (rte_ring_sc_dequeue_elem(link_.events(), &e, sizeof(e)) == 0) on_event(e);
  poll_tcp_events();
}

void ProbeControl::poll_tcp_events() {
  if (link_.tcp_events() == nullptr) return;
  TcpFlowEvent e;
  while (rte_ring_sc_dequeue_elem(link_.tcp_events(), &e, sizeof(e)) == 0) {
    emit(tcp_connection_message(e, registry_, time_offset_ns()));
  }
}

void ProbeControl::refresh_clock() {
  const ClockSample sample = take_clock_sample();
  last_refresh_ = clock_.refresh(sample);
  last_refresh_real_ns_ = sample.real_ns;
  link_.set_clock(clock_.calibration());
  if (last_refresh_.realtime_step_ns != 0 && !o_.quiet) {
    std::fprintf(stderr,
                 "migprobe-dp: CLOCK_REALTIME stepped by %+.6f s (settimeofday?): events carry "
                 "it from now on, the gaps under way are measured without it\n",
                 static_cast<double>(last_refresh_.realtime_step_ns) / 1e9);
  }
  v1::Event ev;
  fill_clock(ev.mutable_clock());
  emit(ev);
}

void ProbeControl::fill_clock(v1::ClockCalibration* p) const {
  const TscCalibration& c = clock_.calibration();
  p->set_taken_ns(last_refresh_real_ns_);
  p->set_tsc_hz(clock_.tsc_hz());
  p->set_drift_ns(last_refresh_.offset_ns);
  p->set_uncertainty_ns(c.uncertainty_ns);
  p->set_rate_source(clock_.rate_source());
  p->set_eal_tsc_hz(clock_.eal_hz());
  p->set_slew_ppm(last_refresh_.slew_ppm);
  p->set_realtime_step_total_ns(clock_.realtime_offset_ns());
  p->set_realtime_step_ns(last_refresh_.realtime_step_ns);
  p->set_refresh(clock_.refreshes());
}

void ProbeControl::tick(uint64_t now) {
  std::vector<uint32_t> due;
  neighbours_.due_requests(now, &due);
  for (uint32_t ip : due) {
    TxCommand c;
    c.op = TxCommand::kSendFrame;
    const an::MacAddress bcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint16_t vlan = o_.vlan;
    for (uint32_t index : registry_.targets_at(ip)) {
      if (registry_.target(index).params.vlan != 0) vlan = registry_.target(index).params.vlan;
    }
    c.header.frame_len = build_arp(c.header.bytes, kArpRequest, bcast, self_.mac, self_.ip,
                                   an::MacAddress{}, ip, vlan);
    link_.send_tx(c);
  }
  if (monotonic_ns() >= clock_.refresh_due_mono_ns()) refresh_clock();
}

void ProbeControl::snapshot(TxSnapshot* tx, RxSnapshot* rx, bool per_flow) {
  // Without per-flow figures the cores copy their totals only: a watchdog's poll must not
  // stall the RX core over every flow slot (milliseconds with 100,000 flows).
  if (per_flow) {
    tx->flows.resize(registry_.capacity());
    rx->flows.resize(registry_.capacity());
    tx->tcp.resize(o_.max_tcp_flows);
  }
  link_.snapshot(tx, rx);
}

void ProbeControl::stats(bool per_flow, v1::Stats* out) {
  auto tx = std::make_unique<TxSnapshot>();
  auto rx = std::make_unique<RxSnapshot>();
  snapshot(tx.get(), rx.get(), per_flow);
  out->set_taken_ns(realtime_ns());
  out->set_running(running_);
  out->set_generation(generation_);
  out->set_run_started_ns(run_started_ns_);
  out->set_process_started_ns(process_started_ns_);
  out->set_pid(static_cast<uint32_t>(getpid()));
  out->set_outage_threshold_ns(o_.outage_threshold_ns);
  rte_eth_stats ps{};
  rte_eth_stats_get(port_.port_id, &ps);
  v1::PortStats* p = out->mutable_port();
  p->set_name(port_.name);
  p->set_rx_packets(ps.ipackets);
  p->set_tx_packets(ps.opackets);
  p->set_rx_missed(ps.imissed);
  p->set_rx_errors(ps.ierrors);
  p->set_tx_errors(ps.oerrors);
  p->set_rx_nombuf(ps.rx_nombuf);
  fill_clock(out->mutable_clock());
  export_counters(*tx, *rx, registry_, capture_ != nullptr ? &capture_->counters() : nullptr,
                  publisher_.counters(), out);
  // TCP flows: their connection's figures so far.
  const uint64_t now = probe_now();
  for (v1::FlowStats& f : *out->mutable_flows()) {
    const uint32_t slot = tcp_slot(f.flow_id());
    if (!tcp_stream(f.flow_id()) || slot >= tx->tcp.size() || !tx->tcp[slot].used) continue;
    tcp_flow_figures(tx->tcp[slot], slot, self_.ip, now, time_offset_ns(), f.mutable_tcp(),
                     f.mutable_tcp_echo());
  }
}

void ProbeControl::write_stats_file() {
  v1::Stats s;
  stats(true, &s);
  if (!o_.stats_path.empty()) {
    if (base::Status ok = write_stats_json(s, o_.stats_path); !ok) {
      std::fprintf(stderr, "migprobe-dp: %s\n", ok.error().message.c_str());
    }
  }
  if (!o_.quiet) std::fprintf(stderr, "migprobe-dp: %s\n", stats_summary(s).c_str());
}

void ProbeControl::shutdown() {
  if (running_) {
    stop();
  } else if (o_.replay) {
    finished_ = false;
    link_.finish_rx(0, nullptr, [this] { return finished_; });
    emit_replayed_tcp_figures();
  }
  poll_events();
  write_stats_file();
  publisher_.close_all();
}

void ProbeControl::run(volatile int* stop_signal) {
  const uint64_t t0 = probe_now();
  {
    v1::Event ev;  // the start calibration: the rate and where it came from
    fill_clock(ev.mutable_clock());
    emit(ev);
  }
  if (!o_.targets.empty()) {
    if (base::Status ok = configure(o_.targets, false, nullptr); !ok) {
      std::fprintf(stderr, "migprobe-dp: %s\n", ok.error().message.c_str());
    }
    if (o_.autostart) start();
  }
  last_rx_change_ns_ = t0;
  uint64_t next_idle_check = t0;
  while (*stop_signal == 0) {
    run_tasks();
    poll_events();
    const uint64_t now = probe_now();
    tick(now);
    if (o_.duration_ns != 0 && now - t0 >= o_.duration_ns) break;
    if (o_.exit_after_idle_ns != 0 && now >= next_idle_check) {
      next_idle_check = now + 20'000'000;
      rte_eth_stats ps{};
      rte_eth_stats_get(port_.port_id, &ps);
      if (ps.ipackets != last_rx_packets_) {
        last_rx_packets_ = ps.ipackets;
        last_rx_change_ns_ = now;
      } else if (now - last_rx_change_ns_ >= o_.exit_after_idle_ns) {
        break;
      }
    }
    sleep_ms(1);
  }
  run_tasks();
  shutdown();
  {
    // From now on a call is refused rather than left waiting; those queued meanwhile
    // (during the shutdown) are answered here.
    std::lock_guard<std::mutex> l(tasks_mu_);
    taking_tasks_ = false;
  }
  run_tasks();
}

}  // namespace migprobe::dataplane
