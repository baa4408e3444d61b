#pragma once
// A bench for the real fast-path cores (dataplane/tx_core.cc, rx_core.cc) without a NIC, root
// or a network: the EAL runs in the test process on ordinary memory, the port is a net_ring
// over two rings the test holds (the TX core's frames land in one, the test's crafted frames
// go into the other), and the command, event, frame and TCP rings are made as migprobe-dp
// makes them. The test plays the control thread (commands, snapshots, events) and the target
// VMs (it reads the probes and answers them, or not; it plays a TCP flow's peer by hand).

#include <gtest/gtest.h>
#include <pthread.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "analysis/drop_reason.h"
#include "analysis/packet.h"
#include "analysis/probe_trailer.h"
#include "dataplane/core_link.h"
#include "dataplane/dp_messages.h"
#include "dataplane/lcore_cores.h"
#include "dataplane/probe_frame.h"
#include "dataplane/reflector/reflection.h"
#include "dataplane/tsc_clock.h"

struct rte_mempool;
struct rte_ring;

namespace migprobe::dataplane::cores_test {

// The EAL of the test binary, started once for all tests (it cannot start twice in a
// process): --no-huge, no PCI, no shared files, no telemetry; the test's thread is the main
// lcore and two workers share the CPUs the process may use.
class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;

  // Empty when the EAL runs; otherwise what failed.
  static const std::string& failure();
  static unsigned tx_lcore();
  static unsigned rx_lcore();
  // The thread behind a worker lcore, so that a test can stall it with a signal.
  static pthread_t thread_of(unsigned lcore);
  // The probe's clock the cores are given, measured as migprobe-dp measures it (the TSC
  // against CLOCK_MONOTONIC_RAW over 50 ms).
  static const TscCalibration& clock();
};

// The CPUs this process may run on: the lcores are pinned to them, whatever they are.
std::vector<int> allowed_cpus();

// Now on the probe's clock (ns).
uint64_t probe_now_ns();
// Sleeps the calling thread.
void sleep_ns(uint64_t ns);

// An endpoint on the test's wire: the probe or a VM.
struct Host {
  analysis::MacAddress mac{};
  uint32_t ip = 0;  // host order
};

using Frame = std::vector<uint8_t>;

// IPv4 in an untagged Ethernet frame, padded to 60 bytes, header checksum set.
Frame ipv4_frame(const Host& src, const Host& dst, uint8_t proto, const std::vector<uint8_t>& l4);
// ICMP echo (type 8) or echo reply (type 0) with the given payload; checksum set.
Frame icmp_echo(const Host& src, const Host& dst, uint8_t type, uint16_t id, uint16_t seq,
                const std::vector<uint8_t>& payload);
// A UDP datagram; checksum set.
Frame udp_datagram(const Host& src, const Host& dst, uint16_t sport, uint16_t dport,
                   const std::vector<uint8_t>& payload);
// ARP (ethertype 0x0806) or RARP (0x8035) frame from sender_mac to eth_dst.
Frame arp_frame(uint16_t ethertype, uint16_t op, const analysis::MacAddress& eth_dst,
                const Host& sender, const Host& target);
// A TCP segment without payload from a.src_* to a.dst_*, as build_tcp_frame lays it out
// (the options t asks for, padded to 60 bytes, IPv4 and TCP checksums set).
Frame tcp_frame(const TcpFrameAddress& a, const TcpTx& t);
// Offset of the TCP header in an untagged IPv4 frame.
inline constexpr size_t kTcpOffset = 14 + 20;
// Recomputes the IPv4 header checksum and the ICMP or UDP checksum of an untagged frame
// after a test changed it.
void refresh_checksums(Frame* f);
// Offset of the L4 payload (the trailer) in an untagged IPv4 ICMP or UDP frame.
inline constexpr size_t kPayloadOffset = 14 + 20 + 8;
// Decodes, changes and re-encodes the trailer of an untagged probe or reply frame
// (checksums refreshed). Returns false when the frame has no trailer.
bool rewrite_trailer(Frame* f, const std::function<void(analysis::ProbeTrailer*)>& change);

