#include "orchestrator/run_resume.h"

#include <algorithm>
#include <map>

#include "analysis/journal_report.h"
#include "base/clock.h"
#include "control/keystone_auth.h"

namespace migprobe::orchestrator {
namespace {

bool ended(v1::MigrationOutcome o) {
  return o == v1::MIGRATION_OUTCOME_COMPLETED || o == v1::MIGRATION_OUTCOME_FAILED ||
         o == v1::MIGRATION_OUTCOME_ABORTED;
}

uint64_t iso_ns(const std::string& text) {
  auto t = control::parse_iso8601(text);
  if (!t.ok()) return 0;
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch()).count());
}

// Nova's migration for m, if it lists one.
control::Result<std::optional<control::Migration>> find_in_nova(control::MigrationApi& nova,
                                                                const v1::MigrationEvent& m) {
  control::MigrationFilter filter;
  filter.instance_uuid = m.instance_id();
  filter.migration_type = "live-migration";
  auto listed = nova.migrations(filter);
  if (!listed.ok()) return listed.error();
  std::optional<control::Migration> best;
  for (const control::Migration& n : listed->value) {
    if (n.instance_uuid != m.instance_id()) continue;
    if (!m.nova_migration_id().empty()) {
      if (n.uuid == m.nova_migration_id()) return std::optional<control::Migration>(n);
      continue;
    }
    if (n.source_compute != m.source_host()) continue;
    if (!n.dest_compute.empty() && n.dest_compute != m.dest_host()) continue;
    // Not one from before this request (Nova's clock against ours: a second of slack).
    const uint64_t created = iso_ns(n.created_at);
    if (created != 0 && created + 1'000'000'000ULL < m.requested_ns()) continue;
    if (!best || n.id > best->id) best = n;
  }
  return best;
}

}  // namespace

std::string attempt_key(uint32_t iteration, const std::string& from, const std::string& to,
                        const std::string& instance_id) {
  return std::to_string(iteration) + " " + from + " " + to + " " + instance_id;
}

std::string leg_key(uint32_t iteration, const std::string& from, const std::string& to) {
  return std::to_string(iteration) + " " + from + " " + to;
}

RunSoFar read_run_so_far(const analysis::JournalContents& journal) {
  RunSoFar s;
  s.last_seen_ns = analysis::journal_span(journal).second;
  std::set<std::string> vm_ids;
  // The last record of each migration, in the order they first appear.
  std::map<std::string, v1::MigrationEvent> last;
  std::vector<std::string> order;
  for (const auto& r : journal.records) {
    if (r.has_target()) {
      const v1::Target& t = r.target();
      if (vm_ids.insert(t.instance_id()).second) {
        s.vms.push_back(Vm{t.instance_id(), t.name(), t.ip(), t.mac(), {}});
      }
    } else if (r.has_migration()) {
      const v1::MigrationEvent& m = r.migration();
      const std::string key =
          attempt_key(m.iteration(), m.source_host(), m.dest_host(), m.instance_id());
      if (last.count(key) == 0) order.push_back(key);
      last[key] = m;
    } else if (r.has_evacuation()) {
      const v1::EvacuationEvent& e = r.evacuation();
      const std::string key = leg_key(e.iteration(), e.source_host(), e.dest_host());
      s.legs_started.insert(key);
      if (e.finished_ns() != 0 && !e.interrupted()) s.legs_finished.insert(key);
    } else if (r.has_run()) {
      s.state = r.run().state();
    }
  }
  for (const std::string& key : order) {
    const v1::MigrationEvent& m = last[key];
    if (ended(m.outcome())) {
      s.ended.insert(key);
      if (m.outcome() == v1::MIGRATION_OUTCOME_COMPLETED) {
        ++s.completed;
      } else {
        ++s.failed;
      }
    } else {
      s.in_flight.push_back(m);
    }
  }
  return s;
}

InFlightFate settle_in_flight(control::MigrationApi& nova, const v1::MigrationEvent& m,
                              std::chrono::milliseconds poll, std::chrono::milliseconds timeout,
                              const StopRequest& stop, RunProgress& progress,
                              v1::MigrationEvent* out, DriverClock& clock) {
  const std::string who = m.instance_name() + " " + m.source_host() + " -> " + m.dest_host();
  const auto deadline = clock.now() + timeout;
  bool aborted = false;
  std::string last_status;
  for (;;) {
    auto found = find_in_nova(nova, m);
    std::string why;
    if (!found.ok()) {
      why = found.error().to_string();
    } else if (!found->has_value()) {
      progress.line(who +
                    ": in flight when the run stopped, but Nova lists no such migration: "
                    "it is still to do");
      *out = m;
      out->set_outcome(v1::MIGRATION_OUTCOME_NOT_MADE);
      out->set_recorded_ns(clock.realtime_ns());
      out->set_error(
          "requested when the run stopped, but Nova never took the request: made again after "
          "the resume");
      return InFlightFate::kNotInNova;
    } else {
      const control::Migration& n = **found;
      *out = m;
      out->set_nova_status(n.status);
      if (out->nova_migration_id().empty()) out->set_nova_migration_id(n.uuid);
      out->set_recorded_ns(clock.realtime_ns());
      const uint64_t updated = iso_ns(n.updated_at);
      const uint64_t at = updated != 0 ? updated : clock.realtime_ns();
      const std::string note =
          "in flight when the run stopped; recorded from Nova's migration "
          "list after the resume (status " +
          n.status + ")";
      if (n.status == "completed") {
        out->set_outcome(v1::MIGRATION_OUTCOME_COMPLETED);
        out->set_phase(v1::MIGRATION_PHASE_COMPLETED);
        out->set_completed_ns(at);
        out->set_error(note);
        return InFlightFate::kEnded;
      }
      if (n.status == "error" || n.status == "failed" || n.status == "cancelled" ||
          n.status == "aborted") {
        const bool cancelled = n.status == "cancelled" || n.status == "aborted";
        out->set_outcome(cancelled ? v1::MIGRATION_OUTCOME_ABORTED : v1::MIGRATION_OUTCOME_FAILED);
        out->set_phase(cancelled ? v1::MIGRATION_PHASE_ABORTED : v1::MIGRATION_PHASE_FAILED);
        out->set_failed_ns(at);
        out->set_error(note);
        return InFlightFate::kEnded;
      }
      if (n.status != last_status) {
        progress.line(who + ": in flight when the run stopped; Nova says " + n.status +
                      ", waiting for its end");
        last_status = n.status;
      }
      if (!aborted && (clock.now() > deadline || stop.abort_running())) {
        progress.problem(who + ": still " + n.status + " after the migration timeout: aborting it");
        (void)nova.abort_migration(m.instance_id(), n.id);
        aborted = true;
      }
    }
    if (!why.empty()) {
      progress.problem(who + ": asking Nova about it: " + why);
      if (clock.now() > deadline) return InFlightFate::kUnresolved;
    }
    if (stop.stop_new()) return InFlightFate::kUnresolved;
    clock.sleep_for(poll);
  }
}

}  // namespace migprobe::orchestrator
