#pragma once
// The detector's results as their messages, written once for migprobe-dp (live) and for
// migprobe-analyze (offline): a gap as a GapEvent, its split at a switchover announce, and a
// flow's counters. Times are the detector's; time_offset_ns is added to every absolute time
// (the live dataplane's CLOCK_REALTIME steps, tsc_clock.h; 0 offline).

#include <cstdint>

#include "analysis/announce.h"
#include "analysis/flow_tracker.h"
#include "analysis/gap.h"
#include "migprobe/v1/events.pb.h"
#include "migprobe/v1/probe.pb.h"

namespace migprobe::analysis {

// A gap as its message (no target name, no announce).
v1::GapEvent to_gap_event(const Gap& gap, v1::FlowKind kind, int64_t time_offset_ns = 0);

// Marks the gap's switchover announce and splits the gap at it (announce.h): the part
// before (VM paused) and after (network convergence).
void set_gap_announce(const Gap& gap, const Announce& announce, v1::GapEvent* out,
                      int64_t time_offset_ns = 0);

// A flow's reply counters into a message that has the FlowReport / FlowStats fields.
template <typename FlowMessage>
void set_flow_counters(const FlowCounters& c, FlowMessage* out) {
  out->set_answered(c.answered);
  out->set_lost(c.lost);
  out->set_late(c.late);
  out->set_duplicates(c.duplicates);
  out->set_reordered(c.reordered);
  out->set_rtt_min_ns(c.rtt_min_ns);
  out->set_rtt_max_ns(c.rtt_max_ns);
  out->set_rtt_mean_ns(c.rtt_samples != 0 ? c.rtt_sum_ns / c.rtt_samples : 0);
}

}  // namespace migprobe::analysis