// A frame the TX core sent, as the test took it from the port.
struct SentFrame {
  Frame bytes;
  uint64_t seen_ns = 0;  // when the test took it, on the probe's clock
  analysis::DropReason parse = analysis::DropReason::kNone;
  analysis::ParsedPacket packet;  // payload pointer cleared (the bytes move)
  bool probe = false;             // a valid trailer follows the L4 header
  analysis::ProbeTrailer trailer;
};

// What a guest's kernel answers to an ICMP probe: the echo reply with the same identifier,
// sequence and payload (trailer included).
Frame icmp_reply_to(const SentFrame& probe);
// What migprobe-reflector answers to a UDP probe: the payload through reflector::Reflection
// ("mr" magic, its receive counter appended), ports and addresses swapped.
Frame udp_reply_to(const SentFrame& probe, reflector::Reflection* reflector);

// How one rig is made.
struct RigOptions {
  uint32_t max_flows = 16;
  // Size of the ring the TX core's port writes into (a power of two; holds one less).
  unsigned tx_ring_size = 1024;
  unsigned rx_ring_size = 1024;
  unsigned events_ring_size = 16384;  // as migprobe-dp
  bool idle_sleep = true;             // as migprobe-dp on a virtual port
  // Replay: flows learned from requests and replies.
  bool learn_flows = false;
  // Stamp received frames with the mbuf's timestamp field (in us, as net_pcap does).
  bool port_timestamps = false;
  uint64_t reply_timeout_ns = 50'000'000;
  uint64_t outage_threshold_ns = 5'000'000;
  Host probe{{0x02, 0, 0, 0, 0, 0x01}, 0x0a4d0001};  // 10.77.0.1
  // TCP flow slots (local ports kTcpPortBase + slot), as migprobe-dp --max-tcp-flows.
  uint32_t tcp_slots = 4;
};

// One flow as the control thread configures it.
struct FlowSpec {
  uint32_t id = 0;
  ProbeKind kind = ProbeKind::kIcmpEcho;
  uint64_t interval_ns = 1'000'000;
  Host target;
  uint8_t generation = 1;
};

// One TCP flow as the control thread configures it (probe_control.cc): its segments from
// target:peer_port to the probe's port kTcpPortBase + slot go to the TX core, which runs it.
struct TcpFlowSpec {
  uint32_t slot = 0;
  uint32_t flow_id = 0;
  Host target;
  uint16_t peer_port = 7;
  uint64_t rate_bytes_per_s = 1'000'000;
  uint32_t segment_bytes = 1000;
  bool echo = true;
  uint8_t generation = 1;
};

// Counter copies (the snapshot structs hold an atomic and do not copy).
struct TxView {
  TxCounters totals;
  std::vector<TxFlowStats> flows;
  std::vector<TcpFlowSnapshot> tcp;  // by TCP slot
  uint64_t drops(analysis::DropReason r) const { return totals.drops[static_cast<size_t>(r)]; }
  uint64_t all_drops() const {
    uint64_t n = 0;
    for (uint64_t d : totals.drops) n += d;
    return n;
  }
};
struct RxView {
  RxCounters totals;
  std::vector<RxFlowStats> flows;
  uint64_t drops(analysis::DropReason r) const { return totals.drops[static_cast<size_t>(r)]; }
  uint64_t all_drops() const {
    uint64_t n = 0;
    for (uint64_t d : totals.drops) n += d;
    return n;
  }
};

// A port, a pool, the rings and the two cores running on them.
class CoreRig {
 public:
  explicit CoreRig(const RigOptions& o);
  ~CoreRig();
  CoreRig(const CoreRig&) = delete;
  CoreRig& operator=(const CoreRig&) = delete;

  // Empty when the rig runs; otherwise what failed.
  const std::string& error() const { return error_; }
  const RigOptions& options() const { return o_; }

