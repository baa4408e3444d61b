// TCP flows beside the ICMP/UDP flows (issue 12, "TCP stream continuity"): a benchmark, not a
// test (CTest does not run it).
//
// What it measures, all in one process and one run:
//  - The real TX and RX cores (dataplane/tx_core.cc, rx_core.cc) on a net_ring port
//    (tests/dataplane/core_harness.h, compiled in), with N ICMP/UDP flows (default 1,000 at
//    1 ms: 1 M probes/s offered, half ICMP echo, half UDP) answered by a fast in-process peer
//    that turns each frame around in its own mbuf (the echo reply a guest's kernel gives; the
//    reply migprobe-reflector gives, through reflector::Reflection).
//  - The same plus T TCP flows (default 1,000, 1000-byte segments, discard mode) at a per-flow
//    rate R, whose peer is a minimal discard stack in the same thread: SYN -> SYN-ACK (MSS 1460,
//    window scale 7, timestamps), each data segment ACKed cumulatively with a fixed 1 MiB
//    window (data past a hole kept, as a stack's out-of-order queue; no SACK: the probe's
//    endpoint does not offer it).
//  - For each R in the list (default 1k, 10k, 100k, 1M bytes/s per flow), ROUNDS rounds of one
//    run without TCP and one with (the order alternates by round): ICMP/UDP probes sent (TX
//    core) and replies matched (RX core) per wall second and per CPU-second of the core's
//    thread, the RX core's replies per busy second (its busy_cycles counter), the CPU each
//    thread took, and the TCP segments and bytes sent and acknowledged per second (TX
//    snapshots: totals and each flow's TcpMeter). Medians, the with/without ratios (of the
//    medians and paired within rounds), and whether ICMP/UDP TX and RX stay within 10%.
//  - Memory per TCP connection: sizeof(TcpEndpoint), the slot table's mapping (FlowArray
//    rounds to 2 MiB), and the resident memory of rigs with 16,384 TCP slots against 1,024.
// The machine's CPUs are shared: the TX core runs alone on one CPU; the RX core, the peer and
// the control thread share the other (as core_harness.cc places the lcores). The peer's cost
// is in the figures: it takes its CPU from the RX core's (it answers in batches, napping
// --peer-nap-us when its ring is drained), and the output says where the two approach a whole
// CPU. A run is DISTURBED when the TX core, which spins at these rates, had less than 0.9 of a
// CPU (other processes on the guest), or a CPU was gone for more than 3% of the time (a
// sleeper per CPU wakes late: the host took the vCPU, which the guest's CPU accounting does
// not show). A disturbed round is printed, left out of the medians and run again (--retries
// more rounds per rate at most); a rate with no clean round is marked unreliable.
//
// The peer frees no mbuf while it runs (see Peer): a preempted non-EAL thread in the pool's
// ring would stall the cores, which is a hazard of the machine's layout, not a cost of TCP.
//
// usage: migprobe-tcp-bench [--rounds N] [--retries N] [--seconds S] [--warmup S]
//                           [--rates 1k,10k,100k,1M] [--flows N] [--interval-us U]
//                           [--tcp-flows T] [--segment-bytes B] [--peer-nap-us U] [--no-memory]
//   e.g. build-helper/bench/migprobe-tcp-bench          (about 2 minutes on a quiet machine)
//        build-helper/bench/migprobe-tcp-bench --rounds 5 --rates 50k,100k,200k --no-memory
// No root: the EAL runs with --no-huge, no PCI, no shared files. Run it on a quiet machine:
// other work on the two CPUs makes rounds DISTURBED (they are retried, then reported as such).

#include <malloc.h>
#include <pthread.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "analysis/byte_order.h"
#include "analysis/packet.h"
#include "analysis/probe_trailer.h"
#include "analysis/sequence.h"
#include "analysis/tcp_meter.h"
#include "dataplane/probe_frame.h"
#include "dataplane/reflector/reflection.h"
#include "dataplane/tcp_endpoint.h"
#include "tests/dataplane/core_harness.h"

