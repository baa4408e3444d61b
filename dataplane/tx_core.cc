// The TX core: per-flow pacing by absolute TSC deadlines, probe building, bursts of 32.
// Hot path: no allocation, no logging, no locks. Commands arrive on an SPSC ring checked
// with one cheap emptiness test per loop.

#include <pthread.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sched.h>
#include <sys/prctl.h>

#include <ctime>
#include <memory>
#include <vector>

#include "dataplane/dp_messages.h"
#include "dataplane/lcore_cores.h"
#include "dataplane/pacing.h"

namespace migprobe::dataplane {
namespace {

constexpr unsigned kBurst = 32;
// Sleep only when the next deadline is further than this, and wake this early to spin the
// rest: the probe leaves at its deadline to within the spin loop's resolution.
constexpr uint64_t kSleepMinNs = 150'000;
constexpr uint64_t kWakeEarlyNs = 80'000;
constexpr uint64_t kMaxSleepNs = 2'000'000;
constexpr int kTxRetries = 256;

// One flow, as the TX core holds it.
struct alignas(64) TxFlow {
  ProbeHeader header;
  FlowPace pace;
  uint32_t seq = 0;
  uint32_t epoch = 0;
  uint8_t generation = 0;
  bool active = false;
  bool resolved = false;
  TxFlowStats stats;
};

class alignas(64) TxCore {
 public:
  explicit TxCore(const TxCoreSetup& s) : s_(s), flows_(s.max_flows) { heap_.reserve(s.max_flows); }

  template <bool kCapture>
  void run();

 private:
  void process_commands();
  void send_frames();
  void handle(const TxCommand& c);
  template <bool kCapture>
  void transmit(rte_mbuf** pkts, uint16_t n);
  void idle(uint64_t now);

  TxCoreSetup s_;
  std::vector<TxFlow> flows_;
  DeadlineHeap heap_;
  TxCounters counters_;
  bool quit_ = false;
  rte_mbuf* stash_[kBurst] = {};
  unsigned stashed_ = 0;
};

void TxCore::handle(const TxCommand& c) {
  switch (c.op) {
    case TxCommand::kAddFlow: {
      if (c.flow_id >= flows_.size()) return;
      TxFlow& f = flows_[c.flow_id];
      const uint32_t epoch = f.epoch + 1;
      f = TxFlow{};
      f.epoch = epoch;
      f.header = c.header;
      f.generation = c.generation;
      f.resolved = c.resolved;
      f.active = true;
      // Spread the first deadlines of flows added together over one interval.
      const uint64_t now = rte_rdtsc();
      const uint64_t offset = s_.clock.ticks(c.interval_ns) * (c.flow_id % 64) / 64;
      f.pace.init(c.interval_ns, s_.clock.hz, now + offset);
      heap_.push({f.pace.deadline, c.flow_id, f.epoch});
      break;
    }
    case TxCommand::kRemoveFlow:
      if (c.flow_id < flows_.size()) {
        flows_[c.flow_id].active = false;
        ++flows_[c.flow_id].epoch;  // its heap entry is dropped when it comes up
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
      s_.clock = c.clock;
      break;
    case TxCommand::kSnapshot: {
      TxSnapshot* snap = c.snapshot;
      snap->totals = counters_;
      const size_t n = std::min(snap->flows.size(), flows_.size());
      for (size_t i = 0; i < n; ++i) {
        snap->flows[i] = flows_[i].stats;
        snap->flows[i].next_seq = flows_[i].seq;
      }
      snap->done.store(true, std::memory_order_release);
      break;
    }
    case TxCommand::kQuit:
      quit_ = true;
      break;
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
  if (!heap_.empty()) {
    const uint64_t until = heap_.top().deadline > now ? heap_.top().deadline - now : 0;
    const uint64_t ns =
        static_cast<uint64_t>(static_cast<u128>(until) * 1'000'000'000U / s_.clock.hz);
    if (ns < kSleepMinNs) return;
    wait_ns = std::min(ns - kWakeEarlyNs, kMaxSleepNs);
  }
  timespec ts{0, static_cast<long>(wait_ns)};
  nanosleep(&ts, nullptr);
  ++counters_.sleeps;
}

template <bool kCapture>
void TxCore::run() {
  rte_mbuf* pkts[kBurst];
  while (!quit_) {
    if (unlikely(!rte_ring_empty(s_.commands))) process_commands();
    if (unlikely(!rte_ring_empty(s_.frames))) send_frames();
    const uint64_t now = rte_rdtsc();
    if (heap_.empty() || heap_.top().deadline > now) {
      idle(now);
      continue;
    }
    const uint64_t tx_ns = s_.clock.to_ns(now);
    uint16_t n = 0;
    while (n < kBurst && !heap_.empty() && heap_.top().deadline <= now) {
      const DeadlineHeap::Entry e = heap_.top();
      TxFlow& f = flows_[e.flow];
      if (unlikely(f.epoch != e.epoch)) {
        heap_.pop();
        continue;
      }
      const uint64_t skipped = f.pace.skip_missed(now);
      f.stats.skipped += skipped;
      counters_.skipped_slots += skipped;
      if (likely(f.resolved)) {
        if (unlikely(stashed_ == 0)) {
          if (rte_pktmbuf_alloc_bulk(s_.pool, stash_, kBurst) == 0) stashed_ = kBurst;
        }
        if (likely(stashed_ != 0)) {
          rte_mbuf* m = stash_[--stashed_];
          const uint16_t len = f.header.frame_len;
          uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
          m->data_len = len;
          m->pkt_len = len;
          write_probe(f.header, frame, f.generation, e.flow, f.seq, tx_ns);
          if constexpr (kCapture) *static_cast<uint64_t*>(rte_mbuf_to_priv(m)) = tx_ns;
          if (unlikely(f.stats.sent == 0)) f.stats.first_tx_ns = tx_ns;
          f.stats.last_tx_ns = tx_ns;
          ++f.stats.sent;
          ++f.seq;
          counters_.bytes_sent += len;
          pkts[n++] = m;
        } else {
          ++counters_.no_mbuf;
        }
      } else {
        ++f.stats.unresolved;
        ++counters_.unresolved_slots;
      }
      f.pace.advance();
      heap_.replace_top({f.pace.deadline, e.flow, e.epoch});
    }
    if (n != 0) {
      counters_.probes_sent += n;
      transmit<kCapture>(pkts, n);
    }
  }
  if (stashed_ != 0) rte_pktmbuf_free_bulk(stash_, stashed_);
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
