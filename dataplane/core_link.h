#pragma once
// The control thread's link to the fast-path cores: commands into their SPSC rings, the RX
// barrier, snapshots of their counters, the end-of-run finish and a new clock for both.
// Every wait here keeps draining the RX core's events (on_wait), so that the RX core never
// stalls on a full event ring while the control thread waits for it.

#include <functional>
#include <vector>

#include "dataplane/dp_messages.h"

struct rte_ring;

namespace migprobe::dataplane {

// Rings between the control thread and the cores.
struct CoreRings {
  rte_ring* tx_commands = nullptr;
  rte_ring* rx_commands = nullptr;
  rte_ring* rx_events = nullptr;
  rte_ring* tcp_events = nullptr;  // TX -> control (TcpFlowEvent)
};

class CoreLink {
 public:
  // on_wait: called while waiting for a core (the control thread polls the RX events).
  CoreLink(const CoreRings& rings, std::function<void()> on_wait)
      : rings_(rings), on_wait_(std::move(on_wait)) {}

  // A full ring is waited out: the cores drain theirs every loop, so it only means a burst.
  void send_tx(const TxCommand& c);
  void send_rx(const RxCommand& c);
  // Returns once the RX core has handled every command sent to it before.
  void barrier_rx();
  // Both cores convert with clock from their next loop on.
  void set_clock(const TscCalibration& clock);
  // The flow stops in both cores; the RX core settles what it still holds first.
  void remove_flow(uint32_t flow_id);
  // The TX core stops sending a flow (the RX core keeps taking its replies).
  void stop_tx_flow(uint32_t flow_id);
  void remove_rx_flow(uint32_t flow_id);
  // Counters of both cores, or of one (per flow when the snapshots' flow vectors are
  // sized); waits for the copy.
  void snapshot(TxSnapshot* tx, RxSnapshot* rx);
  void snapshot_tx(TxSnapshot* tx);
  void snapshot_rx(RxSnapshot* rx);
  // The end of a run: the RX core settles every flow at end_ns (0: its own now), with the
  // last probe each one sent (sent: TX's per-flow figures; nullptr in a replay), then says
  // kFinished, which the caller's event handling turns into finished() == true.
  void finish_rx(uint64_t end_ns, const std::vector<TxFlowStats>* sent,
                 const std::function<bool()>& finished);

  rte_ring* events() const { return rings_.rx_events; }
  rte_ring* tcp_events() const { return rings_.tcp_events; }

 private:
  // Asks for a snapshot (either may be null) without waiting.
  void request_snapshot(TxSnapshot* tx, RxSnapshot* rx);
  // Waits, draining events, until done() holds.
  void wait_for(const std::function<bool()>& done);

  CoreRings rings_;
  std::function<void()> on_wait_;
};

}  // namespace migprobe::dataplane
