#pragma once
// Builds the Report message from an analysis: flows and their gaps grouped by target,
// switchover announces matched to gaps, gaps tagged with the migrations of the journal
// (DESIGN.md "Tagging"), and per-run statistics.

#include <string>

#include "analysis/analyzer.h"
#include "analysis/journal.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// The report format this code writes.
inline constexpr uint32_t kReportFormatVersion = 1;

// What the report is built from besides the analyzer.
struct ReportInputs {
  v1::SourceInfo source;
  // Targets and migrations; empty when no journal was given.
  const JournalContents* journal = nullptr;
  // A gap belongs to a migration whose [requested, completed + settle] window it overlaps.
  uint64_t settle_ns = 2'000'000'000;
};

// Builds the report. The analyzer must have finished.
v1::Report build_report(const Analyzer& analyzer, const ReportInputs& inputs);

// Converts an analysis gap to its message (no announce, no target name).
v1::GapEvent to_gap_event(const Gap& gap, v1::FlowKind kind);

// Mean, median, p95 (nearest rank), min and max of values (ns).
v1::DowntimeStats downtime_stats(std::vector<uint64_t> values);

}  // namespace migprobe::analysis
