#pragma once
// A gap in one probe flow, as DESIGN.md "Downtime" defines it.

#include <cstdint>

namespace migprobe::analysis {

// A maximal run of probes that got no reply within the reply timeout, bounded by the
// answered probes a (seq_before) and b (seq_after). Times are ns on the probe's clock.
struct Gap {
  uint32_t flow_id = 0;
  uint32_t seq_before = 0;
  uint32_t seq_after = 0;
  uint32_t lost = 0;
  uint64_t tx_before_ns = 0;
  uint64_t tx_after_ns = 0;
  // When the reply to b arrived: a switchover announce must come before it.
  uint64_t rx_after_ns = 0;
  uint64_t interval_ns = 0;
  // The outage lies in [lower_ns, upper_ns]; estimate_ns = tx(b) - tx(a) - interval. For an
  // open gap upper_ns is 0 (unknown) and estimate_ns = lower_ns (a floor).
  uint64_t estimate_ns = 0;
  uint64_t lower_ns = 0;
  uint64_t upper_ns = 0;
  bool outage = false;
  bool open_start = false;
  bool open_end = false;
  bool has_direction = false;
  uint32_t forward_lost = 0;
  uint32_t return_lost = 0;

  // The estimated outage interval [start, end) on the probe's clock: the middle of the
  // bounds, used for unions and timelines.
  uint64_t start_ns() const { return end_ns() - estimate_ns; }
  uint64_t end_ns() const {
    return open_end ? tx_before_ns + interval_ns / 2 + estimate_ns : tx_after_ns - interval_ns / 2;
  }
};

}  // namespace migprobe::analysis
