#pragma once
// The figures of a whole run (DESIGN.md "Outputs"): its migrations and how they ended, the
// success rate, the downtime per completed migration (mean, median, p95, max), and how long
// each evacuation direction took.

#include <cstdint>
#include <optional>
#include <vector>

#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// How long Nova held a migration queued before starting it: from its acceptance to the
// first poll that showed it running (or to its end, when it never ran), at the driver's
// polling resolution. 0 for a migration never seen queued.
uint64_t time_queued_ns(const v1::MigrationEvent& m);

// Count, mean, median, p95 and p99 (nearest rank), min and max of values (ns).
v1::DowntimeStats downtime_stats(std::vector<uint64_t> values);

// Adds the run's migrations, in journal order, and the counts of those completed and of
// those failed or aborted.
void add_migrations(const std::vector<v1::MigrationEvent>& migrations, v1::Report* report);

// The share of migrations that completed among those that ended (completed, failed or
// aborted), in percent; none while no migration has ended.
std::optional<double> success_rate_percent(const v1::Report& report);

// The statistics of the downtime (the union over its flows) of every completed migration of
// every target in the report: the run's headline figure.
v1::DowntimeStats completed_downtime(const v1::Report& report);

// Per-direction durations of finished, not interrupted evacuation directions, grouped by
// source -> dest in the order the directions first appear.
std::vector<v1::DirectionStats> evacuation_time(const std::vector<v1::EvacuationEvent>& evacs);

// Adds the evacuation directions and their durations per direction (evacuation_time).
void add_evacuations(const std::vector<v1::EvacuationEvent>& evacs, v1::Report* report);

}  // namespace migprobe::analysis
