#include "analysis/report_targets.h"

#include "analysis/classify.h"

namespace migprobe::analysis {
namespace {

// The target a migration moved, by IP, name or MAC: the first target (in report order)
// that matches any of them, or -1.
class TargetIndex {
 public:
  explicit TargetIndex(const std::vector<TargetBuild>& targets) {
    for (size_t i = 0; i < targets.size(); ++i) {
      const auto& t = targets[i];
      const int n = static_cast<int>(i);
      if (!t.report.ip().empty()) by_ip_.try_emplace(t.report.ip(), n);
      if (!t.report.name().empty()) by_name_.try_emplace(t.report.name(), n);
      if (t.mac_known) by_mac_.try_emplace(mac_to_string(t.mac), n);
    }
  }
  int of(const v1::MigrationEvent& m) const {
    int best = -1;
    auto take = [&best](const std::unordered_map<std::string, int>& map, const std::string& key) {
      if (key.empty()) return;
      const auto it = map.find(key);
      if (it != map.end() && (best < 0 || it->second < best)) best = it->second;
    };
    take(by_ip_, m.ip());
    take(by_name_, m.instance_name());
    take(by_mac_, m.mac());
    return best;
  }

 private:
  std::unordered_map<std::string, int> by_ip_, by_name_, by_mac_;
};

}  // namespace

TargetBuild& ReportTargets::add_ip(const std::string& ip) {
  auto [it, inserted] = by_ip_.try_emplace(ip, targets_.size());
  if (inserted) {
    targets_.emplace_back();
    TargetBuild& t = targets_.back();
    t.report.set_ip(ip);
    t.report.set_name(ip);
    names_changed_ = true;
    t.ipv4 = ipv4_host_order(IpAddress::parse(ip));
  }
  return targets_[it->second];
}

void ReportTargets::add_journal_targets(const JournalContents& journal) {
  for (const auto& r : journal.records) {
    if (!r.has_target()) continue;
    TargetBuild& t = add_ip(r.target().ip());
    if (!r.target().name().empty()) {
      t.report.set_name(r.target().name());
      names_changed_ = true;
    }
    if (!r.target().mac().empty() && parse_mac(r.target().mac(), &t.mac)) t.mac_known = true;
  }
}

int ReportTargets::find_ip(const std::string& ip) const {
  const auto it = by_ip_.find(ip);
  return it == by_ip_.end() ? -1 : static_cast<int>(it->second);
}

int ReportTargets::find_name(const std::string& name) const {
  if (names_changed_) {
    by_name_.clear();
    for (size_t i = 0; i < targets_.size(); ++i) by_name_.try_emplace(targets_[i].report.name(), i);
    names_changed_ = false;
  }
  const auto it = by_name_.find(name);
  return it != by_name_.end() ? static_cast<int>(it->second) : find_ip(name);
}

MigrationTargets match_migrations(const std::vector<TargetBuild>& targets,
                                  const std::vector<v1::MigrationEvent>& migrations) {
  const TargetIndex index(targets);
  MigrationTargets out;
  out.target_of.resize(migrations.size());
  out.migrations_of.resize(targets.size());
  for (size_t m = 0; m < migrations.size(); ++m) {
    const int t = index.of(migrations[m]);
    out.target_of[m] = t;
    if (t >= 0) out.migrations_of[static_cast<size_t>(t)].push_back(m);
  }
  return out;
}

const Announce* find_announce(const std::vector<Announce>& announces, const TargetBuild& t,
                              uint64_t from, uint64_t to) {
  const auto it = first_announce(announces.begin(), announces.end(), t.mac_known ? &t.mac : nullptr,
                                 t.ipv4, from, to);
  return it == announces.end() ? nullptr : &*it;
}

}  // namespace migprobe::analysis
