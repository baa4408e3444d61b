#include "analysis/report_builder.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace migprobe::analysis {
namespace {

// Everything known about one target while the report is built.
struct TargetBuild {
  v1::TargetReport report;
  MacAddress mac{};
  bool mac_known = false;
  uint32_t ipv4 = 0;  // host order, 0 when not IPv4
};

// Merged state of each migration: the journal appends a record per phase change; the
// newest one of each migration wins.
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

uint64_t window_end(const v1::MigrationEvent& m, uint64_t settle_ns) {
  const uint64_t end = std::max(m.completed_ns(), m.failed_ns());
  return end == 0 ? UINT64_MAX : end + settle_ns;
}

// The first announce from the target seen in [from, to].
const Announce* find_announce(const std::vector<Announce>& announces, const TargetBuild& t,
                              uint64_t from, uint64_t to) {
  auto it = std::lower_bound(announces.begin(), announces.end(), from,
                             [](const Announce& a, uint64_t ts) { return a.seen_ns < ts; });
  for (; it != announces.end() && it->seen_ns <= to; ++it) {
    if (t.mac_known && it->mac == t.mac) return &*it;
    if (!it->rarp && t.ipv4 != 0 && it->ip == t.ipv4) return &*it;
  }
  return nullptr;
}

void set_announce(v1::GapEvent* ev, const Gap& gap, const Announce& a) {
  ev->set_has_announce(true);
  ev->set_announce_ns(a.seen_ns);
  const uint64_t start = gap.start_ns();
  uint64_t before = a.seen_ns > start ? a.seen_ns - start : 0;
  before = std::min(before, gap.estimate_ns);
  ev->set_before_announce_ns(before);
  ev->set_after_announce_ns(gap.estimate_ns - before);
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

}  // namespace

v1::GapEvent to_gap_event(const Gap& gap, v1::FlowKind kind) {
  v1::GapEvent ev;
  ev.set_flow_id(gap.flow_id);
  ev.set_flow_kind(kind);
  ev.set_seq_before(gap.seq_before);
  ev.set_seq_after(gap.seq_after);
  ev.set_lost(gap.lost);
  ev.set_tx_before_ns(gap.tx_before_ns);
  ev.set_tx_after_ns(gap.tx_after_ns);
  ev.set_estimate_ns(gap.estimate_ns);
  ev.set_lower_bound_ns(gap.lower_ns);
  ev.set_upper_bound_ns(gap.upper_ns);
  ev.set_interval_ns(gap.interval_ns);
  ev.set_outage(gap.outage);
  ev.set_open_start(gap.open_start);
  ev.set_open_end(gap.open_end);
  ev.set_has_direction(gap.has_direction);
  ev.set_forward_lost(gap.forward_lost);
  ev.set_return_lost(gap.return_lost);
  return ev;
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

v1::Report build_report(const Analyzer& analyzer, const ReportInputs& inputs) {
  v1::Report report;
  report.set_format_version(kReportFormatVersion);
  report.set_generator("migprobe-analyze");
  *report.mutable_source() = inputs.source;
  auto* settings = report.mutable_settings();
  settings->set_outage_threshold_ns(analyzer.options().tracker.outage_threshold_ns);
  settings->set_reply_timeout_ns(analyzer.options().tracker.reply_timeout_ns);
  settings->set_settle_ns(inputs.settle_ns);
  settings->set_reorder_window(FlowTracker::kReorderWindow);

  // Targets: those the journal names first, in its order, then those only the capture shows.
  std::vector<TargetBuild> targets;
  std::map<std::string, size_t> by_ip;
  auto add_target = [&](const std::string& ip) -> TargetBuild& {
    auto [it, inserted] = by_ip.try_emplace(ip, targets.size());
    if (inserted) {
      targets.emplace_back();
      targets.back().report.set_ip(ip);
      targets.back().report.set_name(ip);
      const IpAddress a = IpAddress::parse(ip);
      if (a.family == 4) {
        targets.back().ipv4 = (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) |
                              (uint32_t{a.bytes[2]} << 8) | a.bytes[3];
      }
    }
    return targets[it->second];
  };
  if (inputs.journal != nullptr) {
    for (const auto& r : inputs.journal->records) {
      if (!r.has_target()) continue;
      TargetBuild& t = add_target(r.target().ip());
      if (!r.target().name().empty()) t.report.set_name(r.target().name());
      if (!r.target().mac().empty() && parse_mac(r.target().mac(), &t.mac)) t.mac_known = true;
    }
  }
  // Gaps per target with their estimated spans, for tagging.
  struct TaggedGap {
    size_t target;
    int flow;
    int index;
    v1::GapEvent event;
    uint64_t start;
    uint64_t end;
    int migration = -1;
  };
  std::vector<TaggedGap> gaps;
  for (const AnalyzedFlow* f : analyzer.flows()) {
    TargetBuild& t = add_target(f->target_ip.to_string());
    if (f->target_mac_known && !t.mac_known) {
      t.mac = f->target_mac;
      t.mac_known = true;
    }
  }
  for (auto& t : targets) {
    if (t.mac_known) t.report.set_mac(mac_to_string(t.mac));
  }
  for (const AnalyzedFlow* f : analyzer.flows()) {
    const size_t ti = by_ip.at(f->target_ip.to_string());
    TargetBuild& t = targets[ti];
    v1::FlowReport* fr = t.report.add_flows();
    const FlowCounters& c = f->tracker.counters();
    fr->set_flow_id(f->flow_id);
    fr->set_kind(f->kind);
    fr->set_interval_ns(f->tracker.interval_ns());
    fr->set_sent(c.sent);
    fr->set_answered(c.answered);
    fr->set_lost(c.lost);
    fr->set_late(c.late);
    fr->set_duplicates(c.duplicates);
    fr->set_reordered(c.reordered);
    fr->set_rtt_min_ns(c.rtt_min_ns);
    fr->set_rtt_max_ns(c.rtt_max_ns);
    fr->set_rtt_mean_ns(c.rtt_samples ? c.rtt_sum_ns / c.rtt_samples : 0);
    fr->set_first_tx_ns(c.first_tx_ns);
    fr->set_last_tx_ns(c.last_tx_ns);
    if (f->kind == v1::FLOW_KIND_FOREIGN_ICMP) {
      fr->set_initiator(f->initiator.to_string());
      fr->set_icmp_id(f->icmp_id);
    }
    for (const Gap& g : f->gaps) {
      v1::GapEvent ev = to_gap_event(g, f->kind);
      ev.set_target(t.report.name());
      const uint64_t from = g.start_ns() > g.interval_ns ? g.start_ns() - g.interval_ns : 0;
      const uint64_t to = g.open_end ? UINT64_MAX : std::max(g.rx_after_ns, g.tx_after_ns);
      if (const Announce* a = find_announce(analyzer.announces(), t, from, to)) {
        set_announce(&ev, g, *a);
      }
      *fr->add_gaps() = ev;
      gaps.push_back(TaggedGap{ti, t.report.flows_size() - 1, fr->gaps_size() - 1, ev, g.start_ns(),
                               g.end_ns()});
    }
  }

  // Tagging: a gap belongs to a migration of its target whose window
  // [requested, completed + settle] it overlaps. When windows overlap (back-to-back
  // migrations of one VM, each with its settle time), the cause is the newest migration
  // requested before the gap began; a gap that began before any of them goes to the one it
  // overlaps most.
  const std::vector<v1::MigrationEvent> migrations = merge_migrations(inputs.journal);
  auto target_of = [&](const v1::MigrationEvent& m) -> int {
    for (size_t i = 0; i < targets.size(); ++i) {
      const auto& t = targets[i];
      if ((!m.ip().empty() && m.ip() == t.report.ip()) ||
          (!m.instance_name().empty() && m.instance_name() == t.report.name()) ||
          (!m.mac().empty() && t.mac_known && m.mac() == mac_to_string(t.mac))) {
        return static_cast<int>(i);
      }
    }
    return -1;
  };
  std::vector<int> migration_target(migrations.size());
  for (size_t m = 0; m < migrations.size(); ++m) migration_target[m] = target_of(migrations[m]);
  for (TaggedGap& g : gaps) {
    uint64_t best_overlap = 0;
    uint64_t newest_request = 0;
    int by_request = -1;
    for (size_t m = 0; m < migrations.size(); ++m) {
      if (migration_target[m] != static_cast<int>(g.target)) continue;
      const uint64_t w0 = migrations[m].requested_ns();
      const uint64_t w1 = window_end(migrations[m], inputs.settle_ns);
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
        g.migration = static_cast<int>(m);
      }
    }
    if (by_request >= 0) g.migration = by_request;
    const auto number = static_cast<uint32_t>(g.migration + 1);
    g.event.set_migration_number(number);
    targets[g.target].report.mutable_flows(g.flow)->mutable_gaps(g.index)->set_migration_number(
        number);
  }

  std::vector<uint64_t> downtimes;
  for (size_t m = 0; m < migrations.size(); ++m) {
    const v1::MigrationEvent& mig = migrations[m];
    *report.add_migrations() = mig;
    if (mig.outcome() == v1::MIGRATION_OUTCOME_COMPLETED) {
      report.set_migrations_completed(report.migrations_completed() + 1);
    } else if (mig.outcome() == v1::MIGRATION_OUTCOME_FAILED ||
               mig.outcome() == v1::MIGRATION_OUTCOME_ABORTED) {
      report.set_migrations_failed(report.migrations_failed() + 1);
    }
    if (migration_target[m] < 0) continue;
    TargetBuild& t = targets[static_cast<size_t>(migration_target[m])];
    v1::MigrationReport* mr = t.report.add_migrations();
    *mr->mutable_migration() = mig;
    mr->set_number(static_cast<uint32_t>(m + 1));
    std::vector<std::pair<uint64_t, uint64_t>> spans;
    uint64_t longest = 0;
    for (const TaggedGap& g : gaps) {
      if (g.migration != static_cast<int>(m)) continue;
      const v1::GapEvent& ev = g.event;
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
    const uint64_t w1 = window_end(mig, inputs.settle_ns);
    if (const Announce* a = find_announce(analyzer.announces(), t, mig.requested_ns(), w1)) {
      mr->set_announce_ns(a->seen_ns);
    }
    if (mig.outcome() == v1::MIGRATION_OUTCOME_COMPLETED) downtimes.push_back(mr->union_ns());
  }
  *report.mutable_downtime() = downtime_stats(downtimes);

  for (const TaggedGap& g : gaps) {
    if (g.migration < 0) *report.add_unattributed_gaps() = g.event;
  }
  for (auto& t : targets) *report.add_targets() = std::move(t.report);
  for (const Announce& a : analyzer.announces()) {
    v1::AnnounceEvent* ev = report.add_announces();
    ev->set_seen_ns(a.seen_ns);
    ev->set_kind(a.rarp ? v1::ANNOUNCE_KIND_RARP : v1::ANNOUNCE_KIND_GARP);
    ev->set_mac(mac_to_string(a.mac));
    if (a.ip != 0) ev->set_ip(IpAddress::v4(a.ip).to_string());
    ev->set_vlan(a.vlan);
  }
  for (size_t i = 1; i < kDropReasonCount; ++i) {
    const uint64_t n = analyzer.drops()[i];
    if (n == 0) continue;
    v1::DropCount* d = report.add_drops();
    d->set_reason(std::string(drop_reason_name(static_cast<DropReason>(i))));
    d->set_description(std::string(drop_reason_description(static_cast<DropReason>(i))));
    d->set_count(n);
  }
  return report;
}

}  // namespace migprobe::analysis
