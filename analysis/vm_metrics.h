#pragma once
// VM metrics in the report: what a VM's diagnostics samples (VmSample records, journaled by
// orchestrator/vm_sampler.h) tell of it before, during and after each of its migrations, as
// rates (CPU %, NIC Mb/s, disk MB/s), and the memory and disk Nova reported transferred per
// second while the migration ran.
//
// A rate comes from pairs of consecutive samples of the same guest process: a pair whose
// counters or uptime went down spans a restart (the destination's process after a live
// migration) and is left out. A pair belongs to the phase its midpoint falls in: before
// (kVmBeforeLookbackNs up to the request), during (request to completed, or to failed), after
// (up to the settle time after that).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "analysis/journal.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// How far before a migration's request its "before" rates reach.
inline constexpr uint64_t kVmBeforeLookbackNs = 10'000'000'000ULL;

// A journal's VM samples per instance id, each list in time order.
using VmSamples = std::map<std::string, std::vector<const v1::VmSample*>>;
VmSamples index_vm_samples(const JournalContents& journal);

// The metrics of one migration from its VM's samples (time-ordered); false (and out
// untouched) when no pair of samples falls in any phase and Nova reported no transfer.
bool vm_metrics(const std::vector<const v1::VmSample*>& samples, const v1::MigrationEvent& m,
                uint64_t settle_ns, v1::VmMetrics* out);

// The mean of several migrations' metrics, phase by phase over those that measured it;
// out.migrations counts the metrics given.
v1::VmMetrics mean_vm_metrics(const std::vector<const v1::VmMetrics*>& metrics);

// Fills MigrationReport.vm of every target's migration that has samples.
void add_vm_metrics(const JournalContents& journal, uint64_t settle_ns, v1::Report* report);

// "CPU 3% · NIC 0.80 Mb/s in, 1.20 Mb/s out" for one phase (disk and drops when not 0), ""
// when it has no samples.
std::string vm_rates_text(const v1::VmRates& r);

// Three lines, "vm before", "vm during" (with the transfer rates) and "vm after", each
// starting with indent.
std::string vm_metrics_text(const v1::VmMetrics& vm, const std::string& indent);

}  // namespace migprobe::analysis