  // Adds a flow as probe_control.cc does: RX first, a barrier (frames the RX core took
  // before the add are handled first), then TX with the probe headers laid out.
  void add_flow(const FlowSpec& f);
  // Stops the TX core sending a flow (RX keeps it).
  void stop_sending(uint32_t id);
  // Adds a TCP flow as probe_control.cc does: the RX core's route first, a barrier, then the
  // TX core's flow, its MAC resolved (it connects at once).
  void add_tcp_flow(const TcpFlowSpec& f);
  // Stops a TCP flow (a FIN after what is outstanding); its route stays.
  void stop_tcp_flow(uint32_t slot);
  // The probe's side of a TCP flow's frames (host order), as the TX core sends them.
  TcpFrameAddress tcp_address(const TcpFlowSpec& f) const;
  // Settles every flow as at the end of a run and waits for the kFinished event.
  // end_ns 0: the RX core's now.
  bool finish(uint64_t end_ns, const std::vector<TxFlowStats>* sent);
  TxView tx_snapshot();
  RxView rx_snapshot();

  // Frames the TX core handed to the port since the last call.
  std::vector<SentFrame> take_sent();
  // Puts a frame on the RX core's port; with port_ts_us, stamped as net_pcap would.
  bool inject(const Frame& f);
  bool inject(const Frame& f, uint64_t port_ts_us);
  // Waits until the RX core took every injected frame off its ring (it handles a burst
  // before the next command).
  bool wait_rx_ring_empty(uint64_t timeout_ns = 1'000'000'000);
  // Events the RX core posted since the rig started (taken off the ring on each call).
  const std::vector<RxEvent>& events();
  // Connection events of the TCP flows since the rig started (taken off the ring on each
  // call).
  const std::vector<TcpFlowEvent>& tcp_events();

  // Stops the cores (kQuit, waits for the lcores), frees the frames left on every ring.
  // Returns the mbufs the pool does not have back (0 when nothing leaked).
  unsigned stop();

 private:
  // Makes the pool, rings and port and launches the cores; error_ says what failed.
  void init();
  void fail(const std::string& what);
  void send_tx(const TxCommand& c);
  void send_rx(const RxCommand& c);
  void drain_ring_mbufs(rte_ring* r);
  bool put_on_wire(const Frame& f, bool stamp, uint64_t port_ts_us);

  RigOptions o_;
  std::string error_;
  std::string port_name_;
  rte_mempool* pool_ = nullptr;
  rte_ring* port_rx_ = nullptr;  // test -> RX core
  rte_ring* port_tx_ = nullptr;  // TX core -> test
  rte_ring* tx_commands_ = nullptr;
  rte_ring* rx_commands_ = nullptr;
  rte_ring* events_ = nullptr;
  rte_ring* frames_ = nullptr;
  rte_ring* tcp_segments_ = nullptr;  // RX -> TX (mbuf pointers)
  rte_ring* tcp_events_ = nullptr;    // TX -> test (TcpFlowEvent)
  int port_ = -1;
  bool port_started_ = false;
  bool running_ = false;
  // The control thread's own link to the cores: commands, snapshots, the finish.
  std::unique_ptr<CoreLink> link_;
  unsigned pool_size_ = 0;
  int ts_offset_ = -1;
  uint64_t ts_flag_ = 0;
  TxCoreSetup tx_setup_;
  RxCoreSetup rx_setup_;
  std::vector<RxEvent> events_seen_;
  std::vector<TcpFlowEvent> tcp_events_seen_;
};

// Stalls a worker lcore's thread for about ns (a signal whose handler sleeps), as a host
// that deschedules a vCPU would. Returns the stall's start and end on the probe's clock.
struct Stall {
  uint64_t begin_ns = 0;
  uint64_t end_ns = 0;
};
bool stall_lcore(unsigned lcore, uint64_t ns, Stall* out);

}  // namespace migprobe::dataplane::cores_test
