#pragma once
// Builds the Report of a capture from its analysis: flows and their gaps grouped by target
// (those the journal names first), each gap's switchover announce, the announces and the
// dropped frames; tagged with the journal's migrations when one is given
// (report_builder.h). journal_report.h builds the same report from a journal alone.

#include "analysis/analyzer.h"
#include "analysis/report_builder.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// Builds the report. The analyzer must have finished.
v1::Report build_report(const Analyzer& analyzer, const ReportInputs& inputs);

}  // namespace migprobe::analysis
