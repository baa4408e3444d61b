#pragma once
// Builds the Report message from an analysis of a capture: flows and their gaps grouped by
// target, switchover announces matched to gaps, gaps tagged with the migrations of the
// journal (DESIGN.md "Tagging"), and per-run statistics. journal_report.h builds the same
// report from a journal alone.

#include <string>

#include "analysis/analyzer.h"
#include "analysis/journal.h"
#include "analysis/report_tagging.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// The report format this code writes.
inline constexpr uint32_t kReportFormatVersion = 1;

// What the report is built from besides the analyzer (or the journal).
struct ReportInputs {
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

// Builds the report. The analyzer must have finished.
v1::Report build_report(const Analyzer& analyzer, const ReportInputs& inputs);

}  // namespace migprobe::analysis
