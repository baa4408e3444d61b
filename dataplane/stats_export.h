#pragma once
// The dataplane's Stats message from what its parts count: the cores' snapshots, the flow
// registry, the capture writer and the event publisher. What the process says about itself
// (times, pid, port, clock) the control thread adds. And the stats file (--stats) with the
// one-line summary on the terminal at exit. No DPDK.

#include <string>

#include "base/result.h"
#include "dataplane/capture_thread.h"
#include "dataplane/dp_messages.h"
#include "dataplane/event_publisher.h"
#include "dataplane/flow_registry.h"
#include "migprobe/v1/dataplane.pb.h"

namespace migprobe::dataplane {

// Counters of every table, zero or not (tx, rx, drops, events; capture when there is one),
// and, when the snapshots carry per-flow figures, one FlowStats per flow in use or seen.
void export_counters(const TxSnapshot& tx, const RxSnapshot& rx, const FlowRegistry& registry,
                     const CaptureCounters* capture, const PublisherCounters& events,
                     v1::Stats* out);

// Writes s as JSON (proto field names, every field) to path, whole or not at all.
base::Status write_stats_json(const v1::Stats& s, const std::string& path);

// "probes sent N, replies M": the run in one line.
std::string stats_summary(const v1::Stats& s);

}  // namespace migprobe::dataplane