namespace migprobe::dataplane::cores_test {
namespace {

namespace an = migprobe::analysis;

struct Options {
  int rounds = 3;
  int retries = 2;  // extra rounds per rate when some were disturbed
  double seconds = 3.0;
  double warmup_s = 1.0;
  std::vector<uint64_t> rates = {1'000, 10'000, 100'000, 1'000'000};
  uint32_t flows = 1000;
  uint64_t interval_us = 1000;
  uint32_t tcp_flows = 1000;
  uint32_t segment_bytes = 1000;
  uint64_t peer_nap_us = 50;
  bool memory = true;
};

const Host kProbe{{0x02, 0, 0, 0, 0, 0x01}, 0x0a4d0001};  // 10.77.0.1
constexpr uint16_t kDiscardPort = 9;
// The peer's window: the field with its scale of 7, 1 MiB.
constexpr uint8_t kPeerWscale = 7;
constexpr uint16_t kPeerWindowField = 8192;
constexpr uint32_t kPeerIss = 7'000'000;
// Port rings the size of migprobe-dp's descriptor rings and more, so that a peer descheduled
// for a few milliseconds does not make the TX core drop (the pool follows: core_harness.cc).
constexpr unsigned kPortRing = 8192;

uint64_t wall_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t thread_cpu_ns(pthread_t t) {
  clockid_t id;
  timespec ts{};
  if (pthread_getcpuclockid(t, &id) != 0 || clock_gettime(id, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// "1k" -> 1000, "1M" -> 1000000, "2500" -> 2500.
bool parse_rate(const std::string& s, uint64_t* out) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || v <= 0) return false;
  double m = 1;
  if (*end == 'k' || *end == 'K') {
    m = 1e3;
    ++end;
  } else if (*end == 'M' || *end == 'm') {
    m = 1e6;
    ++end;
  }
  if (*end != '\0') return false;
  *out = static_cast<uint64_t>(v * m);
  return true;
}

std::string rate_text(double bytes_per_s) {
  char b[32];
  if (bytes_per_s >= 1e9) {
    std::snprintf(b, sizeof b, "%.3g GB/s", bytes_per_s / 1e9);
  } else if (bytes_per_s >= 1e6) {
    std::snprintf(b, sizeof b, "%.3g MB/s", bytes_per_s / 1e6);
  } else if (bytes_per_s >= 1e3) {
    std::snprintf(b, sizeof b, "%.3g kB/s", bytes_per_s / 1e3);
  } else {
    std::snprintf(b, sizeof b, "%.3g B/s", bytes_per_s);
  }
  return b;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The port's two rings, which CoreRig keeps to itself: found by the names it gives them
// (its port is the ethdev "net_ring_<id>", its rings "<id>_wire_tx" and "<id>_wire_rx"; one
// rig at a time here).
bool find_wire(rte_ring** from_probe, rte_ring** to_probe) {
  char name[RTE_ETH_NAME_MAX_LEN];
  const std::string prefix = "net_ring_";
  for (uint16_t pid = 0; pid < RTE_MAX_ETHPORTS; ++pid) {
    if (rte_eth_dev_is_valid_port(pid) == 0) continue;
    if (rte_eth_dev_get_name_by_port(pid, name) != 0) continue;
    const std::string n(name);
    if (n.rfind(prefix, 0) != 0) continue;
    const std::string id = n.substr(prefix.size());
    *from_probe = rte_ring_lookup((id + "_wire_tx").c_str());
    *to_probe = rte_ring_lookup((id + "_wire_rx").c_str());
    return *from_probe != nullptr && *to_probe != nullptr;
  }
  return false;
}

// The peer's counters (its thread writes, the control thread reads).
struct PeerCounters {
  std::atomic<uint64_t> icmp{0};
  std::atomic<uint64_t> udp{0};
  std::atomic<uint64_t> tcp_syns{0};
  std::atomic<uint64_t> tcp_data{0};
  std::atomic<uint64_t> tcp_out_of_order{0};
  std::atomic<uint64_t> tcp_pure_acks{0};
  std::atomic<uint64_t> other{0};
  std::atomic<uint64_t> wire_full{0};  // times the RX core's port ring was full (it waited)
};

// The VMs: every frame the TX core sends, answered in its own mbuf (no allocation, no copy
// of a whole frame) and put on the RX core's port. Runs on its own thread.
class Peer {
 public:
  Peer(rte_ring* from_probe, rte_ring* to_probe, uint32_t tcp_slots, uint64_t nap_ns)
      : from_(from_probe), to_(to_probe), nap_ns_(nap_ns), tcp_(tcp_slots) {
    held_.reserve(2 * tcp_slots + 1024);
  }

  void run(const std::atomic<bool>* stop) {
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    pthread_setname_np(pthread_self(), "bench-peer");
    void* in[64];
    rte_mbuf* out[64];
    while (!stop->load(std::memory_order_relaxed)) {
      if (free_now_.exchange(false, std::memory_order_relaxed)) free_held();
      const unsigned n = rte_ring_sc_dequeue_burst(from_, in, 64, nullptr);
      // The TX core wrote these on the other CPU: their lines come over from there, so all
      // headers first, and each frame one ahead of its turn.
      for (unsigned i = 0; i < n; ++i) rte_prefetch0(in[i]);
      if (n != 0) rte_prefetch0(rte_pktmbuf_mtod(static_cast<rte_mbuf*>(in[0]), void*));
      unsigned k = 0;
      for (unsigned i = 0; i < n; ++i) {
        rte_mbuf* m = static_cast<rte_mbuf*>(in[i]);
        if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(static_cast<rte_mbuf*>(in[i + 1]), void*));
        if (answer(m)) {
          out[k++] = m;
        } else {
          hold_for_free(m);
        }
      }
      // A full RX ring holds the peer up (its own ring then fills and the TX core drops, on
      // its CPU): the peer frees nothing while it runs (below).
      unsigned q = rte_ring_sp_enqueue_burst(to_, reinterpret_cast<void**>(out), k, nullptr);
      if (q < k) c.wire_full.fetch_add(1, std::memory_order_relaxed);
      while (q < k && !stop->load(std::memory_order_relaxed)) {
        timespec ts{0, static_cast<long>(nap_ns_)};
        nanosleep(&ts, nullptr);
        q += rte_ring_sp_enqueue_burst(to_, reinterpret_cast<void**>(out + q), k - q, nullptr);
      }
      if (q < k) hold_for_free(out + q, k - q);
      if (n < 64) {
        // Drained: a nap, so that the RX core on this CPU runs and the peer answers in
        // batches (a wake-up costs microseconds under a hypervisor; polling would take the
        // RX core's CPU).
        timespec ts{0, static_cast<long>(nap_ns_)};
        nanosleep(&ts, nullptr);
      }
    }
    free_held();
  }

  // Frees what it holds at its next turn, in one bulk put (the control thread asks after the
  // handshakes, before the window: the handshake's ACKs would otherwise hold a thousand
  // mbufs of the pool's slack through it).
  void free_held_now() { free_now_.store(true, std::memory_order_relaxed); }

  PeerCounters c;

 private:
  // The peer is no lcore and shares its CPU with the RX core: were it to free an mbuf (a
  // multi-producer enqueue on the pool's ring, no cache) and be preempted half-way, the RX and
  // TX cores' own frees would spin on the ring's tail until it ran again (DPDK's EAL guide,
  // "Known Issues": rte_ring's non-preemptive constraint), which the first version of this
  // bench hit. So what it does not answer (the handshake's ACKs, frames it cannot read) is
  // kept, and freed in bulk when asked (before the window) and when it stops.
  void hold_for_free(rte_mbuf* m) { held_.push_back(m); }
  void hold_for_free(rte_mbuf** m, unsigned n) { held_.insert(held_.end(), m, m + n); }
  void free_held() {
    if (held_.empty()) return;
    rte_pktmbuf_free_bulk(held_.data(), static_cast<unsigned>(held_.size()));
    held_.clear();
  }

  // What a receiving stack keeps of one connection: the next byte expected and, as Linux's
  // out-of-order queue does, the ranges received past a hole (a few; more are dropped), so
  // that one lost segment costs one retransmission, not all that followed it.
  struct TcpState {
    static constexpr uint32_t kRanges = 8;
    bool synced = false;
    uint32_t rcv_nxt = 0;
    uint32_t n_ranges = 0;
    uint32_t from[kRanges];
    uint32_t to[kRanges];

    // [a, b) arrived past rcv_nxt: merged with the ranges it touches.
    void hold(uint32_t a, uint32_t b) {
      for (uint32_t i = 0; i < n_ranges;) {
        if (!an::seq_after(from[i], b) && !an::seq_after(a, to[i])) {
          if (an::seq_after(a, from[i])) a = from[i];
          if (an::seq_after(to[i], b)) b = to[i];
          --n_ranges;
          from[i] = from[n_ranges];
          to[i] = to[n_ranges];
          continue;
        }
        ++i;
      }
      if (n_ranges < kRanges) {
        from[n_ranges] = a;
        to[n_ranges] = b;
        ++n_ranges;
      }
    }
    // [seq, end) arrived at or before rcv_nxt: rcv_nxt moves over it and what it joins.
    void take(uint32_t end) {
      if (an::seq_after(end, rcv_nxt)) rcv_nxt = end;
      for (uint32_t i = 0; i < n_ranges;) {
        if (!an::seq_after(from[i], rcv_nxt)) {
          if (an::seq_after(to[i], rcv_nxt)) rcv_nxt = to[i];
          --n_ranges;
          from[i] = from[n_ranges];
          to[i] = to[n_ranges];
          i = 0;
          continue;
        }
        ++i;
      }
    }
  };

  static void swap_bytes(uint8_t* a, uint8_t* b, size_t n) {
    uint8_t t[6];
    std::memcpy(t, a, n);
    std::memcpy(a, b, n);
    std::memcpy(b, t, n);
  }
  static void bump(std::atomic<uint64_t>& x) { x.fetch_add(1, std::memory_order_relaxed); }

  // Turns m into its answer; false when it gets none.
  bool answer(rte_mbuf* m) {
    uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
    // The TX core's frames here: untagged IPv4 with a 20-byte header.
    if (m->data_len < 42 || an::load_be16(f + 12) != 0x0800 || f[14] != 0x45) {
      bump(c.other);
      return false;
    }
    switch (f[14 + 9]) {
      case 1:
        return icmp(f);
      case 17:
        return udp(m, f);
      case 6:
        return tcp(m, f);
      default:
        bump(c.other);
        return false;
    }
  }

  // An echo request becomes its reply: addresses swapped (the IPv4 checksum does not move),
  // type 8 -> 0 with the ICMP checksum updated (RFC 1624).
  bool icmp(uint8_t* f) {
    uint8_t* ip = f + 14;
    uint8_t* l4 = ip + 20;
    if (l4[0] != 8) {
      bump(c.other);
      return false;
    }
    swap_bytes(f, f + 6, 6);
    swap_bytes(ip + 12, ip + 16, 4);
    l4[0] = 0;
    uint32_t sum = static_cast<uint16_t>(~an::load_be16(l4 + 2)) + static_cast<uint16_t>(~0x0800);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    an::store_be16(l4 + 2, static_cast<uint16_t>(~sum));
    bump(c.icmp);
    return true;
  }

  // A UDP probe becomes what migprobe-reflector answers (core_harness.cc udp_reply_to).
  bool udp(rte_mbuf* m, uint8_t* f) {
    uint8_t* ip = f + 14;
    uint8_t* l4 = ip + 20;
    const size_t len = an::load_be16(l4 + 4);
    if (len < 8 || 34 + len > m->data_len) {
      bump(c.other);
      return false;
    }
    reflector::FlowKey key;
    std::memcpy(key.addr.data(), ip + 12, 4);
    uint8_t reply[256];
    size_t reply_len = 0;
    if (len - 8 > sizeof reply - an::kReflectorCounterSize ||
        reflector_.reflect(key, l4 + 8, len - 8, reply, sizeof reply, &reply_len) !=
            reflector::Verdict::kReply) {
      bump(c.other);
      return false;
    }
    std::memcpy(l4 + 8, reply, reply_len);
    swap_bytes(f, f + 6, 6);
    swap_bytes(ip + 12, ip + 16, 4);
    swap_bytes(l4, l4 + 2, 2);
    const uint16_t udp_len = static_cast<uint16_t>(8 + reply_len);
    an::store_be16(l4 + 4, udp_len);
    an::store_be16(ip + 2, static_cast<uint16_t>(20 + udp_len));
    an::store_be16(ip + 10, 0);
    an::store_be16(ip + 10, an::checksum_fold(an::checksum_add(0, ip, 20)));
    an::store_be16(l4 + 6, 0);
    uint32_t s = an::checksum_add(0, ip + 12, 8) + 17 + udp_len;
    uint16_t sum = an::checksum_fold(an::checksum_add(s, l4, udp_len));
    an::store_be16(l4 + 6, sum == 0 ? 0xffff : sum);
    uint16_t frame = static_cast<uint16_t>(34 + udp_len);
    if (frame < 60) {
      std::memset(f + frame, 0, 60 - frame);
      frame = 60;
    }
    m->data_len = frame;
    m->pkt_len = frame;
    bump(c.udp);
    return true;
  }

  // A discard service: the SYN answered, each data segment acknowledged cumulatively.
  bool tcp(rte_mbuf* m, uint8_t* f) {
    an::ParsedPacket p;
    an::ParseOptions opt;
    opt.verify_checksums = false;  // the TX core's own frames
    if (an::parse_frame(opt, f, m->data_len, m->pkt_len, &p) != an::DropReason::kNone ||
        p.kind != an::PacketKind::kTcp) {
      bump(c.other);
      return false;
    }
    const uint32_t slot = tcp_slot_of_port(p.src_port);
    if (slot >= tcp_.size()) {
      bump(c.other);
      return false;
    }
    TcpState& s = tcp_[slot];
    TcpFrameAddress a;
    a.src_mac = p.dst_mac;
    a.dst_mac = p.src_mac;
    a.src_ip = an::load_be32(p.dst_ip.bytes.data());
    a.dst_ip = an::load_be32(p.src_ip.bytes.data());
    a.src_port = p.dst_port;
    a.dst_port = p.src_port;
    TcpTx t;
    t.has_ts = p.tcp_has_ts;
    t.ts_val = static_cast<uint32_t>(wall_ns() / 1'000'000);
    t.ts_ecr = p.tcp_ts_val;
    const bool fin = (p.tcp_flags & an::kTcpFin) != 0;
    if ((p.tcp_flags & an::kTcpRst) != 0) {
      s = TcpState{};
      bump(c.other);
      return false;
    }
    if ((p.tcp_flags & an::kTcpSyn) != 0) {
      s = TcpState{};
      s.synced = true;
      s.rcv_nxt = p.tcp_seq + 1;
      t.flags = an::kTcpSyn | an::kTcpAck;
      t.seq = kPeerIss;
      t.ack = s.rcv_nxt;
      t.window = 65535;
      t.syn_options = true;
      t.mss = 1460;
      t.wscale = kPeerWscale;
      bump(c.tcp_syns);
    } else if (p.tcp_len != 0 || fin) {
      if (!s.synced) {
        bump(c.other);
        return false;
      }
      const uint32_t end = p.tcp_seq + p.tcp_len + (fin ? 1 : 0);
      if (an::seq_after(p.tcp_seq, s.rcv_nxt)) {
        bump(c.tcp_out_of_order);  // a hole before it: kept; the duplicate ACK says where
        s.hold(p.tcp_seq, end);
      } else {
        s.take(end);
      }
      t.flags = an::kTcpAck;
      t.seq = kPeerIss + 1;
      t.ack = s.rcv_nxt;
      t.window = kPeerWindowField;
      bump(c.tcp_data);
    } else {
      bump(c.tcp_pure_acks);  // the handshake's ACK: nothing to answer
      return false;
    }
    static const TcpEndpoint kNoPayload;
    const uint16_t len = build_tcp_frame(a, t, kNoPayload, f);
    m->data_len = len;
    m->pkt_len = len;
    return true;
  }

  rte_ring* from_;
  rte_ring* to_;
  uint64_t nap_ns_;
  std::vector<rte_mbuf*> held_;
  std::atomic<bool> free_now_{false};
  std::vector<TcpState> tcp_;
  reflector::Reflection reflector_;
};

// How much of the wall time each CPU was not there for: a thread per CPU sleeps 10 ms at a
// time and adds up how late it wakes (a woken sleeper gets its CPU at once unless the CPU
// itself is gone: the host descheduled the vCPU, or the kernel held it). Under a hypervisor
// the guest still charges that time to the thread that was running, so the cores' own CPU
// figures cannot show it; their skipped slots do. 100 wake-ups a second: nothing to the cores.
class StallMeter {
 public:
  static constexpr uint64_t kSleepNs = 10'000'000;
  // Late by less than this is the timer's own error, not a stall.
  static constexpr uint64_t kFloorNs = 200'000;

  explicit StallMeter(const std::vector<int>& cpus) : cpus_(cpus), late_(cpus.size()) {
    for (size_t i = 0; i < cpus_.size(); ++i) threads_.emplace_back([this, i] { run(i); });
  }
  ~StallMeter() {
    stop_.store(true);
    for (std::thread& t : threads_) t.join();
  }
  StallMeter(const StallMeter&) = delete;
  StallMeter& operator=(const StallMeter&) = delete;

  // Nanoseconds of lateness per CPU since the start.
  std::vector<uint64_t> late() const {
    std::vector<uint64_t> v;
    for (const auto& x : late_) v.push_back(x.load());
    return v;
  }
  const std::vector<int>& cpus() const { return cpus_; }

 private:
  void run(size_t i) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus_[i], &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    pthread_setname_np(pthread_self(), "bench-stalls");
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    while (!stop_.load()) {
      const uint64_t before = wall_ns();
      sleep_ns(kSleepNs);
      const uint64_t slept = wall_ns() - before;
      if (slept > kSleepNs + kFloorNs) late_[i].fetch_add(slept - kSleepNs);
    }
  }

  std::vector<int> cpus_;
  std::vector<std::atomic<uint64_t>> late_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

StallMeter* g_stalls = nullptr;

// What one run measured over its window.
struct Figures {
  bool ok = false;
  std::string error;
  double wall_s = 0;
  // ICMP/UDP
  double tx_pps = 0;      // probes handed to the port per second
  double rx_pps = 0;      // replies matched per second
  double tx_per_cpu = 0;  // per second the TX core's thread was on a CPU
  double rx_per_cpu = 0;
  double rx_per_busy = 0;                       // per second of the RX core's busy_cycles
  double tx_cpu = 0, rx_cpu = 0, peer_cpu = 0;  // CPU seconds per wall second
  uint64_t skipped = 0, late_sends = 0, port_full = 0, no_mbuf = 0;
  uint64_t rx_drops = 0, late_replies = 0, gaps = 0, wire_full = 0;
  uint64_t peer_other = 0, peer_out_of_order = 0;  // frames the peer did not answer; holes
  // TCP
  double tcp_seg_tx = 0, tcp_seg_rx = 0;  // segments sent, taken by the flows, per second
  double tcp_bytes = 0, tcp_acked = 0;    // new payload bytes sent, acknowledged, per second
  uint64_t tcp_retransmits = 0, tcp_timeouts = 0, tcp_ring_full = 0, tcp_unsendable = 0;
  uint32_t established = 0;    // at the end of the window
  unsigned leaked_mbufs = 0;   // not back in the pool once the rig stopped
  std::vector<double> stalls;  // per CPU (StallMeter): ms a second the CPU was gone
  // The CPUs were not the cores' (see run_once).
  bool disturbed = false;
  std::string why_disturbed;
};

struct Sample {
  uint64_t wall = 0, tx_cpu = 0, rx_cpu = 0, peer_cpu = 0;
  TxView tx;
  RxView rx;
  uint64_t tcp_bytes = 0, tcp_acked = 0, tcp_retransmits = 0, tcp_timeouts = 0;
  uint32_t established = 0;
  uint64_t wire_full = 0, peer_other = 0, peer_out_of_order = 0;
  std::vector<uint64_t> stalls;
};

Sample take_sample(CoreRig& rig, pthread_t peer, const Peer& p) {
  Sample s;
  s.tx = rig.tx_snapshot();
  s.rx = rig.rx_snapshot();
  s.wall = wall_ns();
  s.tx_cpu = thread_cpu_ns(EalEnvironment::thread_of(EalEnvironment::tx_lcore()));
  s.rx_cpu = thread_cpu_ns(EalEnvironment::thread_of(EalEnvironment::rx_lcore()));
  s.peer_cpu = thread_cpu_ns(peer);
  for (const TcpFlowSnapshot& f : s.tx.tcp) {
    if (!f.used) continue;
    s.tcp_bytes += f.meter.opener().bytes_sent;
    s.tcp_acked += f.meter.opener().bytes_acked;
    s.tcp_retransmits += f.meter.opener().retransmitted_segments;
    s.tcp_timeouts += f.meter.opener().timeout_retransmits;
    s.established += f.established ? 1 : 0;
  }
  if (g_stalls != nullptr) s.stalls = g_stalls->late();
  s.wire_full = p.c.wire_full.load();
  s.peer_other = p.c.other.load();
  s.peer_out_of_order = p.c.tcp_out_of_order.load();
  return s;
}

// One run: the rig, the ICMP/UDP flows, tcp_rate != 0: the TCP flows; warm-up, window.
Figures run_once(const Options& o, uint64_t tcp_rate) {
  Figures fig;
  RigOptions ro;
  ro.max_flows = o.flows;
  ro.tcp_slots = std::max<uint32_t>(o.tcp_flows, 1);  // the same table with or without
  ro.tx_ring_size = kPortRing;
  ro.rx_ring_size = kPortRing;
  ro.probe = kProbe;
  CoreRig rig(ro);
  if (!rig.error().empty()) {
    fig.error = rig.error();
    return fig;
  }
  rte_ring* from_probe = nullptr;
  rte_ring* to_probe = nullptr;
  if (!find_wire(&from_probe, &to_probe)) {
    fig.error = "cannot find the rig's port rings (core_harness.cc names them)";
    return fig;
  }
  Peer peer(from_probe, to_probe, ro.tcp_slots, o.peer_nap_us * 1000);
  std::atomic<bool> stop{false};
  std::thread peer_thread([&] { peer.run(&stop); });

  for (uint32_t i = 0; i < o.flows; ++i) {
    FlowSpec f;
    f.id = i;
    f.kind = i % 2 == 0 ? ProbeKind::kIcmpEcho : ProbeKind::kUdpReflect;
    f.interval_ns = o.interval_us * 1000;
    f.target.mac = {0x02, 0, 0, 1, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    f.target.ip = 0x0a4e0000 + i + 1;  // 10.78.x.y
    rig.add_flow(f);
  }
  if (tcp_rate != 0) {
    for (uint32_t i = 0; i < o.tcp_flows; ++i) {
      TcpFlowSpec t;
      t.slot = i;
      t.flow_id = o.flows + i;
      t.target.mac = {0x02, 0, 0, 2, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
      t.target.ip = 0x0a4f0000 + i + 1;  // 10.79.x.y
      t.peer_port = kDiscardPort;
      t.rate_bytes_per_s = tcp_rate;
      t.segment_bytes = o.segment_bytes;
      t.echo = false;
      rig.add_tcp_flow(t);
    }
    // Every connection up (or 3 s), then the warm-up.
    const uint64_t give_up = wall_ns() + 3'000'000'000ULL;
    while (wall_ns() < give_up) {
      uint32_t up = 0;
      for (const TcpFlowSnapshot& f : rig.tx_snapshot().tcp) up += f.established ? 1 : 0;
      if (up >= o.tcp_flows) break;
      sleep_ns(50'000'000);
    }
  }
  peer.free_held_now();
  sleep_ns(static_cast<uint64_t>(o.warmup_s * 1e9));
  const Sample a = take_sample(rig, peer_thread.native_handle(), peer);
  sleep_ns(static_cast<uint64_t>(o.seconds * 1e9));
  const Sample b = take_sample(rig, peer_thread.native_handle(), peer);
  stop.store(true);
  peer_thread.join();
  fig.leaked_mbufs = rig.stop();

  const double w = static_cast<double>(b.wall - a.wall) / 1e9;
  const TxCounters& t0 = a.tx.totals;
  const TxCounters& t1 = b.tx.totals;
  const RxCounters& r0 = a.rx.totals;
  const RxCounters& r1 = b.rx.totals;
  const double tx_cpu = static_cast<double>(b.tx_cpu - a.tx_cpu) / 1e9;
  const double rx_cpu = static_cast<double>(b.rx_cpu - a.rx_cpu) / 1e9;
  const double busy =
      static_cast<double>(r1.busy_cycles - r0.busy_cycles) / static_cast<double>(rte_get_tsc_hz());
  const double probes = static_cast<double>(t1.probes_sent - t0.probes_sent);
  const double replies = static_cast<double>(r1.replies - r0.replies);
  fig.wall_s = w;
  fig.tx_pps = probes / w;
  fig.rx_pps = replies / w;
  fig.tx_per_cpu = tx_cpu > 0 ? probes / tx_cpu : 0;
  fig.rx_per_cpu = rx_cpu > 0 ? replies / rx_cpu : 0;
  fig.rx_per_busy = busy > 0 ? replies / busy : 0;
  fig.tx_cpu = tx_cpu / w;
  fig.rx_cpu = rx_cpu / w;
  fig.peer_cpu = static_cast<double>(b.peer_cpu - a.peer_cpu) / 1e9 / w;
  fig.skipped = t1.skipped_slots - t0.skipped_slots;
  fig.late_sends = t1.late_sends - t0.late_sends;
  fig.port_full = t1.port_full - t0.port_full;
  fig.no_mbuf = t1.no_mbuf - t0.no_mbuf;
  fig.rx_drops = b.rx.all_drops() - a.rx.all_drops();
  fig.late_replies = r1.late_replies - r0.late_replies;
  fig.gaps = r1.gaps - r0.gaps;
  fig.wire_full = b.wire_full - a.wire_full;
  fig.peer_other = b.peer_other - a.peer_other;
  fig.peer_out_of_order = b.peer_out_of_order - a.peer_out_of_order;
  fig.tcp_seg_tx = static_cast<double>(t1.tcp_segments_sent - t0.tcp_segments_sent) / w;
  fig.tcp_seg_rx = static_cast<double>(t1.tcp_segments_received - t0.tcp_segments_received) / w;
  fig.tcp_bytes = static_cast<double>(b.tcp_bytes - a.tcp_bytes) / w;
  fig.tcp_acked = static_cast<double>(b.tcp_acked - a.tcp_acked) / w;
  fig.tcp_retransmits = b.tcp_retransmits - a.tcp_retransmits;
  fig.tcp_timeouts = b.tcp_timeouts - a.tcp_timeouts;
  fig.tcp_ring_full = r1.tcp_ring_full - r0.tcp_ring_full;
  fig.tcp_unsendable = t1.tcp_unsendable - t0.tcp_unsendable;
  fig.established = b.established;
  for (size_t i = 0; i < b.stalls.size() && i < a.stalls.size(); ++i) {
    fig.stalls.push_back(static_cast<double>(b.stalls[i] - a.stalls[i]) / 1e6 / w);
  }
  // Disturbed: the TX core spins at these rates, so less than 0.9 of a CPU means the guest
  // ran something else on its CPU; a CPU gone for more than 3% of the time means the host
  // took it. Either way the run measures the machine, not the cores.
  char why[160] = "";
  if (fig.tx_cpu < 0.9) {
    std::snprintf(why, sizeof why, "the TX core had %.2f of a CPU", fig.tx_cpu);
  }
  for (size_t i = 0; i < fig.stalls.size(); ++i) {
    if (fig.stalls[i] > 30 && why[0] == '\0') {
      std::snprintf(why, sizeof why, "CPU %d was gone %.0f ms a second", g_stalls->cpus()[i],
                    fig.stalls[i]);
    }
  }
  fig.disturbed = why[0] != '\0';
  fig.why_disturbed = why;
  fig.ok = true;
  return fig;
}

std::string stall_text(const Figures& f) {
  std::string t;
  for (size_t i = 0; i < f.stalls.size(); ++i) {
    char b[48];
    std::snprintf(b, sizeof b, " CPU %d %.1f", g_stalls->cpus()[i], f.stalls[i]);
    t += b;
  }
  return t;
}

void print_run(int round, bool with, const Figures& f) {
  std::printf(
      "  round %d %-8s ICMP/UDP TX %.3f Mpps (%.3f M per TX CPU-s), RX %.3f Mpps (%.3f M "
      "per RX CPU-s, %.2f M per RX busy s); CPU s/s: TX %.2f RX %.2f peer %.2f\n",
      round, with ? "with:" : "without:", f.tx_pps / 1e6, f.tx_per_cpu / 1e6, f.rx_pps / 1e6,
      f.rx_per_cpu / 1e6, f.rx_per_busy / 1e6, f.tx_cpu, f.rx_cpu, f.peer_cpu);
  std::printf("                 skipped slots %" PRIu64 ", late sends %" PRIu64
              ", port full %" PRIu64 ", no mbuf %" PRIu64 ", RX drops %" PRIu64
              ", late replies %" PRIu64 ", gaps %" PRIu64 "; peer: unanswered %" PRIu64
              ", waited on a full RX ring %" PRIu64 "x; CPUs gone (ms/s):%s\n",
              f.skipped, f.late_sends, f.port_full, f.no_mbuf, f.rx_drops, f.late_replies, f.gaps,
              f.peer_other, f.wire_full, stall_text(f).c_str());
  if (with) {
    std::printf(
        "                 TCP: %u established; %s sent, %s acked; %.0f segments/s sent, "
        "%.0f taken (ACKs); %" PRIu64 " retransmitted (%" PRIu64
        " by timeout); holes the peer saw %" PRIu64 "; RX->TX ring full %" PRIu64 "\n",
        f.established, rate_text(f.tcp_bytes).c_str(), rate_text(f.tcp_acked).c_str(), f.tcp_seg_tx,
        f.tcp_seg_rx, f.tcp_retransmits, f.tcp_timeouts, f.peer_out_of_order, f.tcp_ring_full);
  }
  if (f.leaked_mbufs != 0) {
    std::printf("                 %u mbufs were not back in the pool when the rig stopped\n",
                f.leaked_mbufs);
  }
  if (f.disturbed) {
    std::printf("                 DISTURBED: %s (the run measures the machine, not the cores)\n",
                f.why_disturbed.c_str());
  }
  std::fflush(stdout);
}

struct RateResult {
  uint64_t rate = 0;
  double tx_without = 0, tx_with = 0, rx_without = 0, rx_with = 0;
  double tx_ratio = 0, rx_ratio = 0, tx_paired = 0, rx_paired = 0;
  double tx_cpu_ratio = 0, rx_cpu_ratio = 0;
  double tcp_bytes = 0, tcp_acked = 0;
  double peer_cpu = 0, rx_cpu = 0, tx_cpu = 0;
  bool icmp_udp_within = false;
  bool tcp_reached = false;
  bool failed = false;
  int clean_rounds = 0;
  int disturbed_rounds = 0;
};

RateResult bench_rate(const Options& o, uint64_t rate) {
  RateResult res;
  res.rate = rate;
  const double offered = static_cast<double>(rate) * o.tcp_flows;
  std::printf("-- R = %s per flow: %u TCP flows, %s aggregate (%.0f segments/s of %u bytes)\n",
              rate_text(static_cast<double>(rate)).c_str(), o.tcp_flows, rate_text(offered).c_str(),
              offered / o.segment_bytes, o.segment_bytes);
  // Clean rounds (neither run disturbed) are what the medians take; a disturbed round is
  // printed and run again, up to --retries more rounds for this rate. When no round came
  // out clean, the disturbed ones are all there is, and the verdict says so.
  std::vector<Figures> without, with, without_all, with_all;
  for (int r = 1; r <= o.rounds + o.retries && static_cast<int>(with.size()) < o.rounds; ++r) {
    // Alternate the order so that a drift of the machine's load weighs on both alike.
    Figures pair[2];
    for (int k = 0; k < 2; ++k) {
      const bool tcp = (k == 0) == (r % 2 == 0);
      Figures f = run_once(o, tcp ? rate : 0);
      if (!f.ok) {
        std::printf("  round %d: the rig failed: %s\n", r, f.error.c_str());
        res.failed = true;
        return res;
      }
      print_run(r, tcp, f);
      pair[tcp ? 1 : 0] = std::move(f);
    }
    without_all.push_back(pair[0]);
    with_all.push_back(pair[1]);
    if (pair[0].disturbed || pair[1].disturbed) {
      ++res.disturbed_rounds;
      continue;
    }
    without.push_back(pair[0]);
    with.push_back(pair[1]);
  }
  res.clean_rounds = static_cast<int>(with.size());
  if (with.empty()) {
    without = without_all;
    with = with_all;
  }
  auto med = [](const std::vector<Figures>& v, double Figures::*field) {
    std::vector<double> x;
    for (const Figures& f : v) x.push_back(f.*field);
    return median(x);
  };
  auto paired = [&](double Figures::*field) {
    std::vector<double> x;
    for (size_t i = 0; i < with.size(); ++i) {
      if (without[i].*field > 0) x.push_back(with[i].*field / (without[i].*field));
    }
    return median(x);
  };
  res.tx_without = med(without, &Figures::tx_pps);
  res.tx_with = med(with, &Figures::tx_pps);
  res.rx_without = med(without, &Figures::rx_pps);
  res.rx_with = med(with, &Figures::rx_pps);
  res.tx_ratio = res.tx_with / res.tx_without;
  res.rx_ratio = res.rx_with / res.rx_without;
  res.tx_paired = paired(&Figures::tx_pps);
  res.rx_paired = paired(&Figures::rx_pps);
  res.tx_cpu_ratio = med(with, &Figures::tx_per_cpu) / med(without, &Figures::tx_per_cpu);
  res.rx_cpu_ratio = med(with, &Figures::rx_per_cpu) / med(without, &Figures::rx_per_cpu);
  res.tcp_bytes = med(with, &Figures::tcp_bytes);
  res.tcp_acked = med(with, &Figures::tcp_acked);
  res.peer_cpu = med(with, &Figures::peer_cpu);
  res.rx_cpu = med(with, &Figures::rx_cpu);
  res.tx_cpu = med(with, &Figures::tx_cpu);
  auto within = [](double x) { return x >= 0.9 && x <= 1.1; };
  res.icmp_udp_within = within(res.tx_ratio) && within(res.rx_ratio);
  res.tcp_reached = res.tcp_bytes >= 0.9 * offered;
  std::printf("  medians of %d clean rounds (%d disturbed, left out)%s\n", res.clean_rounds,
              res.disturbed_rounds,
              res.clean_rounds == 0 ? ": none clean, so the disturbed ones" : "");
  std::printf(
      "  median without: TX %.3f Mpps, RX %.3f Mpps; with: TX %.3f Mpps, RX %.3f Mpps\n"
      "  ratio with/without: TX %.3f (paired %.3f; per TX CPU-s %.3f), RX %.3f (paired %.3f; "
      "per RX CPU-s %.3f)\n"
      "  TCP (median): %s sent of %s offered (%.1f%%), %s acked; CPU s/s with TCP: TX %.2f, RX "
      "%.2f, peer %.2f\n",
      res.tx_without / 1e6, res.rx_without / 1e6, res.tx_with / 1e6, res.rx_with / 1e6,
      res.tx_ratio, res.tx_paired, res.tx_cpu_ratio, res.rx_ratio, res.rx_paired, res.rx_cpu_ratio,
      rate_text(res.tcp_bytes).c_str(), rate_text(offered).c_str(), 100 * res.tcp_bytes / offered,
      rate_text(res.tcp_acked).c_str(), res.tx_cpu, res.rx_cpu, res.peer_cpu);
  std::printf("  => ICMP/UDP within 10%%: %s; TCP at its rate (>= 90%% of offered): %s%s\n",
              res.icmp_udp_within ? "YES" : "NO", res.tcp_reached ? "yes" : "NO",
              res.clean_rounds == 0 ? " -- UNRELIABLE: every round was disturbed" : "");
  if (res.peer_cpu + res.rx_cpu > 0.9) {
    std::printf(
        "  note: the peer and the RX core took %.2f CPU-s/s on the CPU they share: the "
        "peer's own cost is in these figures (a real guest runs elsewhere)\n",
        res.peer_cpu + res.rx_cpu);
  }
  const double period_s = static_cast<double>(o.segment_bytes) / static_cast<double>(rate);
  if (period_s * 3 > o.seconds) {
    std::printf(
        "  note: a flow sends a segment every %.2f s at this rate: the TCP rate is "
        "counted in whole segments over a %.1f s window\n",
        period_s, o.seconds);
  }
  std::fflush(stdout);
  return res;
}

// Resident memory of a running rig with tcp_slots TCP slots (its cores' state built).
uint64_t rig_rss(uint32_t tcp_slots) {
  RigOptions ro;
  ro.max_flows = 1024;
  ro.tcp_slots = tcp_slots;
  ro.probe = kProbe;
  CoreRig rig(ro);
  if (!rig.error().empty()) return 0;
  rig.rx_snapshot();  // both cores have built their tables once they answer
  { const TxView tx = rig.tx_snapshot(); }
  const uint64_t rss = rss_bytes();
  rig.stop();
  return rss;
}

void bench_memory() {
  constexpr uint32_t kSmall = 1024;
  constexpr uint32_t kLarge = 16384;  // migprobe-dp's --max-tcp-flows at most
  const size_t ep = sizeof(TcpEndpoint);
  const size_t huge = size_t{2} << 20;
  const size_t mapped = (kSmall * ep + huge - 1) / huge * huge;
  std::printf("== Memory per TCP connection\n");
  std::printf(
      "  sizeof(TcpEndpoint) = %zu bytes (of which the chunk send-time ring %zu, "
      "TcpMeter %zu, config %zu)\n",
      ep, sizeof(uint64_t) * TcpEndpoint::kChunkRing, sizeof(an::TcpMeter),
      sizeof(TcpEndpointConfig));
  std::printf(
      "  slot table (FlowArray<TcpEndpoint>, 2 MiB-rounded mapping): %zu slots -> %zu "
      "bytes (%.0f per slot); %u -> %zu bytes\n",
      static_cast<size_t>(kSmall), mapped, static_cast<double>(mapped) / kSmall, kLarge,
      (kLarge * ep + huge - 1) / huge * huge);
  // Alternated, and the differences paired: the EAL's memory is touched by the first rig.
  std::vector<double> per_slot;
  for (int i = 0; i < 3; ++i) {
    const uint64_t small = rig_rss(kSmall);
    const uint64_t large = rig_rss(kLarge);
    if (small == 0 || large == 0) continue;
    per_slot.push_back((static_cast<double>(large) - static_cast<double>(small)) /
                       (kLarge - kSmall));
    std::printf("  RSS with the cores running: %u TCP slots %.1f MB, %u slots %.1f MB\n", kSmall,
                static_cast<double>(small) / 1e6, kLarge, static_cast<double>(large) / 1e6);
  }
  std::printf(
      "  resident memory per TCP slot (RSS difference, %u vs %u slots, median of %zu): "
      "%.0f bytes (TX endpoint and slot, RX route, wheel node, all built at start)\n",
      kLarge, kSmall, per_slot.size(), median(per_slot));
  std::printf(
      "  beyond that a connection grows only its meter's loss-episode and reset lists "
      "(heap, per episode: %zu bytes an episode, %zu a reset; at most %zu episodes per "
      "direction and %zu resets)\n",
      sizeof(an::TcpEpisode), sizeof(an::TcpReset), an::TcpMeter::kMaxEpisodes,
      an::TcpMeter::kMaxResets);
  std::fflush(stdout);
}

int usage(const char* argv0) {
  std::fprintf(
      stderr,
      "usage: %s [--rounds N] [--retries N] [--seconds S] [--warmup S] [--rates 1k,10k,100k,1M] "
      "[--flows N] [--interval-us U] [--tcp-flows T] [--segment-bytes B] "
      "[--peer-nap-us U] [--no-memory]\n",
      argv0);
  return 2;
}

int run(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--no-memory") {
      o.memory = false;
    } else if ((v = next()) == nullptr) {
      return usage(argv[0]);
    } else if (a == "--retries") {
      o.retries = std::max(0, std::atoi(v));
    } else if (a == "--rounds") {
      o.rounds = std::max(1, std::atoi(v));
    } else if (a == "--seconds") {
      o.seconds = std::max(0.1, std::atof(v));
    } else if (a == "--warmup") {
      o.warmup_s = std::max(0.0, std::atof(v));
    } else if (a == "--flows") {
      o.flows = static_cast<uint32_t>(std::max(2, std::atoi(v)));
    } else if (a == "--peer-nap-us") {
      o.peer_nap_us = static_cast<uint64_t>(std::clamp(std::atoi(v), 1, 999));
    } else if (a == "--interval-us") {
      o.interval_us = static_cast<uint64_t>(std::max(1, std::atoi(v)));
    } else if (a == "--tcp-flows") {
      o.tcp_flows = static_cast<uint32_t>(std::clamp(std::atoi(v), 1, 16384));
    } else if (a == "--segment-bytes") {
      o.segment_bytes = static_cast<uint32_t>(std::clamp(std::atoi(v), 18, 1460));
    } else if (a == "--rates") {
      o.rates.clear();
      std::string s = v;
      size_t pos = 0;
      while (pos <= s.size()) {
        const size_t comma = std::min(s.find(',', pos), s.size());
        uint64_t r = 0;
        if (!parse_rate(s.substr(pos, comma - pos), &r)) return usage(argv[0]);
        o.rates.push_back(r);
        pos = comma + 1;
      }
    } else {
      return usage(argv[0]);
    }
  }

  // Large blocks always from mmap, given back when freed: the RSS differences below are the
  // tables', not the malloc heap's high-water mark.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  // The CPUs as the EAL finds them (it pins this thread to one of them).
  const std::vector<int> cpus = allowed_cpus();
  EalEnvironment eal;
  eal.SetUp();
  if (!EalEnvironment::failure().empty()) {
    std::fprintf(stderr, "EAL: %s\n", EalEnvironment::failure().c_str());
    return 1;
  }
  const uint64_t start = wall_ns();
  std::vector<int> meter_cpus;
  for (int c : {cpus.empty() ? 0 : cpus[0], cpus.size() > 1 ? cpus[1] : -1}) {
    if (c >= 0) meter_cpus.push_back(c);
  }
  StallMeter stalls(meter_cpus);
  g_stalls = &stalls;
  const int cpu_a = cpus.empty() ? 0 : cpus[0];
  const int cpu_b = cpus.size() > 1 ? cpus[1] : cpu_a;
  const double offered_pps = o.flows * 1e6 / static_cast<double>(o.interval_us);
  std::printf("== migprobe-tcp-bench: %u ICMP/UDP flows (half ICMP echo, half UDP) at %" PRIu64
              " us: %.3f M probes/s offered; %u TCP flows (discard, %u-byte segments) beside "
              "them in the runs 'with'; %d rounds per rate, each a run without and one with "
              "TCP (order alternating); %.1f s warm-up, %.1f s measured per run\n",
              o.flows, o.interval_us, offered_pps / 1e6, o.tcp_flows, o.segment_bytes, o.rounds,
              o.warmup_s, o.seconds);
  std::printf(
      "== machine: %zu CPUs allowed; TX core alone on CPU %d; RX core, the in-process "
      "peer (ICMP echo, UDP reflector, TCP discard) and the control thread on CPU %d; "
      "TSC %.3f GHz; load average %s\n",
      cpus.size(), cpu_b, cpu_a, static_cast<double>(rte_get_tsc_hz()) / 1e9,
      load_average().c_str());
  std::printf(
      "   (the peer shares the RX core's CPU: what it spends answering is taken from the "
      "RX core; TX figures are per second of wall time and per second the TX core's "
      "thread was on a CPU; a round where a CPU was not the cores' is DISTURBED, left out and "
      "run again)\n");
  std::fflush(stdout);

  std::vector<RateResult> results;
  for (uint64_t r : o.rates) results.push_back(bench_rate(o, r));

  std::printf("== Summary (medians; ICMP/UDP %.3f M probes/s offered; load average now %s)\n",
              offered_pps / 1e6, load_average().c_str());
  std::printf("  %-10s %-12s %-12s %-12s %-9s %-9s %-8s %-12s %s\n", "R/flow", "TCP offered",
              "TCP sent", "TCP acked", "TX ratio", "RX ratio", "10%", "TCP at rate",
              "clean rounds");
  double best = -1;
  const RateResult* top = nullptr;
  for (const RateResult& r : results) {
    if (r.failed) {
      std::printf("  %-10s (the rig failed)\n", rate_text(static_cast<double>(r.rate)).c_str());
      continue;
    }
    const double offered = static_cast<double>(r.rate) * o.tcp_flows;
    std::printf("  %-10s %-12s %-12s %-12s %-9.3f %-9.3f %-8s %-12s %d of %d%s\n",
                rate_text(static_cast<double>(r.rate)).c_str(), rate_text(offered).c_str(),
                rate_text(r.tcp_bytes).c_str(), rate_text(r.tcp_acked).c_str(), r.tx_ratio,
                r.rx_ratio, r.icmp_udp_within ? "holds" : "FAILS", r.tcp_reached ? "yes" : "NO",
                r.clean_rounds, r.clean_rounds + r.disturbed_rounds,
                r.clean_rounds == 0 ? " (unreliable)" : "");
    if (r.clean_rounds != 0 && r.icmp_udp_within && r.tcp_reached && r.tcp_bytes > best) {
      best = r.tcp_bytes;
      top = &r;
    }
  }
  if (top != nullptr) {
    std::printf(
        "  largest aggregate TCP rate with ICMP/UDP TX and RX within 10%% (and TCP at >= "
        "90%% of its rate): %s sent (%u flows x %s)\n",
        rate_text(best).c_str(), o.tcp_flows, rate_text(static_cast<double>(top->rate)).c_str());
  } else {
    std::printf("  no rate in the list kept ICMP/UDP within 10%% with TCP at its rate\n");
  }
  for (const RateResult& r : results) {
    if (r.failed || r.rate != 1'000'000) continue;
    const double offered = 1e6 * o.tcp_flows;
    if (r.icmp_udp_within && r.tcp_reached) {
      std::printf("  %u x 1 MB/s: held on this machine\n", o.tcp_flows);
    } else {
      std::printf(
          "  %u x 1 MB/s (%s): NOT held on this machine: TCP sent %s (%.1f%% of "
          "offered); ICMP/UDP TX %.3f, RX %.3f of the runs without TCP\n",
          o.tcp_flows, rate_text(offered).c_str(), rate_text(r.tcp_bytes).c_str(),
          100 * r.tcp_bytes / offered, r.tx_ratio, r.rx_ratio);
    }
  }
  std::fflush(stdout);

  if (o.memory) bench_memory();
  std::printf("== done in %.0f s\n", static_cast<double>(wall_ns() - start) / 1e9);
  g_stalls = nullptr;
  eal.TearDown();
  return 0;
}

}  // namespace
}  // namespace migprobe::dataplane::cores_test

int main(int argc, char** argv) {
  return migprobe::dataplane::cores_test::run(argc, argv);
}
