#include "analysis/journal_events.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "analysis/classify.h"

namespace migprobe::analysis {
namespace {

// The newest of the records that event picks out (a pointer to its event, or null), one
// per key_of(event), in the order the keys first appear.
template <typename Event, typename Pick, typename KeyOf>
std::vector<Event> newest_per_key(const JournalContents* journal, Pick event, KeyOf key_of) {
  std::vector<Event> out;
  if (journal == nullptr) return out;
  std::map<decltype(key_of(std::declval<const Event&>())), size_t> index;
  for (const auto& r : journal->records) {
    const Event* e = event(r);
    if (e == nullptr) continue;
    auto [it, inserted] = index.try_emplace(key_of(*e), out.size());
    if (inserted) {
      out.push_back(*e);
    } else {
      out[it->second] = *e;
    }
  }
  return out;
}

}  // namespace

std::vector<v1::MigrationEvent> merge_migrations(const JournalContents* journal) {
  std::vector<v1::MigrationEvent> out = newest_per_key<v1::MigrationEvent>(
      journal,
      [](const v1::JournalRecord& r) { return r.has_migration() ? &r.migration() : nullptr; },
      [](const v1::MigrationEvent& m) {
        return std::make_tuple(m.campaign(), m.iteration(),
                               m.instance_id().empty() ? m.instance_name() : m.instance_id(),
                               m.requested_ns());
      });
  // A request Nova never took is no migration (it was made again after a resume).
  std::erase_if(out, [](const v1::MigrationEvent& m) {
    return m.outcome() == v1::MIGRATION_OUTCOME_NOT_MADE;
  });
  return out;
}

std::vector<v1::EvacuationEvent> merge_evacuations(const JournalContents* journal) {
  return newest_per_key<v1::EvacuationEvent>(
      journal,
      [](const v1::JournalRecord& r) { return r.has_evacuation() ? &r.evacuation() : nullptr; },
      [](const v1::EvacuationEvent& e) {
        return std::make_tuple(e.campaign(), e.iteration(), e.source_host(), e.dest_host());
      });
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
    a.ip = ipv4_host_order(IpAddress::parse(ev.ip()));
    a.vlan = static_cast<uint16_t>(ev.vlan());
    out.push_back(a);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Announce& x, const Announce& y) { return x.seen_ns < y.seen_ns; });
  return out;
}

std::vector<CoverageSpan> coverage_spans(const JournalContents* journal) {
  std::vector<CoverageSpan> out;
  if (journal == nullptr) return out;
  for (const auto& r : journal->records) {
    if (!r.has_coverage_gap()) continue;
    const auto& c = r.coverage_gap();
    out.push_back({c.from_ns(), c.to_ns() == 0 ? UINT64_MAX : c.to_ns()});
  }
  return out;
}

void add_coverage_gaps_and_errors(const JournalContents& journal, v1::Report* report) {
  for (const auto& r : journal.records) {
    if (r.has_coverage_gap()) *report->add_coverage_gaps() = r.coverage_gap();
    if (r.has_error()) *report->add_errors() = r.error();
  }
}

}  // namespace migprobe::analysis
