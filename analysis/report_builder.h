#pragma once
// What building a Report takes, whichever its source: the inputs, the opening every report
// has, and the steps that follow once its targets hold their flows and gaps (tagging,
// per-migration figures, run statistics, the journal's coverage gaps and errors). The two
// builders call these: capture_report.h (a capture, with or without a journal) and
// journal_report.h (a journal alone), so that both give the same report of the same run.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/announce.h"
#include "analysis/journal.h"
#include "analysis/report_targets.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// The report format this code writes.
inline constexpr uint32_t kReportFormatVersion = 1;

// What the report is built from besides the analyzer (or the journal).
struct ReportInputs {
  // Where the report's input came from: capture, journal, their sizes and time span.
  v1::SourceInfo source;
  // Targets and migrations; empty when no journal was given. build_report_from_journal
  // takes its journal as an argument and ignores this one.
  const JournalContents* journal = nullptr;
  // A gap belongs to a migration whose [requested, completed + settle] window it overlaps.
  uint64_t settle_ns = 2'000'000'000;
  // Report.generator; empty for the builder's own ("migprobe-analyze" for a capture,
  // "migprobe-control" for a journal).
  std::string generator;
  // Journal reports only (a capture's come from its analyzer): the thresholds the dataplane
  // detected gaps with. The flows' own reply timeout, when the journal has one, wins.
  uint64_t outage_threshold_ns = 1'000'000;
  uint64_t reply_timeout_ns = 1'000'000'000;
};

// The opening of a report: format version, generator (inputs.generator, else
// default_generator), source (inputs.source), and the settings its gaps were detected and
// tagged with (settings, with the tracker's reorder window added).
v1::Report start_report(const ReportInputs& inputs, std::string_view default_generator,
                        v1::AnalysisSettings settings);

// Everything that follows once each target holds its flows and their gaps, in this order:
// tags every gap with its migration (GapEvent.migration_number), adds each target's
// MigrationReports, the unattributed gaps, the migrations with their counts, the targets
// (with their MACs), the downtime statistics, the evacuations and their durations per
// direction, and the journal's coverage gaps and errors. journal may be null (a capture
// alone: every gap unattributed).
void finish_report(std::vector<TargetBuild> targets, const std::vector<Announce>& announces,
                   const JournalContents* journal, uint64_t settle_ns, v1::Report* report);

}  // namespace migprobe::analysis
