#include "analysis/run_statistics.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

namespace migprobe::analysis {

uint64_t time_queued_ns(const v1::MigrationEvent& m) {
  if (m.queued_ns() == 0 || m.accepted_ns() == 0) return 0;
  uint64_t end = m.running_ns();
  if (end == 0) end = m.completed_ns() != 0 ? m.completed_ns() : m.failed_ns();
  return end > m.accepted_ns() ? end - m.accepted_ns() : 0;
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
  // Nearest rank: the smallest value with at least P% of the values at or below it.
  auto nearest_rank = [&](size_t percent) {
    const size_t rank = (percent * n + 99) / 100;
    return values[rank == 0 ? 0 : rank - 1];
  };
  s.set_p95_ns(nearest_rank(95));
  s.set_p99_ns(nearest_rank(99));
  return s;
}

void add_migrations(const std::vector<v1::MigrationEvent>& migrations, v1::Report* report) {
  for (const v1::MigrationEvent& m : migrations) {
    *report->add_migrations() = m;
    if (m.outcome() == v1::MIGRATION_OUTCOME_COMPLETED) {
      report->set_migrations_completed(report->migrations_completed() + 1);
    } else if (m.outcome() == v1::MIGRATION_OUTCOME_FAILED ||
               m.outcome() == v1::MIGRATION_OUTCOME_ABORTED) {
      report->set_migrations_failed(report->migrations_failed() + 1);
    }
  }
}

std::optional<double> success_rate_percent(const v1::Report& report) {
  const uint32_t ended = report.migrations_completed() + report.migrations_failed();
  if (ended == 0) return std::nullopt;
  return 100.0 * report.migrations_completed() / ended;
}

v1::DowntimeStats completed_downtime(const v1::Report& report) {
  std::vector<uint64_t> downtimes;
  for (const v1::TargetReport& t : report.targets()) {
    for (const v1::MigrationReport& m : t.migrations()) {
      if (m.migration().outcome() == v1::MIGRATION_OUTCOME_COMPLETED) {
        downtimes.push_back(m.union_ns());
      }
    }
  }
  return downtime_stats(std::move(downtimes));
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
    if (e.finished_ns() == 0 || e.interrupted() || e.resumed() ||
        e.finished_ns() < e.started_ns()) {
      continue;
    }
    durations[it->second].push_back(e.finished_ns() - e.started_ns());
  }
  for (size_t i = 0; i < out.size(); ++i) {
    *out[i].mutable_duration() = downtime_stats(std::move(durations[i]));
  }
  return out;
}

void add_evacuations(const std::vector<v1::EvacuationEvent>& evacs, v1::Report* report) {
  for (const auto& e : evacs) *report->add_evacuations() = e;
  for (auto& d : evacuation_time(evacs)) *report->add_evacuation_time() = std::move(d);
}

}  // namespace migprobe::analysis
