#pragma once
// The part of building a Report that the capture path (report_builder.cc) and the journal
// path (journal_report.cc) share, so that both tag gaps and compute per-migration and
// per-run figures with one implementation: targets, switchover announces, tagging gaps with
// migrations (DESIGN.md "Tagging"), per-migration downtime, run statistics, evacuations,
// coverage gaps and errors.

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/gap.h"
#include "analysis/journal.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// One target while its report is built: the message, plus what matching announces needs.
struct TargetBuild {
  v1::TargetReport report;
  MacAddress mac{};
  bool mac_known = false;
  uint32_t ipv4 = 0;  // host order, 0 when not IPv4
};

// The targets of a report being built, in the order they were first named.
class ReportTargets {
 public:
  // The target with this IP; a new one (named by its IP) when none has it yet.
  TargetBuild& add_ip(const std::string& ip);
  // The journal's Target records, in journal order: IP, name, MAC.
  void add_journal_targets(const JournalContents& journal);
  // Index of the target with this IP, or -1.
  int find_ip(const std::string& ip) const;
  // Index of the first target named name (or, failing that, with name as its IP), or -1.
  int find_name(const std::string& name) const;

  // Names change through add_ip and add_journal_targets only: find_name's index follows them.
  std::vector<TargetBuild>& all() { return targets_; }
  TargetBuild& at(size_t i) { return targets_[i]; }

 private:
  std::vector<TargetBuild> targets_;
  std::map<std::string, size_t> by_ip_;
  // Name -> first target with it, rebuilt on the next find_name after a name changed.
  mutable std::unordered_map<std::string, size_t> by_name_;
  mutable bool names_changed_ = false;
};

// The estimated outage interval of a gap message: Gap::span()'s formula (gap.h) on the
// fields the message carries.
GapSpan gap_span(const v1::GapEvent& gap);

// Merged state of each migration: the journal appends a full record per phase change; the
// newest one of each migration wins, in the order migrations first appear.
std::vector<v1::MigrationEvent> merge_migrations(const JournalContents* journal);

// Merged evacuation directions: the newest record per (campaign, iteration, source, dest)
// wins, in the order they first appear.
std::vector<v1::EvacuationEvent> merge_evacuations(const JournalContents* journal);

// Switchover announces of the journal's AnnounceEvent records, as the analyzer holds them
// (sorted by time).
std::vector<Announce> journal_announces(const JournalContents& journal);
// An analyzer announce as a report message.
v1::AnnounceEvent to_announce_event(const Announce& a);

// The first announce from the target seen in [from, to]; announces sorted by time.
const Announce* find_announce(const std::vector<Announce>& announces, const TargetBuild& t,
                              uint64_t from, uint64_t to);

// Everything that follows once each target holds its flows and their gaps: tags every gap
// with its migration (GapEvent.migration_number), adds each target's MigrationReports, the
// migrations with their counts and downtime statistics, the unattributed gaps, the
// evacuations and their durations per direction, the coverage gaps (flagging the
// migrations they overlap) and the errors; then moves the targets into the report.
// journal may be null (a capture alone: every gap unattributed).
void finish_report(std::vector<TargetBuild> targets, const std::vector<Announce>& announces,
                   const JournalContents* journal, uint64_t settle_ns, v1::Report* report);

// Mean, median, p95 (nearest rank), min and max of values (ns).
v1::DowntimeStats downtime_stats(std::vector<uint64_t> values);

// Per-direction durations of finished, not interrupted evacuation directions, grouped by
// source -> dest in the order the directions first appear.
std::vector<v1::DirectionStats> evacuation_time(const std::vector<v1::EvacuationEvent>& evacs);

}  // namespace migprobe::analysis
