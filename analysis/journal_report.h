#pragma once
// Builds the Report from a journal alone, as migprobe-control writes it during a live run
// (targets, the gaps the dataplane streamed, announces, migrations, evacuations, final flow
// counters, coverage gaps, errors): the same report a capture gives, tagged by the same
// code (report_builder.h), so that a journal replays to the report of its run.

#include <cstdint>
#include <utility>

#include "analysis/journal.h"
#include "analysis/report_builder.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// Builds the report of journal. inputs.journal is ignored; inputs.source is completed
// (format "journal", the time span the journal covers, its record count) where left empty.
v1::Report build_report_from_journal(const JournalContents& journal, const ReportInputs& inputs);

// The first and last time the journal mentions (0 for none): the report's time origin, and
// when a stopped run was last heard of.
std::pair<uint64_t, uint64_t> journal_span(const JournalContents& journal);

}  // namespace migprobe::analysis
