#pragma once
// The TCP flows of migprobe-dp, as the TX core runs them (DESIGN.md "The probe packet", TCP):
// one TcpEndpoint per TCP slot in a flat table, their timers on the TX core's deadline wheel
// (after its probe flows: wheel id = wheel_base + slot), the segments they emit built into
// mbufs and handed to the TX core's burst, the segments the RX core passes on (mbufs on a
// ring, stamped with their receive time) given to their endpoint, and the connection events
// put on a ring to the control thread. A TCP flow's local port is kTcpPortBase + its slot,
// so a segment finds its flow without a lookup table. No allocation or locks per segment.
//
// Time and the capture: a flow is given its segments, sent and received, in one order and
// at non-decreasing times, and the TX core's capture ring gets them in that order with
// those times: a received segment is captured here, when its flow takes it, stamped with
// its receive time or, when the TX core took it later than a segment it sent meanwhile,
// with that later time. So migprobe-analyze reads from the capture exactly what the live
// meter read. (With --capture-rx-only there is no TX capture: the TCP flows are left out.)

#include <rte_mbuf.h>

#include <cstdint>
#include <vector>

#include "analysis/drop_reason.h"
#include "dataplane/deadline_wheel.h"
#include "dataplane/dp_messages.h"
#include "dataplane/flow_array.h"
#include "dataplane/probe_frame.h"
#include "dataplane/tcp_endpoint.h"
#include "dataplane/tsc_clock.h"

struct rte_mempool;
struct rte_ring;

namespace migprobe::dataplane {

// Where the TCP flows' frames go: the TX core's transmit (and capture).
class TcpTransmit {
 public:
  virtual void transmit_tcp(rte_mbuf** pkts, uint16_t n) = 0;

 protected:
  ~TcpTransmit() = default;
};

class TcpFlows final : public TcpSink {
 public:
  // slots: the table's size; wheel_base: the wheel id of slot 0. clock is read at each
  // call (the TX core's, which a clock refresh replaces in place).
  // capture: the TX core's capture ring (null: no capture).
  TcpFlows(uint32_t slots, uint32_t wheel_base, rte_mempool* pool, rte_ring* events,
           rte_ring* capture, const TscCalibration* clock, DeadlineWheel* wheel,
           TxCounters* counters, TcpTransmit* transmit);

  // kAddTcpFlow, kSetTcpDstMac, kStopTcpFlow.
  void handle(const TxCommand& c, uint64_t now_tsc);
  // The timers of the slot behind a wheel id that came due.
  void on_due(uint32_t wheel_id, uint64_t now_tsc);
  // Takes the segments the RX core passed on (up to a burst), each to its flow.
  void receive(rte_ring* segments, uint64_t now_tsc);
  // Hands what the flows emitted to the TX core.
  void flush();
  // Copies every slot in use into out (sized to the slots, or left empty).
  void snapshot(std::vector<TcpFlowSnapshot>* out) const;
  uint32_t wheel_base() const { return wheel_base_; }

  // TcpSink: the endpoint being driven emits.
  void send(const TcpTx& segment) override;
  void event(const TcpEndpointEvent& event) override;

 private:
  struct Slot {
    TcpFrameAddress address;
    uint32_t flow_id = 0;
    bool used = false;
    bool running = false;  // added and not stopped
    bool started = false;  // its first SYN went (its MAC is known)
  };
  static constexpr uint16_t kOut = 64;

  // Now on the probe's clock, never before the last time a flow was given.
  uint64_t now_ns(uint64_t now_tsc);
  void reschedule(uint32_t slot, uint64_t now_tsc, uint64_t now_ns);
  void start(uint32_t slot, uint64_t now_tsc);

  FlowArray<TcpEndpoint> endpoints_;
  std::vector<Slot> slots_;
  uint32_t wheel_base_;
  rte_mempool* pool_;
  rte_ring* events_;
  rte_ring* capture_;
  const TscCalibration* clock_;
  DeadlineWheel* wheel_;
  TxCounters* counters_;
  TcpTransmit* transmit_;
  uint64_t last_ns_ = 0;
  // The slot whose endpoint is being driven, and the time it was given.
  uint32_t current_ = 0;
  uint64_t current_ns_ = 0;
  rte_mbuf* out_[kOut] = {};
  uint16_t n_out_ = 0;
};

}  // namespace migprobe::dataplane
