// The TX core: per-flow pacing by absolute TSC deadlines kept in a timer wheel, probes
// built in bursts of 32 from each flow's frame template.
// Hot path: no allocation, no logging, no locks. Commands arrive on an SPSC ring checked
// with one cheap emptiness test per loop.

#include <pthread.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sched.h>
#include <sys/prctl.h>

#include <ctime>
#include <memory>
#include <vector>

#include "dataplane/deadline_wheel.h"
#include "dataplane/dp_messages.h"
#include "dataplane/flow_array.h"
#include "dataplane/lcore_cores.h"
#include "dataplane/pacing.h"
#include "dataplane/tcp_flows.h"

namespace migprobe::dataplane {
namespace {

constexpr unsigned kBurst = 32;
// Sleep only when the next deadline is further than this, and wake this early to spin the
// rest: the probe leaves at its deadline to within the spin loop's resolution.
constexpr uint64_t kSleepMinNs = 150'000;
constexpr uint64_t kWakeEarlyNs = 80'000;
// The TCP flows' received segments wait on their ring for the core to wake, this long at
// most: what the flows measure does not move (the RX core stamped the segments), only
// their answers leave later, by less than a delayed ACK. A shorter cap with TCP flows
// running (200 us, before) cost the 2-core lab a fifth of a core in wake-ups, which its
// emulated guests paid for with seconds of downtime.
constexpr uint64_t kMaxSleepNs = 2'000'000;
// Within this of the next deadline the core sleeps in slices of kSliceNs. Under a
// hypervisor a vCPU that halts for long is descheduled by the host and one long sleep
// comes back late by a millisecond or more on a few percent of wake-ups (2.5% of 900 us
// sleeps on the lab VM, worst 9 ms); slices short enough for the host's halt polling keep
// it on time (0.2-0.3%) for about a tenth of a core. Further away, one sleep
// takes the core to the edge of this zone, so a late wake-up there costs nothing.
constexpr uint64_t kNearNs = 1'000'000;
constexpr uint64_t kSliceNs = 100'000;
constexpr int kTxRetries = 256;
// A probe this late after its deadline is counted (late_sends): the probe's own timing error.
constexpr uint64_t kLateNs = 100'000;
// A rate measured this much (ppm) away from the one the flows are paced with paces them
// again; below it an interval is off by less than 10 ns a millisecond.
constexpr uint64_t kRepaceAbovePpm = 10;

// One flow, as the TX core holds it: what every probe reads and writes, in two cache
// lines (the frame template first).
struct alignas(64) TxFlow {
  ProbeHeader header;
  FlowPace pace;
  uint64_t last_tx_ns = 0;
  uint32_t seq = 0;  // next to send; also the number sent since the flow was added
  uint8_t generation = 0;
  bool active = false;
  bool resolved = false;
};
static_assert(sizeof(TxFlow) == 128, "a TX flow is two cache lines");

// What a flow's probes rarely touch: counted only when a slot is not sent.
struct TxFlowCold {
  uint64_t interval_ns = 0;
  uint64_t skipped = 0;
  uint64_t unresolved = 0;
  uint64_t first_tx_ns = 0;
  uint32_t syn_slot = 0;  // a tcp-syn flow's TCP slot (its send log)
};

class alignas(64) TxCore final : public TcpTransmit {
 public:
  explicit TxCore(const TxCoreSetup& s)
      : s_(s),
        flows_(s.max_flows),
        cold_(s.max_flows),
        wheel_(s.max_flows + s.tcp_slots, rte_rdtsc()),
        late_ticks_(s.clock.ticks(kLateNs)),
        tcp_(s.tcp_slots, s.max_flows, s.pool, s.tcp_events, s.capture, &s_.clock, &wheel_,
             &counters_, this) {}

