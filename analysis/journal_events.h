#pragma once
// What a report takes from the journal's event records: each migration and each evacuation
// direction in its final state (the journal appends a full record at every change), the
// switchover announces, the times the probe was not measuring, and the errors.

#include <cstdint>
#include <vector>

#include "analysis/announce.h"
#include "analysis/journal.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// Each migration in its newest record, keyed by (campaign, iteration, instance, requested),
// in the order migrations first appear; a request Nova never took (outcome NOT_MADE) is left
// out. journal may be null (none).
std::vector<v1::MigrationEvent> merge_migrations(const JournalContents* journal);

// Each evacuation direction in its newest record, keyed by (campaign, iteration, source,
// dest), in the order they first appear. journal may be null (none).
std::vector<v1::EvacuationEvent> merge_evacuations(const JournalContents* journal);

// The journal's AnnounceEvent records as the detector holds announces (sorted by time).
std::vector<Announce> journal_announces(const JournalContents& journal);

// A time the probe was not measuring, [from_ns, to_ns].
struct CoverageSpan {
  uint64_t from_ns = 0;
  // UINT64_MAX for a coverage gap without an end: it lasted to the end of the run.
  uint64_t to_ns = 0;
};

// The journal's coverage gaps, in journal order. journal may be null (none).
std::vector<CoverageSpan> coverage_spans(const JournalContents* journal);

// Copies the journal's coverage gaps and errors into the report, in journal order.
void add_coverage_gaps_and_errors(const JournalContents& journal, v1::Report* report);

}  // namespace migprobe::analysis
