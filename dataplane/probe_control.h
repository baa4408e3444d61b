#pragma once
// The control thread of migprobe-dp (the EAL main lcore). It holds the parts together and
// does what is left: the run (start, stop and the shutdown sequence), neighbour resolution,
// the clock's refreshes, and what the RX core's events change. Its parts:
//   flow_registry   targets and flow ids          core_link      commands to the cores
//   event_publisher events to subscribers, file   event_messages RX events as messages
//   stats_export    the Stats message and file    tsc_clock      the probe's clock
// It reaches the lcores through SPSC rings only (core_link); the gRPC threads reach it
// through its task queue (call).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "dataplane/capture_thread.h"
#include "dataplane/core_link.h"
#include "dataplane/dp_messages.h"
#include "dataplane/event_publisher.h"
#include "dataplane/flow_registry.h"
#include "dataplane/lcore_cores.h"
#include "dataplane/neighbour_table.h"
#include "dataplane/options.h"
#include "dataplane/port_setup.h"
#include "migprobe/v1/dataplane.pb.h"

namespace migprobe::dataplane {

class ProbeControl {
 public:
  ProbeControl(const Options& o, const PortInfo& port, const CoreRings& rings,
               const ProbeClock& clock, CaptureThread* capture);

  // Runs until a stop signal (or --duration / --exit-after-idle), then shuts down:
  // stop TX, drain RX for the reply timeout, settle every flow, final stats.
  void run(volatile int* stop_signal);

  // Called from other threads (gRPC): runs fn on the control thread and waits for it.
  // False, fn not run, once the control thread has stopped taking tasks (shutdown): a
  // call must never wait for a thread that will not come back for it.
  bool call(const std::function<void()>& fn);

  // Control API, on the control thread.
  base::Status configure(const std::vector<TargetParams>& targets, bool replace,
                         v1::ConfigureReply* reply);
  uint32_t remove_targets(const std::vector<std::string>& names);
  uint32_t start();
  void stop();
  void stats(bool per_flow, v1::Stats* out);
  std::shared_ptr<EventQueue> subscribe();

 private:
  void tick(uint64_t now);
  void poll_events();
  void on_event(const RxEvent& e);
  // Points every flow of the targets at ip to mac (a neighbour resolved or moved).
  void point_flows_at(uint32_t ip, const analysis::MacAddress& mac);
  // TCP flows: their slot (kNoTcpSlot for other flows), slots for the TCP flows of added
  // targets, the slots of removed ones back; a flow stopped in the TX core (a FIN), and the
  // figures of TCP flows as events (when they end).
  uint32_t tcp_slot(uint32_t flow_id) const {
    return flow_id < tcp_slots_.size() ? tcp_slots_[flow_id] : kNoTcpSlot;
  }
  // A TCP stream flow (run by the TX core's TcpFlows); tcp-syn flows have a TCP slot (their
  // port) but are probe flows like ICMP and UDP.
  bool tcp_stream(uint32_t flow_id) const {
    const FlowRegistry::Flow* f = registry_.flow(flow_id);
    return f != nullptr && f->params.kind == ProbeKind::kTcpStream;
  }
  void assign_tcp_slots(const std::vector<uint32_t>& added_targets);
  void stop_tcp_flows(const std::vector<uint32_t>& flow_ids);
  void emit_tcp_figures(const std::vector<uint32_t>& flow_ids);
  // Replay: the figures of the probe's TCP flows the RX core measured from the capture.
  void emit_replayed_tcp_figures();
  void poll_tcp_events();
  void emit(const v1::Event& e);
  // Adds flows to both cores: to RX first, and to TX only once RX has taken them, so no
  // reply can find its flow missing.
  void add_flows_to_cores(const std::vector<uint32_t>& flow_ids);
  void refresh_clock();
  // The clock record: the calibration in force and what its last refresh found.
  void fill_clock(v1::ClockCalibration* out) const;
  // Now on the probe's clock, the one the cores stamp with (never steps).
  uint64_t probe_now() const;
  // What turns a timestamp of the cores into one that leaves the process: CLOCK_REALTIME,
  // steps included. Replayed timestamps are the capture's own and stay as they are.
  int64_t time_offset_ns() const { return port_.timestamps ? 0 : clock_.realtime_offset_ns(); }
  void snapshot(TxSnapshot* tx, RxSnapshot* rx, bool per_flow);
  void shutdown();
  void run_tasks();
  void write_stats_file();
  // A flow's reply timeout: its own, else the run's default.
  uint64_t reply_timeout(const FlowParams& f) const {
    return f.reply_timeout_ns != 0 ? f.reply_timeout_ns : o_.reply_timeout_ns;
  }

  static constexpr uint32_t kNoTcpSlot = UINT32_MAX;

  Options o_;
  PortInfo port_;
  CoreLink link_;
  ProbeClock clock_;
  ClockRefresh last_refresh_;
  uint64_t last_refresh_real_ns_ = 0;
  CaptureThread* capture_;
  ProbeIdentity self_;
  NeighbourTable neighbours_;
  FlowRegistry registry_;
  std::vector<uint32_t> tcp_slots_;         // by flow id
  std::deque<uint32_t> free_tcp_slots_;     // a freed slot is used again last
  std::unordered_set<uint32_t> syn_flows_;  // tcp-syn flows (a TCP slot, a probe flow)
  bool running_ = false;
  uint8_t generation_ = 0;
  uint64_t run_started_ns_ = 0;
  // When this process built its control thread: tells clients apart a restarted dataplane.
  uint64_t process_started_ns_ = 0;
  EventPublisher publisher_;
  std::mutex tasks_mu_;
  std::deque<std::function<void()>> tasks_;
  bool taking_tasks_ = true;  // under tasks_mu_
  uint64_t last_rx_packets_ = 0;
  uint64_t last_rx_change_ns_ = 0;
  bool finished_ = false;
  uint64_t finished_ns_ = 0;  // where the RX core ended the run (kFinished)
};

}  // namespace migprobe::dataplane
