#pragma once
// The targets of a report being built: each VM with its flows, found by IP or name while
// the builders fill it, matched to the migrations that moved it (by IP, name or MAC) and to
// the switchover announces it sent (by MAC, or a gratuitous ARP for its address).

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/announce.h"
#include "analysis/journal.h"
#include "analysis/packet.h"
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

  // All targets; names change through add_ip and add_journal_targets only, so that
  // find_name's index follows them.
  std::vector<TargetBuild>& all() { return targets_; }
  // The target at an index find_ip or find_name gave.
  TargetBuild& at(size_t i) { return targets_[i]; }

 private:
  std::vector<TargetBuild> targets_;
  std::map<std::string, size_t> by_ip_;
  // Name -> first target with it, rebuilt on the next find_name after a name changed.
  mutable std::unordered_map<std::string, size_t> by_name_;
  mutable bool names_changed_ = false;
};

// Which target each migration moved, and which migrations each target went through.
struct MigrationTargets {
  // Per migration: the index of its target, or -1 when no target matches it.
  std::vector<int> target_of;
  // Per target: the indices of its migrations, in journal order.
  std::vector<std::vector<size_t>> migrations_of;
};

// Matches each migration to the first target (in report order) with its IP, its instance
// name or its MAC. Built once, so that tagging a long campaign costs gaps x (migrations of
// one target), not gaps x migrations.
MigrationTargets match_migrations(const std::vector<TargetBuild>& targets,
                                  const std::vector<v1::MigrationEvent>& migrations);

// The first announce from the target seen in [from, to]; announces sorted by time.
const Announce* find_announce(const std::vector<Announce>& announces, const TargetBuild& t,
                              uint64_t from, uint64_t to);

}  // namespace migprobe::analysis
