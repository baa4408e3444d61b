#include "analysis/gap_event.h"

namespace migprobe::analysis {

namespace {

uint64_t shifted(uint64_t ns, int64_t offset_ns) {
  return ns + static_cast<uint64_t>(offset_ns);
}

}  // namespace

v1::GapEvent to_gap_event(const Gap& gap, v1::FlowKind kind, int64_t time_offset_ns) {
  v1::GapEvent ev;
  ev.set_flow_id(gap.flow_id);
  ev.set_flow_kind(kind);
  ev.set_seq_before(gap.seq_before);
  ev.set_seq_after(gap.seq_after);
  ev.set_lost(gap.lost);
  ev.set_tx_before_ns(shifted(gap.tx_before_ns, time_offset_ns));
  ev.set_tx_after_ns(shifted(gap.tx_after_ns, time_offset_ns));
  ev.set_estimate_ns(gap.estimate_ns);
  ev.set_lower_bound_ns(gap.lower_ns);
  ev.set_upper_bound_ns(gap.upper_ns);
  ev.set_interval_ns(gap.interval_ns);
  ev.set_outage(gap.outage);
  ev.set_open_start(gap.open_start);
  ev.set_open_end(gap.open_end);
  ev.set_has_direction(gap.has_direction);
  ev.set_forward_lost(gap.forward_lost);
  ev.set_return_lost(gap.return_lost);
  return ev;
}

void set_gap_announce(const Gap& gap, const Announce& announce, v1::GapEvent* out,
                      int64_t time_offset_ns) {
  const AnnounceSplit split = split_at_announce(gap, announce.seen_ns);
  out->set_has_announce(true);
  out->set_announce_ns(shifted(announce.seen_ns, time_offset_ns));
  out->set_before_announce_ns(split.before_ns);
  out->set_after_announce_ns(split.after_ns);
}

}  // namespace migprobe::analysis
