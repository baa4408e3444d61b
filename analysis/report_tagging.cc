#include "analysis/report_tagging.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

namespace migprobe::analysis {
namespace {

uint64_t window_end(const v1::MigrationEvent& m, uint64_t settle_ns) {
  const uint64_t end = std::max(m.completed_ns(), m.failed_ns());
  return end == 0 ? UINT64_MAX : end + settle_ns;
}

// Length of the union of [start, end) intervals.
uint64_t union_length(std::vector<std::pair<uint64_t, uint64_t>> spans) {
  std::sort(spans.begin(), spans.end());
  uint64_t total = 0;
  uint64_t cur_start = 0;
  uint64_t cur_end = 0;
  bool open = false;
  for (const auto& [s, e] : spans) {
    if (open && s <= cur_end) {
      cur_end = std::max(cur_end, e);
      continue;
    }
    if (open) total += cur_end - cur_start;
    cur_start = s;
    cur_end = e;
    open = true;
  }
  if (open) total += cur_end - cur_start;
  return total;
}

uint64_t overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) {
  const uint64_t s = std::max(a0, b0);
  const uint64_t e = std::min(a1, b1);
  return e > s ? e - s : 0;
}

// A gap's place in the targets being built, its estimated span and its migration.
struct TaggedGap {
  size_t target;
  int flow;
  int index;
  uint64_t start;
  uint64_t end;
  int migration = -1;
};

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

// Tagging: a gap belongs to a migration of its target whose window
// [requested, completed + settle] it overlaps. When windows overlap (back-to-back
// migrations of one VM, each with its settle time), the cause is the newest migration
// requested before the gap began; a gap that began before any of them goes to the one it
// overlaps most.
// target_migrations: the indices of the target's migrations, in journal order.
int tag_gap(const TaggedGap& g, const std::vector<v1::MigrationEvent>& migrations,
            const std::vector<size_t>& target_migrations, uint64_t settle_ns) {
  uint64_t best_overlap = 0;
  uint64_t newest_request = 0;
  int by_request = -1;
  int best = -1;
  for (const size_t m : target_migrations) {
    const uint64_t w0 = migrations[m].requested_ns();
    const uint64_t w1 = window_end(migrations[m], settle_ns);
    // A gap of zero estimated length still belongs where it sits.
    const uint64_t ov = std::max<uint64_t>(overlap(g.start, std::max(g.end, g.start + 1), w0, w1),
                                           g.start >= w0 && g.start <= w1 ? 1 : 0);
    if (ov == 0) continue;
    if (w0 <= g.start && (by_request < 0 || w0 >= newest_request)) {
      newest_request = w0;
      by_request = static_cast<int>(m);
    }
    if (ov > best_overlap) {
      best_overlap = ov;
      best = static_cast<int>(m);
    }
  }
  return by_request >= 0 ? by_request : best;
}

// Adds the figures of the gaps tagged with a migration (their indices in gaps) to mr.
void add_gap_figures(const std::vector<TaggedGap>& gaps, const std::vector<size_t>& tagged,
                     const std::vector<TargetBuild>& targets, v1::MigrationReport* mr) {
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  uint64_t longest = 0;
  for (const size_t i : tagged) {
    const TaggedGap& g = gaps[i];
    const v1::GapEvent& ev = targets[g.target].report.flows(g.flow).gaps(g.index);
    mr->set_gaps(mr->gaps() + 1);
    mr->set_lost(mr->lost() + ev.lost());
    mr->set_forward_lost(mr->forward_lost() + ev.forward_lost());
    mr->set_return_lost(mr->return_lost() + ev.return_lost());
    spans.emplace_back(g.start, g.end);
    const uint64_t est = ev.estimate_ns();
    switch (ev.flow_kind()) {
      case v1::FLOW_KIND_UDP_REFLECT:
        mr->set_longest_udp_ns(std::max(mr->longest_udp_ns(), est));
        break;
      case v1::FLOW_KIND_TCP_STREAM:
        mr->set_longest_tcp_ns(std::max(mr->longest_tcp_ns(), est));
        break;
      default:
        mr->set_longest_icmp_ns(std::max(mr->longest_icmp_ns(), est));
        break;
    }
    if (est >= longest) {
      longest = est;
      mr->set_lower_bound_ns(ev.lower_bound_ns());
      mr->set_upper_bound_ns(ev.upper_bound_ns());
    }
  }
  mr->set_union_ns(union_length(spans));
}

// The times the probe was not measuring, [from, to] (to is UINT64_MAX for a coverage gap
// without an end: it lasted to the end of the run).
std::vector<std::pair<uint64_t, uint64_t>> coverage_gaps(const JournalContents* journal) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (journal == nullptr) return out;
  for (const auto& r : journal->records) {
    if (!r.has_coverage_gap()) continue;
    const auto& c = r.coverage_gap();
    out.emplace_back(c.from_ns(), c.to_ns() == 0 ? UINT64_MAX : c.to_ns());
  }
  return out;
}