  // TcpTransmit: the TCP flows' segments leave with the probes, captured alike.
  void transmit_tcp(rte_mbuf** pkts, uint16_t n) override {
    if (s_.capture != nullptr) {
      transmit<true>(pkts, n);
    } else {
      transmit<false>(pkts, n);
    }
  }

  template <bool kCapture>
  void run();

 private:
  void process_commands();
  void send_frames();
  void handle(const TxCommand& c);
  // Builds the probes of up to kBurst due flows into pkts; returns how many.
  template <bool kCapture>
  uint16_t build_burst(uint64_t now, rte_mbuf** pkts);
  template <bool kCapture>
  void transmit(rte_mbuf** pkts, uint16_t n);
  void idle(uint64_t now);
  // A new piece of the clock's mapping; the flows are paced again when the measured rate
  // moved (the start rate was off): a rare walk over the flows, never on a quiet refresh.
  void set_clock(const TscCalibration& clock);
  void note_late(uint64_t late_ticks) {
    ++counters_.late_sends;
    counters_.max_late_ns = std::max(counters_.max_late_ns, s_.clock.span_ns(late_ticks));
  }

  TxCoreSetup s_;
  FlowArray<TxFlow> flows_;
  FlowArray<TxFlowCold> cold_;
  DeadlineWheel wheel_;
  const uint64_t late_ticks_;
  TxCounters counters_;
  TcpFlows tcp_;
  bool quit_ = false;
};

void TxCore::handle(const TxCommand& c) {
  switch (c.op) {
    case TxCommand::kAddFlow: {
      if (c.flow_id >= flows_.size()) return;
      TxFlow& f = flows_[c.flow_id];
      f = TxFlow{};
      cold_[c.flow_id] = TxFlowCold{};
      f.header = c.header;
      f.generation = c.generation;
      f.resolved = c.resolved;
      f.active = true;
      // Spread the first deadlines of flows added together over one interval.
      const uint64_t now = rte_rdtsc();
      const uint64_t offset = s_.clock.ticks(c.interval_ns) * (c.flow_id % 64) / 64;
      f.pace.init(c.interval_ns, s_.clock.hz, now + offset);
      cold_[c.flow_id].interval_ns = c.interval_ns;
      cold_[c.flow_id].syn_slot = c.tcp_slot;
      if (c.header.kind == static_cast<uint8_t>(ProbeKind::kTcpSyn) && s_.syn_log == nullptr) {
        f.active = false;  // no send log to answer from (a harness without one)
        return;
      }
      wheel_.schedule(c.flow_id, f.pace.deadline);
      break;
    }
    case TxCommand::kRemoveFlow:
      if (c.flow_id < flows_.size()) {
        flows_[c.flow_id].active = false;
        wheel_.cancel(c.flow_id);
      }
      break;
    case TxCommand::kSetDstMac:
      if (c.flow_id < flows_.size()) {
        set_probe_dst_mac(&flows_[c.flow_id].header, c.mac);
        flows_[c.flow_id].resolved = true;
      }
      break;
    case TxCommand::kSendFrame: {
      rte_mbuf* m = rte_pktmbuf_alloc(s_.pool);
      if (m == nullptr) {
        ++counters_.no_mbuf;
        return;
      }
      char* p = rte_pktmbuf_append(m, c.header.frame_len);
      rte_memcpy(p, c.header.bytes, c.header.frame_len);
      if (rte_eth_tx_burst(s_.port, s_.queue, &m, 1) == 1) {
        ++counters_.control_frames;
      } else {
        rte_pktmbuf_free(m);
        ++counters_.port_full;
      }
      break;
    }
    case TxCommand::kSetClock:
      set_clock(c.clock);
      break;
    case TxCommand::kSnapshot: {
      TxSnapshot* snap = c.snapshot;
      snap->totals = counters_;
      const size_t n = std::min(snap->flows.size(), flows_.size());
      for (size_t i = 0; i < n; ++i) {
        TxFlowStats& st = snap->flows[i];
        st.sent = flows_[i].seq;
        st.next_seq = flows_[i].seq;
        st.last_tx_ns = flows_[i].last_tx_ns;
        st.skipped = cold_[i].skipped;
        st.unresolved = cold_[i].unresolved;
        st.first_tx_ns = cold_[i].first_tx_ns;
      }
      tcp_.snapshot(&snap->tcp);
      snap->done.store(true, std::memory_order_release);
      break;
    }
    case TxCommand::kQuit:
      quit_ = true;
      break;
    case TxCommand::kAddTcpFlow:
    case TxCommand::kSetTcpDstMac:
    case TxCommand::kStopTcpFlow:
      tcp_.handle(c, rte_rdtsc());
      break;
  }
}

void TxCore::set_clock(const TscCalibration& clock) {
  const uint64_t old_hz = s_.clock.hz;
  s_.clock = clock;
  const uint64_t moved = clock.hz > old_hz ? clock.hz - old_hz : old_hz - clock.hz;
  if (moved * 1'000'000 < old_hz * kRepaceAbovePpm) return;
  for (uint32_t id = 0; id < flows_.size(); ++id) {
    if (flows_[id].active) flows_[id].pace.set_rate(cold_[id].interval_ns, clock.hz);
  }
}

void TxCore::process_commands() {
  TxCommand c;
  while (rte_ring_sc_dequeue_elem(s_.commands, &c, sizeof(c)) == 0) handle(c);
}

void TxCore::send_frames() {
  TxCommand c;
  while (rte_ring_sc_dequeue_elem(s_.frames, &c, sizeof(c)) == 0) handle(c);
}

template <bool kCapture>
void TxCore::transmit(rte_mbuf** pkts, uint16_t n) {
  if constexpr (kCapture) {
    for (uint16_t i = 0; i < n; ++i) rte_mbuf_refcnt_update(pkts[i], 1);
  }
  uint16_t sent = 0;
  for (int tries = 0; sent < n && tries < kTxRetries; ++tries) {
    sent = static_cast<uint16_t>(sent + rte_eth_tx_burst(s_.port, s_.queue, pkts + sent, n - sent));
  }
  if (unlikely(sent < n)) {
    counters_.port_full += n - sent;
    for (uint16_t i = sent; i < n; ++i) rte_pktmbuf_free(pkts[i]);
  }
  if constexpr (kCapture) {
    // The capture keeps what was handed to the port; drops are counted, never waited for.
    const unsigned q =
        rte_ring_sp_enqueue_burst(s_.capture, reinterpret_cast<void**>(pkts), n, nullptr);
    if (unlikely(q < n)) {
      counters_.capture_overflow += n - q;
      for (uint16_t i = static_cast<uint16_t>(q); i < n; ++i) rte_pktmbuf_free(pkts[i]);
    }
  }
}

void TxCore::idle(uint64_t now) {
  if (!s_.idle_sleep) return;
  uint64_t wait_ns = kMaxSleepNs;
  const uint64_t next = wheel_.next_due_lower_bound();
  if (next != UINT64_MAX) {
    const uint64_t until = next > now ? next - now : 0;
    const uint64_t ns = s_.clock.span_ns(until);
    if (ns < kSleepMinNs) return;
    wait_ns = ns > kNearNs + kSliceNs ? std::min(ns - kNearNs, wait_ns)
                                      : std::min(ns - kWakeEarlyNs, kSliceNs);
  }
  timespec ts{0, static_cast<long>(wait_ns)};
  nanosleep(&ts, nullptr);
  ++counters_.sleeps;
}

template <bool kCapture>
uint16_t TxCore::build_burst(uint64_t now, rte_mbuf** pkts) {
  uint32_t due[kBurst];
  const unsigned n_due = wheel_.pop_due(now, due, kBurst);
  if (n_due == 0) return 0;
  for (unsigned i = 0; i < n_due; ++i) {
    if (unlikely(due[i] >= s_.max_flows)) continue;
    rte_prefetch0(&flows_[due[i]]);
    rte_prefetch0(reinterpret_cast<const char*>(&flows_[due[i]]) + RTE_CACHE_LINE_SIZE);
  }
  // One bulk allocation per burst; the rare slots not sent give theirs back below.
  const bool have_mbufs = rte_pktmbuf_alloc_bulk(s_.pool, pkts, n_due) == 0;
  const uint64_t tx_ns = s_.clock.to_ns(now);
  uint16_t n = 0;
  for (unsigned i = 0; i < n_due; ++i) {
    const uint32_t id = due[i];
    if (unlikely(id >= s_.max_flows)) {
      tcp_.on_due(id, now);  // a TCP flow's timer: its segments go out with tcp_.flush()
      continue;
    }
    TxFlow& f = flows_[id];
    // The probe's own timing error: a late probe widens the gap it bounds by as much.
    const uint64_t late = now - f.pace.deadline;
    if (unlikely(late >= late_ticks_)) note_late(late);
    const uint64_t skipped = f.pace.skip_missed(now);
    if (unlikely(skipped != 0)) {
      cold_[id].skipped += skipped;
      counters_.skipped_slots += skipped;
    }
    if (likely(f.resolved && have_mbufs)) {
      rte_mbuf* m = pkts[n++];
      const uint16_t len = f.header.frame_len;
      m->data_len = len;
      m->pkt_len = len;
      if (likely(f.header.kind != static_cast<uint8_t>(ProbeKind::kTcpSyn))) {
        write_probe(f.header, rte_pktmbuf_mtod(m, uint8_t*), f.generation, id, f.seq, tx_ns);
      } else {
        // A SYN: its sequence carries the probe's, its send time waits for the reply here.
        write_syn_probe(f.header, rte_pktmbuf_mtod(m, uint8_t*),
                        analysis::syn_isn(id, f.generation, f.seq));
        s_.syn_log[cold_[id].syn_slot].put(f.seq, tx_ns);
      }
      if constexpr (kCapture) *static_cast<uint64_t*>(rte_mbuf_to_priv(m)) = tx_ns;
      if (unlikely(f.seq == 0)) cold_[id].first_tx_ns = tx_ns;
      f.last_tx_ns = tx_ns;
      ++f.seq;
      counters_.bytes_sent += len;
    } else if (!f.resolved) {
      ++cold_[id].unresolved;
      ++counters_.unresolved_slots;
    } else {
      ++counters_.no_mbuf;
    }
    f.pace.advance();
    wheel_.schedule(id, f.pace.deadline);
  }
  if (have_mbufs && n < n_due) rte_pktmbuf_free_bulk(pkts + n, n_due - n);
  return n;
}

template <bool kCapture>
void TxCore::run() {
  rte_mbuf* pkts[kBurst];
  while (!quit_) {
    if (unlikely(!rte_ring_empty(s_.commands))) process_commands();
    if (unlikely(!rte_ring_empty(s_.frames))) send_frames();
    if (s_.tcp_segments != nullptr && unlikely(!rte_ring_empty(s_.tcp_segments))) {
      tcp_.receive(s_.tcp_segments, rte_rdtsc());
    }
    const uint64_t now = rte_rdtsc();
    const uint16_t n = build_burst<kCapture>(now, pkts);
    tcp_.flush();
    if (n == 0) {
      idle(now);
      continue;
    }
    counters_.probes_sent += n;
    transmit<kCapture>(pkts, n);
  }
}

}  // namespace

void prepare_fast_path_thread(int realtime_priority) {
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  if (realtime_priority <= 0) return;
  sched_param sp{};
  sp.sched_priority = realtime_priority;
  pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

int tx_core_main(void* arg) {
  return run_fast_path_core<TxCore, TxCoreSetup>(arg);
}

}  // namespace migprobe::dataplane
