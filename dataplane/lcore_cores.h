#pragma once
// Entry points and set-up of the two fast-path cores. The TX core paces and sends probes
// (tx_core.cc); the RX core validates and matches replies and detects gaps (rx_core.cc).
// Each owns its state; the control thread reaches them only through the rings below.

#include <cstdint>
#include <memory>

#include "analysis/flow_tracker.h"
#include "analysis/packet.h"
#include "dataplane/dp_messages.h"
#include "dataplane/tsc_clock.h"

struct rte_mempool;
struct rte_ring;

namespace migprobe::dataplane {

// Everything the TX core is given at start; it owns the rest.
struct TxCoreSetup {
  uint16_t port = 0;
  uint16_t queue = 0;
  rte_mempool* pool = nullptr;
  rte_ring* commands = nullptr;      // control -> TX (TxCommand)
  rte_ring* frames = nullptr;        // RX -> TX (TxCommand kSendFrame)
  rte_ring* capture = nullptr;       // TX -> capture writer (mbuf pointers); null: no capture
  rte_ring* tcp_segments = nullptr;  // RX -> TX: TCP segments for the TCP flows (mbufs)
  rte_ring* tcp_events = nullptr;    // TX -> control (TcpFlowEvent)
  SynSendLog* syn_log = nullptr;     // tcp-syn flows' send times, by TCP slot (shared with RX)
  uint32_t max_flows = 0;
  uint32_t tcp_slots = 0;  // TCP flows (tcp_flows.h)
  bool idle_sleep = false;
  int realtime_priority = 0;
  TscCalibration clock;
};

// Everything the RX core is given at start.
struct RxCoreSetup {
  uint16_t port = 0;
  uint16_t queue = 0;
  rte_ring* commands = nullptr;         // control -> RX (RxCommand)
  rte_ring* events = nullptr;           // RX -> control (RxEvent)
  rte_ring* frames = nullptr;           // RX -> TX (TxCommand kSendFrame)
  rte_ring* capture = nullptr;          // RX -> capture writer; null: no capture
  rte_ring* tcp_segments = nullptr;     // RX -> TX: TCP segments for the TCP flows (mbufs)
  const SynSendLog* syn_log = nullptr;  // tcp-syn flows' send times (the TX core writes them)
  uint32_t max_flows = 0;
  uint32_t tcp_slots = 0;  // TCP flows (none without the tcp_segments ring)
  bool idle_sleep = false;
  // Use the port's RX timestamp (ns since the epoch, as net_pcap gives when replaying)
  // instead of the TSC; the dynamic field's offset and flag.
  bool port_timestamps = false;
  int timestamp_offset = -1;
  uint64_t timestamp_flag = 0;
  uint32_t timestamp_scale = 1;
  // Replay: flows are learned from the packets (requests and replies) instead of configured.
  bool learn_flows = false;
  bool verify_checksums = true;
  int realtime_priority = 0;
  uint32_t probe_ip = 0;
  analysis::MacAddress probe_mac{};
  analysis::TrackerConfig tracker;
  TscCalibration clock;
};

// lcore entry points (rte_eal_remote_launch); arg is the setup, copied at start.
int tx_core_main(void* arg);
int rx_core_main(void* arg);

// Readies the calling lcore for the fast path: a 1 ns timer slack, so short sleeps are
// not stretched by the default 50 us, and SCHED_FIFO at priority (0: leave it alone). On a
// shared machine this keeps a sleeping core's wake-ups on time; it costs nothing asleep.
void prepare_fast_path_thread(int realtime_priority);

// Runs a core's loop, with capture on or off chosen once, here, not per packet.
// arg points at the core's Setup, copied first thing as the launcher may reuse it.
template <typename Core, typename Setup>
int run_fast_path_core(void* arg) {
  const Setup setup = *static_cast<const Setup*>(arg);
  prepare_fast_path_thread(setup.realtime_priority);
  auto core = std::make_unique<Core>(setup);
  if (setup.capture != nullptr) {
    core->template run<true>();
  } else {
    core->template run<false>();
  }
  return 0;
}

// Bytes of private area per mbuf: the capture timestamp (ns).
inline constexpr uint16_t kMbufPrivSize = 8;

}  // namespace migprobe::dataplane