// True when one of the coverage gaps overlaps [from, to].
bool coverage_lost(const std::vector<std::pair<uint64_t, uint64_t>>& lost, uint64_t from,
                   uint64_t to) {
  return std::any_of(lost.begin(), lost.end(),
                     [&](const auto& c) { return c.first <= to && c.second >= from; });
}

}  // namespace

TargetBuild& ReportTargets::add_ip(const std::string& ip) {
  auto [it, inserted] = by_ip_.try_emplace(ip, targets_.size());
  if (inserted) {
    targets_.emplace_back();
    TargetBuild& t = targets_.back();
    t.report.set_ip(ip);
    t.report.set_name(ip);
    names_changed_ = true;
    const IpAddress a = IpAddress::parse(ip);
    if (a.family == 4) {
      t.ipv4 = (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) |
               (uint32_t{a.bytes[2]} << 8) | a.bytes[3];
    }
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

GapSpan gap_span(const v1::GapEvent& g) {
  return estimated_span(g.tx_before_ns(), g.tx_after_ns(), g.interval_ns(), g.estimate_ns(),
                        g.open_end());
}

std::vector<v1::MigrationEvent> merge_migrations(const JournalContents* journal) {
  std::vector<v1::MigrationEvent> out;
  if (journal == nullptr) return out;
  std::map<std::tuple<std::string, uint32_t, std::string, uint64_t>, size_t> index;
  for (const auto& r : journal->records) {
    if (!r.has_migration()) continue;
    const auto& m = r.migration();
    const auto key = std::make_tuple(m.campaign(), m.iteration(),
                                     m.instance_id().empty() ? m.instance_name() : m.instance_id(),
                                     m.requested_ns());
    auto [it, inserted] = index.try_emplace(key, out.size());
    if (inserted) {
      out.push_back(m);
    } else {
      out[it->second] = m;
    }
  }
  return out;
}

std::vector<v1::EvacuationEvent> merge_evacuations(const JournalContents* journal) {
  std::vector<v1::EvacuationEvent> out;
  if (journal == nullptr) return out;
  std::map<std::tuple<std::string, uint32_t, std::string, std::string>, size_t> index;
  for (const auto& r : journal->records) {
    if (!r.has_evacuation()) continue;
    const auto& e = r.evacuation();
    const auto key = std::make_tuple(e.campaign(), e.iteration(), e.source_host(), e.dest_host());
    auto [it, inserted] = index.try_emplace(key, out.size());
    if (inserted) {
      out.push_back(e);
    } else {
      out[it->second] = e;
    }
  }
  return out;
}

std::vector<Announce> journal_announces(const JournalContents& journal) {
  std::vector<Announce> out;
  for (const auto& r : journal.records) {
    if (!r.has_announce()) continue;
    const v1::AnnounceEvent& ev = r.announce();
    Announce a;
    a.seen_ns = ev.seen_ns();
    a.rarp = ev.kind() == v1::ANNOUNCE_KIND_RARP;
    // An announce whose MAC does not parse still counts by its IP (gratuitous ARP).
    if (!parse_mac(ev.mac(), &a.mac)) a.mac = MacAddress{};
    const IpAddress ip = IpAddress::parse(ev.ip());
    if (ip.family == 4) {
      a.ip = (uint32_t{ip.bytes[0]} << 24) | (uint32_t{ip.bytes[1]} << 16) |
             (uint32_t{ip.bytes[2]} << 8) | ip.bytes[3];
    }
    a.vlan = static_cast<uint16_t>(ev.vlan());
    out.push_back(a);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Announce& x, const Announce& y) { return x.seen_ns < y.seen_ns; });
  return out;
}

v1::AnnounceEvent to_announce_event(const Announce& a) {
  v1::AnnounceEvent ev;
  ev.set_seen_ns(a.seen_ns);
  ev.set_kind(a.rarp ? v1::ANNOUNCE_KIND_RARP : v1::ANNOUNCE_KIND_GARP);
  ev.set_mac(mac_to_string(a.mac));
  if (a.ip != 0) ev.set_ip(IpAddress::v4(a.ip).to_string());
  ev.set_vlan(a.vlan);
  return ev;
}

const Announce* find_announce(const std::vector<Announce>& announces, const TargetBuild& t,
                              uint64_t from, uint64_t to) {
  const auto it = first_announce(announces.begin(), announces.end(), t.mac_known ? &t.mac : nullptr,
                                 t.ipv4, from, to);
  return it == announces.end() ? nullptr : &*it;
}

v1::DowntimeStats downtime_stats(std::vector<uint64_t> values) {
  v1::DowntimeStats s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  s.set_count(static_cast<uint32_t>(n));
  s.set_min_ns(values.front());
  s.set_max_ns(values.back());
  long double sum = 0;
  for (uint64_t v : values) sum += static_cast<long double>(v);
  s.set_mean_ns(static_cast<uint64_t>(sum / static_cast<long double>(n) + 0.5L));
  s.set_median_ns(n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2);
  // Nearest rank: the smallest value with at least 95% of the values at or below it.
  const size_t rank = (95 * n + 99) / 100;
  s.set_p95_ns(values[rank == 0 ? 0 : rank - 1]);
  return s;
}

std::vector<v1::DirectionStats> evacuation_time(const std::vector<v1::EvacuationEvent>& evacs) {
  std::vector<v1::DirectionStats> out;
  std::vector<std::vector<uint64_t>> durations;
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (const auto& e : evacs) {
    const auto key = std::make_pair(e.source_host(), e.dest_host());
    auto [it, inserted] = index.try_emplace(key, out.size());
    if (inserted) {
      out.emplace_back();
      out.back().set_source_host(e.source_host());
      out.back().set_dest_host(e.dest_host());
      durations.emplace_back();
    }
    // Only whole directions say how long one takes.
    if (e.finished_ns() == 0 || e.interrupted() || e.finished_ns() < e.started_ns()) continue;
    durations[it->second].push_back(e.finished_ns() - e.started_ns());
  }
  for (size_t i = 0; i < out.size(); ++i) {
    *out[i].mutable_duration() = downtime_stats(std::move(durations[i]));
  }
  return out;
}

void finish_report(std::vector<TargetBuild> targets, const std::vector<Announce>& announces,
                   const JournalContents* journal, uint64_t settle_ns, v1::Report* report) {
  std::vector<TaggedGap> gaps;
  for (size_t ti = 0; ti < targets.size(); ++ti) {
    const v1::TargetReport& t = targets[ti].report;
    for (int fi = 0; fi < t.flows_size(); ++fi) {
      for (int gi = 0; gi < t.flows(fi).gaps_size(); ++gi) {
        const v1::GapEvent& g = t.flows(fi).gaps(gi);
        const GapSpan span = gap_span(g);
        gaps.push_back(TaggedGap{ti, fi, gi, span.start_ns, span.end_ns});
      }
    }
  }
  const std::vector<v1::MigrationEvent> migrations = merge_migrations(journal);
  // Each migration's target, each target's migrations, each migration's gaps: built once, so
  // a long campaign costs gaps x (migrations of one target), not gaps x migrations.
  const TargetIndex index(targets);
  std::vector<int> migration_target(migrations.size());
  std::vector<std::vector<size_t>> target_migrations(targets.size());
  for (size_t m = 0; m < migrations.size(); ++m) {
    migration_target[m] = index.of(migrations[m]);
    if (migration_target[m] >= 0) {
      target_migrations[static_cast<size_t>(migration_target[m])].push_back(m);
    }
  }
  std::vector<std::vector<size_t>> migration_gaps(migrations.size());
  for (size_t i = 0; i < gaps.size(); ++i) {
    TaggedGap& g = gaps[i];
    g.migration = tag_gap(g, migrations, target_migrations[g.target], settle_ns);
    targets[g.target].report.mutable_flows(g.flow)->mutable_gaps(g.index)->set_migration_number(
        static_cast<uint32_t>(g.migration + 1));
    if (g.migration >= 0) migration_gaps[static_cast<size_t>(g.migration)].push_back(i);
  }
  const auto lost = coverage_gaps(journal);

  std::vector<uint64_t> downtimes;
  for (size_t m = 0; m < migrations.size(); ++m) {
    const v1::MigrationEvent& mig = migrations[m];
    *report->add_migrations() = mig;
    if (mig.outcome() == v1::MIGRATION_OUTCOME_COMPLETED) {
      report->set_migrations_completed(report->migrations_completed() + 1);
    } else if (mig.outcome() == v1::MIGRATION_OUTCOME_FAILED ||
               mig.outcome() == v1::MIGRATION_OUTCOME_ABORTED) {
      report->set_migrations_failed(report->migrations_failed() + 1);
    }
    if (migration_target[m] < 0) continue;
    TargetBuild& t = targets[static_cast<size_t>(migration_target[m])];
    v1::MigrationReport* mr = t.report.add_migrations();
    *mr->mutable_migration() = mig;
    mr->set_number(static_cast<uint32_t>(m + 1));
    add_gap_figures(gaps, migration_gaps[m], targets, mr);
    const uint64_t w1 = window_end(mig, settle_ns);
    if (const Announce* a = find_announce(announces, t, mig.requested_ns(), w1)) {
      mr->set_announce_ns(a->seen_ns);
    }
    mr->set_coverage_lost(coverage_lost(lost, mig.requested_ns(), w1));
    if (mig.outcome() == v1::MIGRATION_OUTCOME_COMPLETED) downtimes.push_back(mr->union_ns());
  }
  *report->mutable_downtime() = downtime_stats(std::move(downtimes));

  for (const TaggedGap& g : gaps) {
    if (g.migration < 0) {
      *report->add_unattributed_gaps() = targets[g.target].report.flows(g.flow).gaps(g.index);
    }
  }
  for (auto& t : targets) *report->add_targets() = std::move(t.report);

  const std::vector<v1::EvacuationEvent> evacuations = merge_evacuations(journal);
  for (const auto& e : evacuations) *report->add_evacuations() = e;
  for (auto& d : evacuation_time(evacuations)) *report->add_evacuation_time() = std::move(d);
  if (journal == nullptr) return;
  for (const auto& r : journal->records) {
    if (r.has_coverage_gap()) *report->add_coverage_gaps() = r.coverage_gap();
    if (r.has_error()) *report->add_errors() = r.error();
  }
}

}  // namespace migprobe::analysis
