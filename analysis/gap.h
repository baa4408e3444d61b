#pragma once
// A gap in one probe flow, as DESIGN.md "Downtime" defines it.

#include <cstdint>

namespace migprobe::analysis {

// Where a gap's outage is estimated to lie on the probe's clock, [start_ns, end_ns): the middle
// of its bounds, for unions, tagging, timelines and the announce split.
struct GapSpan {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
};

// The one formula for that span, from what both a Gap and its GapEvent message carry. The
// outage lies within [tx(b-1) - tx(a+1), tx(b) - tx(a)]: its estimate is centred in it, so it
// ends half an interval before tx(b). A gap still open at the end (no b) starts half an
// interval after tx(a) and lasts its estimate.
inline GapSpan estimated_span(uint64_t tx_before_ns, uint64_t tx_after_ns, uint64_t interval_ns,
                              uint64_t estimate_ns, bool open_end) {
  const uint64_t end_ns =
      open_end ? tx_before_ns + interval_ns / 2 + estimate_ns : tx_after_ns - interval_ns / 2;
  return {end_ns - estimate_ns, end_ns};
}

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

  // The estimated outage interval (estimated_span above).
  GapSpan span() const {
    return estimated_span(tx_before_ns, tx_after_ns, interval_ns, estimate_ns, open_end);
  }
  // Where it starts (the announce split measures from there).
  uint64_t start_ns() const { return span().start_ns; }
};

}  // namespace migprobe::analysis
