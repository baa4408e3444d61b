#pragma once
// What crosses between the control thread and the lcores: command and event records carried
// by value in SPSC rte_rings, the counter tables of each core, and the snapshot buffers the
// control thread hands to a core to copy its counters into. Plain structs, no DPDK.

#include <atomic>
#include <cstdint>
#include <vector>

#include "analysis/drop_reason.h"
#include "analysis/flow_tracker.h"
#include "analysis/gap.h"
#include "dataplane/probe_frame.h"
#include "dataplane/tsc_clock.h"

namespace migprobe::dataplane {

// Counters of the TX core.
#define MIGPROBE_FOREACH_TX_COUNTER(_)                                            \
  _(probes_sent, "probes handed to the port")                                     \
  _(bytes_sent, "bytes of probes handed to the port")                             \
  _(skipped_slots, "probe slots skipped because the core was late (no catch-up)") \
  _(late_sends, "probes sent 100 us or more after their deadline")                \
  _(max_late_ns, "the latest a probe left after its deadline, ns")                \
  _(unresolved_slots, "probe slots not sent: target MAC not resolved yet")        \
  _(port_full, "probes dropped because the port's TX queue stayed full")          \
  _(no_mbuf, "probe slots lost for want of an mbuf")                              \
  _(control_frames, "ARP frames sent")                                            \
  _(capture_overflow, "sent frames the capture ring could not take")              \
  _(tcp_segments_sent, "TCP segments of the TCP flows handed to the port")        \
  _(tcp_segments_received, "TCP segments the TCP flows took from the RX core")    \
  _(tcp_unsendable, "TCP segments not sent: their payload was no longer kept")    \
  _(tcp_events_dropped, "TCP connection events the control ring could not take")  \
  _(sleeps, "times the core slept until the next deadline")

// Counters of the RX core.
#define MIGPROBE_FOREACH_RX_COUNTER(_)                                                  \
  _(packets, "frames received")                                                         \
  _(replies, "valid replies matched to a flow")                                         \
  _(requests, "probe requests seen (replay)")                                           \
  _(arp, "ARP frames")                                                                  \
  _(garp, "gratuitous ARP announces")                                                   \
  _(rarp, "RARP announces")                                                             \
  _(gaps, "gaps closed")                                                                \
  _(outages_in_progress, "outage-in-progress events")                                   \
  _(late_replies, "replies later than the reply timeout (their probes count as lost)")  \
  _(events_dropped, "events the control ring could not take")                           \
  _(frames_dropped, "ARP replies the TX ring could not take")                           \
  _(tcp_segments, "TCP segments handed to the TX core's TCP flows")                     \
  _(tcp_ring_full, "TCP segments the TX core's ring could not take (TCP resends them)") \
  _(capture_overflow, "received frames the capture ring could not take")                \
  _(sleeps, "times the core slept while idle")                                          \
  _(busy_cycles, "TSC cycles spent on received bursts, after the driver's RX call")

struct TxCounters {
#define MIGPROBE_COUNTER_FIELD(name, desc) uint64_t name = 0;
  MIGPROBE_FOREACH_TX_COUNTER(MIGPROBE_COUNTER_FIELD)
  // TCP segments the TCP flows did not take, by reason (the table the RX core counts in).
  analysis::DropCounters drops{};
};
struct RxCounters {
  MIGPROBE_FOREACH_RX_COUNTER(MIGPROBE_COUNTER_FIELD)
#undef MIGPROBE_COUNTER_FIELD
  // Frames not trusted or not used, by reason (one table with migprobe-analyze's).
  analysis::DropCounters drops{};
};

// Per-flow figures of the TX core.
struct TxFlowStats {
  uint64_t sent = 0;
  uint64_t skipped = 0;
  uint64_t unresolved = 0;
  uint32_t next_seq = 0;
  uint64_t first_tx_ns = 0;
  uint64_t last_tx_ns = 0;
};

// One TCP flow of the TX core, as a snapshot copies it.
struct TcpFlowSnapshot {
  bool used = false;  // the slot holds a flow (running or stopped)
  uint32_t flow_id = 0;
  uint32_t peer_ip = 0;  // host order
  uint16_t peer_port = 0;
  bool probe = true;  // flow_id known (a replay reads it from a trailer)
  bool established = false;
  uint64_t rto_ns = 0;
  TcpEchoStats echo;
  analysis::TcpMeter meter;  // not finished: the caller finishes its copy
};

// Filled by the TX core on request; done is set (release) when the copy is complete.
struct TxSnapshot {
  TxCounters totals;
  std::vector<TxFlowStats> flows;    // sized by the control thread to the flow table
  std::vector<TcpFlowSnapshot> tcp;  // sized by the control thread to the TCP slots
  std::atomic<bool> done{false};
};

// Per-flow figures of the RX core.
struct RxFlowStats {
  bool active = false;
  analysis::FlowCounters counters;
};

struct RxSnapshot {
  RxCounters totals;
  std::vector<RxFlowStats> flows;
  // Replay: the TCP flows of the probe measured from the capture (flow_id from the trailer,
  // echo and rto not known), by slot; sized by the control thread.
  std::vector<TcpFlowSnapshot> tcp;
  std::atomic<bool> done{false};
};

// Control thread -> TX core (and RX core -> TX core for ARP replies).
struct TxCommand {
  enum Op : uint32_t {
    kAddFlow,
    kRemoveFlow,
    kSetDstMac,
    kSendFrame,
    kSetClock,
    kSnapshot,
    kQuit,
    // TCP flows, by slot (tcp_slot): add (and connect once the MAC is known), set the
    // MAC, stop (a FIN after what is outstanding; the slot keeps its figures until reused).
    kAddTcpFlow,
    kSetTcpDstMac,
    kStopTcpFlow,
  };
  Op op = kAddFlow;
  uint32_t flow_id = 0;
  uint32_t tcp_slot = 0;
  TcpEndpointConfig tcp;        // kAddTcpFlow
  TcpFrameAddress tcp_address;  // kAddTcpFlow (dst_mac: when resolved)
  uint64_t interval_ns = 0;
  uint8_t generation = 0;
  bool resolved = false;
  analysis::MacAddress mac{};
  ProbeHeader header;  // kAddFlow; kSendFrame: the frame in header.bytes, frame_len bytes
  TscCalibration clock;
  TxSnapshot* snapshot = nullptr;
  uint8_t pad_[8] = {};
};

// Control thread -> RX core.
struct RxCommand {
  enum Op : uint32_t {
    kAddFlow,
    kRemoveFlow,
    kSetClock,
    kSnapshot,
    kFinish,
    kQuit,
    // The TCP segments from peer_ip:peer_port to the probe's port of tcp_slot go to the TX
    // core's flow there (kAddTcpRoute), or no longer (kRemoveTcpRoute).
    kAddTcpRoute,
    kRemoveTcpRoute,
  };
  Op op = kAddFlow;
  uint32_t flow_id = 0;
  uint32_t tcp_slot = 0;
  uint16_t peer_port = 0;
  uint8_t pad1_[2] = {};
  uint32_t peer_ip = 0;
  uint8_t kind = 0;
  uint8_t generation = 0;
  uint8_t pad0_[2] = {};
  uint64_t interval_ns = 0;
  uint64_t reply_timeout_ns = 0;  // kAddFlow: the flow's; 0: the run's default
  uint64_t end_ns = 0;            // kFinish
  TscCalibration clock;
  RxSnapshot* snapshot = nullptr;
  // kFinish: last probe each flow sent (indexed by flow id), so a gap still open counts.
  const std::vector<TxFlowStats>* sent = nullptr;
};

// RX core -> control thread.
struct RxEvent {
  enum Kind : uint32_t { kGap, kOutageInProgress, kArp, kRarp, kFinished };
  Kind kind = kGap;
  uint32_t flow_id = 0;
  uint64_t ts_ns = 0;
  analysis::Gap gap;  // kGap
  // kOutageInProgress: send time of the newest answered probe.
  uint64_t since_tx_ns = 0;
  // kArp / kRarp
  uint16_t arp_op = 0;
  uint16_t vlan = 0;
  uint32_t sender_ip = 0;
  uint32_t target_ip = 0;
  analysis::MacAddress sender_mac{};
  bool garp = false;
  uint8_t pad_[5] = {};
};

// The send times of a tcp-syn flow's latest probes (by TCP slot), written by the TX core as it
// sends them and read by the RX core when a reply comes: a SYN carries no trailer, and its
// reply gives back only the sequence. One writer, one reader, no lock: the writer marks an
// entry stale before it rewrites it, and the reader checks the entry again after reading.
// A reply to a probe older than kDepth probes is not matched (its probe counts as lost).
struct SynSendLog {
  static constexpr uint32_t kDepth = analysis::kSynLogDepth;
  std::atomic<uint32_t> seq[kDepth] = {};
  std::atomic<uint64_t> tx_ns[kDepth] = {};

  void put(uint32_t s, uint64_t t) {
    const uint32_t i = s % kDepth;
    seq[i].store(s + 1, std::memory_order_relaxed);  // never a seq this entry is asked for
    std::atomic_thread_fence(std::memory_order_release);
    tx_ns[i].store(t, std::memory_order_relaxed);
    seq[i].store(s, std::memory_order_release);
  }
  bool get(uint32_t s, uint64_t* t) const {
    const uint32_t i = s % kDepth;
    if (seq[i].load(std::memory_order_acquire) != s) return false;
    *t = tx_ns[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    return seq[i].load(std::memory_order_relaxed) == s && *t != 0;
  }
};

// TX core -> control thread: what happened to a TCP flow's connection.
struct TcpFlowEvent {
  uint32_t flow_id = 0;
  uint32_t tcp_slot = 0;
  TcpEndpointEvent event;
};

}  // namespace migprobe::dataplane
