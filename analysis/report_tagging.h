#pragma once
// Tagging gaps with migrations (DESIGN.md "Tagging"): a gap belongs to a migration of its
// target whose window [requested, completed + settle] it overlaps. A gap that none of its
// own target's migrations explains but that lies inside another target's window is a
// neighbour gap (the VM was hit while another one moved: a loaded host, a busy bridge); a
// gap outside every window is unattributed. None is dropped. Each migration then gets the
// figures of its gaps (downtime as their union, the longest gap per flow kind with its
// bounds, the losses), what it cost its neighbours, its switchover announce, and a flag
// when the probe was not measuring during its window.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "analysis/announce.h"
#include "analysis/gap.h"
#include "analysis/journal_events.h"
#include "analysis/report_targets.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// The end of a migration's window: completed (or failed) + settle; UINT64_MAX while it
// runs.
uint64_t window_end(const v1::MigrationEvent& m, uint64_t settle_ns);

// The estimated outage interval of a gap message: Gap::span()'s formula (gap.h) on the
// fields the message carries.
GapSpan gap_span(const v1::GapEvent& gap);

// A gap's place in the targets being built, its estimated span and its migration.
struct TaggedGap {
  size_t target = 0;
  int flow = 0;
  int index = 0;
  GapSpan span;
  // Index of its migration, or -1.
  int migration = -1;
  // With no migration of its own: index of another target's migration whose window holds
  // it, or -1 (unattributed).
  int neighbour = -1;
};

// Every gap of a report's targets with its migration.
struct GapTags {
  // In target, flow, gap order.
  std::vector<TaggedGap> gaps;
  // Per migration: the indices in gaps of the gaps tagged with it, and of the neighbour
  // gaps inside its window.
  std::vector<std::vector<size_t>> of_migration;
  std::vector<std::vector<size_t>> neighbours_of;
};

// Tags every gap of the targets with its migration, or else with a neighbour's, and marks
// each GapEvent with it (migration_number or neighbour_migration_number: the migration's
// index + 1, 0 for none). When windows overlap (back-to-back migrations of one VM, each
// with its settle time; several VMs moving at once), the cause is the newest migration
// requested before the gap began; a gap that began before any of them goes to the one it
// overlaps most.
GapTags tag_gaps(const std::vector<v1::MigrationEvent>& migrations, const MigrationTargets& matched,
                 uint64_t settle_ns, std::vector<TargetBuild>* targets);

// Adds to each migration's target its MigrationReport, in journal order: the migration and
// its number, the figures of its gaps, the first announce from the target in its window,
// and whether one of the coverage spans overlaps that window.
void add_migration_reports(const std::vector<v1::MigrationEvent>& migrations,
                           const MigrationTargets& matched, const GapTags& tags,
                           const std::vector<Announce>& announces,
                           const std::vector<CoverageSpan>& coverage, uint64_t settle_ns,
                           std::vector<TargetBuild>* targets);

// Adds the neighbour gaps to the report's neighbour gaps and the gaps outside every window
// to its unattributed gaps, each in target, flow, gap order.
void add_untagged_gaps(const GapTags& tags, const std::vector<TargetBuild>& targets,
                       v1::Report* report);

}  // namespace migprobe::analysis
