#include "dataplane/core_link.h"

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <chrono>
#include <thread>

namespace migprobe::dataplane {

namespace {

void pause_briefly() {
  std::this_thread::sleep_for(std::chrono::microseconds(100));
}

}  // namespace

void CoreLink::send_tx(const TxCommand& c) {
  while (rte_ring_sp_enqueue_elem(rings_.tx_commands, const_cast<TxCommand*>(&c), sizeof(c)) != 0) {
    on_wait_();
    pause_briefly();
  }
}

void CoreLink::send_rx(const RxCommand& c) {
  while (rte_ring_sp_enqueue_elem(rings_.rx_commands, const_cast<RxCommand*>(&c), sizeof(c)) != 0) {
    on_wait_();
    pause_briefly();
  }
}

void CoreLink::wait_for(const std::function<bool()>& done) {
  while (!done()) {
    on_wait_();
    pause_briefly();
  }
}

void CoreLink::request_snapshot(TxSnapshot* tx, RxSnapshot* rx) {
  if (tx != nullptr) {
    TxCommand c;
    c.op = TxCommand::kSnapshot;
    c.snapshot = tx;
    send_tx(c);
  }
  if (rx != nullptr) {
    RxCommand r;
    r.op = RxCommand::kSnapshot;
    r.snapshot = rx;
    send_rx(r);
  }
}

void CoreLink::barrier_rx() {
  RxSnapshot snap;  // no flows: only the totals are copied
  snapshot_rx(&snap);
}

void CoreLink::set_clock(const TscCalibration& clock) {
  TxCommand c;
  c.op = TxCommand::kSetClock;
  c.clock = clock;
  send_tx(c);
  RxCommand r;
  r.op = RxCommand::kSetClock;
  r.clock = clock;
  send_rx(r);
}

void CoreLink::stop_tx_flow(uint32_t flow_id) {
  TxCommand c;
  c.op = TxCommand::kRemoveFlow;
  c.flow_id = flow_id;
  send_tx(c);
}

void CoreLink::remove_rx_flow(uint32_t flow_id) {
  RxCommand r;
  r.op = RxCommand::kRemoveFlow;
  r.flow_id = flow_id;
  send_rx(r);
}

void CoreLink::remove_flow(uint32_t flow_id) {
  stop_tx_flow(flow_id);
  remove_rx_flow(flow_id);
}

void CoreLink::snapshot_tx(TxSnapshot* tx) {
  request_snapshot(tx, nullptr);
  wait_for([tx] { return tx->done.load(std::memory_order_acquire); });
}

void CoreLink::snapshot_rx(RxSnapshot* rx) {
  request_snapshot(nullptr, rx);
  wait_for([rx] { return rx->done.load(std::memory_order_acquire); });
}

void CoreLink::snapshot(TxSnapshot* tx, RxSnapshot* rx) {
  request_snapshot(tx, rx);
  wait_for([tx, rx] {
    return tx->done.load(std::memory_order_acquire) && rx->done.load(std::memory_order_acquire);
  });
}

void CoreLink::finish_rx(uint64_t end_ns, const std::vector<TxFlowStats>* sent,
                         const std::function<bool()>& finished) {
  RxCommand r;
  r.op = RxCommand::kFinish;
  r.end_ns = end_ns;
  r.sent = sent;
  send_rx(r);
  wait_for(finished);
}

}  // namespace migprobe::dataplane
