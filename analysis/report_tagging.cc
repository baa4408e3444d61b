#include "analysis/report_tagging.h"

#include <algorithm>
#include <utility>

namespace migprobe::analysis {

uint64_t window_end(const v1::MigrationEvent& m, uint64_t settle_ns) {
  const uint64_t end = std::max(m.completed_ns(), m.failed_ns());
  return end == 0 ? UINT64_MAX : end + settle_ns;
}

namespace {

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

// The migration of a gap (tag_gaps says the rule), among candidates (indices into
// migrations, in journal order); -1 for none.
int tag_gap(const GapSpan& g, const std::vector<v1::MigrationEvent>& migrations,
            const std::vector<size_t>& candidates, uint64_t settle_ns) {
  uint64_t best_overlap = 0;
  uint64_t newest_request = 0;
  int by_request = -1;
  int best = -1;
  for (const size_t m : candidates) {
    const uint64_t w0 = migrations[m].requested_ns();
    const uint64_t w1 = window_end(migrations[m], settle_ns);
    // A gap of zero estimated length still belongs where it sits.
    const uint64_t ov =
        std::max<uint64_t>(overlap(g.start_ns, std::max(g.end_ns, g.start_ns + 1), w0, w1),
                           g.start_ns >= w0 && g.start_ns <= w1 ? 1 : 0);
    if (ov == 0) continue;
    if (w0 <= g.start_ns && (by_request < 0 || w0 >= newest_request)) {
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
    spans.emplace_back(g.span.start_ns, g.span.end_ns);
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
  mr->set_union_ns(union_length(std::move(spans)));
}

// True when one of the coverage spans overlaps [from, to].
bool coverage_lost(const std::vector<CoverageSpan>& coverage, uint64_t from, uint64_t to) {
  return std::any_of(coverage.begin(), coverage.end(),
                     [&](const CoverageSpan& c) { return c.from_ns <= to && c.to_ns >= from; });
}

}  // namespace

GapSpan gap_span(const v1::GapEvent& g) {
  return estimated_span(g.tx_before_ns(), g.tx_after_ns(), g.interval_ns(), g.estimate_ns(),
                        g.open_end());
}

GapTags tag_gaps(const std::vector<v1::MigrationEvent>& migrations, const MigrationTargets& matched,
                 uint64_t settle_ns, std::vector<TargetBuild>* targets) {
  GapTags tags;
  tags.of_migration.resize(migrations.size());
  tags.neighbours_of.resize(migrations.size());
  for (size_t ti = 0; ti < targets->size(); ++ti) {
    // The other targets' migrations, and those of VMs the probe did not watch.
    std::vector<size_t> others;
    for (size_t m = 0; m < migrations.size(); ++m) {
      if (matched.target_of[m] != static_cast<int>(ti)) others.push_back(m);
    }
    v1::TargetReport& t = (*targets)[ti].report;
    for (int fi = 0; fi < t.flows_size(); ++fi) {
      for (int gi = 0; gi < t.flows(fi).gaps_size(); ++gi) {
        v1::GapEvent* ev = t.mutable_flows(fi)->mutable_gaps(gi);
        TaggedGap g{ti, fi, gi, gap_span(*ev)};
        g.migration = tag_gap(g.span, migrations, matched.migrations_of[ti], settle_ns);
        if (g.migration < 0) g.neighbour = tag_gap(g.span, migrations, others, settle_ns);
        ev->set_migration_number(static_cast<uint32_t>(g.migration + 1));
        ev->set_neighbour_migration_number(static_cast<uint32_t>(g.neighbour + 1));
        if (g.migration >= 0) {
          tags.of_migration[static_cast<size_t>(g.migration)].push_back(tags.gaps.size());
        } else if (g.neighbour >= 0) {
          tags.neighbours_of[static_cast<size_t>(g.neighbour)].push_back(tags.gaps.size());
        }
        tags.gaps.push_back(g);
      }
    }
  }
  return tags;
}

void add_migration_reports(const std::vector<v1::MigrationEvent>& migrations,
                           const MigrationTargets& matched, const GapTags& tags,
                           const std::vector<Announce>& announces,
                           const std::vector<CoverageSpan>& coverage, uint64_t settle_ns,
                           std::vector<TargetBuild>* targets) {
  for (size_t m = 0; m < migrations.size(); ++m) {
    if (matched.target_of[m] < 0) continue;
    const v1::MigrationEvent& mig = migrations[m];
    TargetBuild& t = (*targets)[static_cast<size_t>(matched.target_of[m])];
    v1::MigrationReport* mr = t.report.add_migrations();
    *mr->mutable_migration() = mig;
    mr->set_number(static_cast<uint32_t>(m + 1));
    add_gap_figures(tags.gaps, tags.of_migration[m], *targets, mr);
    for (const size_t i : tags.neighbours_of[m]) {
      const TaggedGap& g = tags.gaps[i];
      mr->set_neighbour_gaps(mr->neighbour_gaps() + 1);
      mr->set_neighbour_longest_ns(
          std::max(mr->neighbour_longest_ns(),
                   (*targets)[g.target].report.flows(g.flow).gaps(g.index).estimate_ns()));
    }
    const uint64_t w1 = window_end(mig, settle_ns);
    if (const Announce* a = find_announce(announces, t, mig.requested_ns(), w1)) {
      mr->set_announce_ns(a->seen_ns);
    }
    mr->set_coverage_lost(coverage_lost(coverage, mig.requested_ns(), w1));
  }
}

void add_untagged_gaps(const GapTags& tags, const std::vector<TargetBuild>& targets,
                       v1::Report* report) {
  for (const TaggedGap& g : tags.gaps) {
    if (g.migration >= 0) continue;
    const v1::GapEvent& ev = targets[g.target].report.flows(g.flow).gaps(g.index);
    *(g.neighbour >= 0 ? report->add_neighbour_gaps() : report->add_unattributed_gaps()) = ev;
  }
}

}  // namespace migprobe::analysis
