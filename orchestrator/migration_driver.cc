#include "orchestrator/migration_driver.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace migprobe::orchestrator {
namespace {

using Clock = std::chrono::steady_clock;

// A polling error this old means the run has lost track of the migration.
constexpr auto kLostTrackAfter = std::chrono::seconds(60);
// After an abort for timeout, how long Nova gets to settle the migration.
constexpr auto kAbortGrace = std::chrono::seconds(60);

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool in_progress_status(const std::string& s) {
  return s == "queued" || s == "preparing" || s == "running" || s == "post-migrating" ||
         s == "accepted";
}

// Nova has not started the migration yet: its conductor is checking it ("accepted") or the
// source host holds it until one of its max_concurrent_live_migrations slots is free
// ("queued").
bool waiting_status(const std::string& s) {
  return s == "accepted" || s == "queued";
}

// The first line of Nova's failure text for the action started by request_id.
std::string action_error(control::MigrationApi& nova, const std::string& server_id,
                         const std::string& request_id) {
  if (request_id.empty()) return {};
  auto action = nova.instance_action(server_id, request_id);
  if (!action.ok()) return {};
  for (const auto& e : action->value.events) {
    if (e.result != "Error") continue;
    std::string text = !e.details.empty() ? e.details : e.traceback;
    if (const auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
    return e.event + (text.empty() ? std::string() : ": " + text);
  }
  return action->value.message;
}

}  // namespace

struct MigrationDriver::Active {
  std::mutex mutex;
  v1::MigrationEvent event;
  MigrationJob job;
  int64_t nova_id = 0;
};

// What the poll loop of one migration carries from one poll to the next.
struct MigrationDriver::Watch {
  Clock::time_point accepted_at;
  // When Nova started the migration: the timeouts count from there. The acceptance unless
  // a poll showed it waiting (queued); then the first poll that showed it past that; none
  // while it waits.
  std::optional<Clock::time_point> started_at;
  bool policy_applied = false;
  bool abort_sent = false;
  std::optional<Clock::time_point> timed_out_at;
  // When the queue timeout asked Nova to cancel the migration still queued.
  std::optional<Clock::time_point> queue_timed_out_at;
  // Since when every poll of Nova failed, and the last distinct error.
  std::optional<Clock::time_point> failing_since;
  std::string last_error;
  Clock::time_point last_progress;
  uint64_t last_processed = 0;
};

MigrationDriver::MigrationDriver(control::MigrationApi& nova, control::RunJournal& journal,
                                 const EvacuationOptions& options, RunProgress& progress,
                                 const HypervisorFigures* figures, DriverClock& clock)
    : nova_(nova),
      journal_(journal),
      options_(options),
      progress_(progress),
      figures_(figures),
      clock_(clock) {}

void MigrationDriver::record(Active& active, v1::MigrationPhase phase) {
  v1::JournalRecord r;
  {
    // Appended under the migration's lock: records of one migration reach the journal in
    // the order of their states (an announce's switchover record, taken from the event
    // thread, can never land after the outcome and leave the migration open).
    std::lock_guard<std::mutex> lock(active.mutex);
    active.event.set_phase(phase);
    active.event.set_recorded_ns(clock_.realtime_ns());
    *r.mutable_migration() = active.event;
    journal_.append(r);
  }
  // Outcomes reach the kernel at once; the flusher handles the rest.
  if (phase >= v1::MIGRATION_PHASE_COMPLETED) journal_.flush();
}

void MigrationDriver::say(const Active& active, const std::string& text) {
  progress_.line(active.job.label + " · " + active.job.server_name + ": " + text);
}

void MigrationDriver::on_announce(const v1::AnnounceEvent& announce) {
  std::shared_ptr<Active> active;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = active_.find(lower(announce.mac()));
    if (it == active_.end()) return;
    active = it->second;
  }
  {
    std::lock_guard<std::mutex> lock(active->mutex);
    if (active->event.switchover_ns() != 0 || announce.seen_ns() < active->event.requested_ns()) {
      return;
    }
    active->event.set_switchover_ns(announce.seen_ns());
  }
  record(*active, v1::MIGRATION_PHASE_SWITCHOVER);
  say(*active, std::string("switchover (") +
                   (announce.kind() == v1::ANNOUNCE_KIND_RARP ? "RARP" : "gratuitous ARP") +
                   " seen)");
}

void MigrationDriver::settle_outcome(Active& active, int64_t baseline_id) {
  const MigrationJob& job = active.job;
  std::string status;
  control::MigrationFilter filter;
  filter.instance_uuid = job.server_id;
  filter.migration_type = "live-migration";
  auto list = nova_.migrations(filter);
  if (list.ok()) {
    const control::Migration* found = nullptr;
    for (const auto& m : list->value) {
      if (active.nova_id != 0 ? m.id == active.nova_id
                              : m.id > baseline_id && (found == nullptr || m.id > found->id)) {
        found = &m;
      }
    }
    if (found != nullptr) {
      status = found->status;
      std::lock_guard<std::mutex> lock(active.mutex);
      active.nova_id = found->id;
      if (!found->uuid.empty()) active.event.set_nova_migration_id(found->uuid);
      active.event.set_nova_status(status);
    }
  }
  std::string host;
  if (auto server = nova_.server(job.server_id); server.ok()) host = server->value.host;
  const uint64_t now = clock_.realtime_ns();
  v1::MigrationPhase phase = v1::MIGRATION_PHASE_FAILED;
  std::string error;
  if (status == "completed" && host == job.dest_host) {
    phase = v1::MIGRATION_PHASE_COMPLETED;
  } else if (status == "cancelled" || status == "aborted") {
    phase = v1::MIGRATION_PHASE_ABORTED;
    error = "aborted; the server stayed on " + (host.empty() ? job.source_host : host);
  } else if (status == "completed") {
    error = "Nova says completed but the server is on " + host;
  } else {
    error = action_error(nova_, job.server_id, active.event.request_id());
    if (error.empty()) {
      error = status.empty() ? "no migration record found in os-migrations"
                             : "Nova migration status '" + status + "'";
    }
  }
  {
    std::lock_guard<std::mutex> lock(active.mutex);
    v1::MigrationEvent& e = active.event;
    if (phase == v1::MIGRATION_PHASE_COMPLETED) {
      e.set_completed_ns(now);
      e.set_outcome(v1::MIGRATION_OUTCOME_COMPLETED);
    } else {
      e.set_failed_ns(now);
      e.set_outcome(phase == v1::MIGRATION_PHASE_ABORTED ? v1::MIGRATION_OUTCOME_ABORTED
                                                         : v1::MIGRATION_OUTCOME_FAILED);
      e.set_error(error);
    }
  }
  // QEMU's figures exist for a migration that completed only.
  if (figures_ != nullptr && phase == v1::MIGRATION_PHASE_COMPLETED) {
    v1::MigrationEvent copy;
    {
      std::lock_guard<std::mutex> lock(active.mutex);
      copy = active.event;
    }
    if (figures_->fill(copy.nova_migration_id(), &copy, std::chrono::milliseconds(2000))) {
      std::lock_guard<std::mutex> lock(active.mutex);
      active.event.set_hypervisor_downtime_ms(copy.hypervisor_downtime_ms());
      active.event.set_hypervisor_stop_ns(copy.hypervisor_stop_ns());
      active.event.set_hypervisor_resume_ns(copy.hypervisor_resume_ns());
    }
  }
  record(active, phase);
  if (phase == v1::MIGRATION_PHASE_COMPLETED) {
    say(active, "completed");
  } else {
    say(active, (phase == v1::MIGRATION_PHASE_ABORTED ? "aborted: " : "FAILED: ") + error);
  }
}

void MigrationDriver::fail(Active& active, const std::string& error,
                           const std::string& request_id) {
  {
    std::lock_guard<std::mutex> lock(active.mutex);
    v1::MigrationEvent& e = active.event;
    e.set_failed_ns(clock_.realtime_ns());
    e.set_outcome(v1::MIGRATION_OUTCOME_FAILED);
    if (!request_id.empty()) e.set_request_id(request_id);
    e.set_error(error);
  }
  record(active, v1::MIGRATION_PHASE_FAILED);
  say(active, "FAILED: " + error);
}

bool MigrationDriver::request(Active& active) {
  {
    std::lock_guard<std::mutex> lock(active.mutex);
    active.event.set_requested_ns(clock_.realtime_ns());
  }
  record(active, v1::MIGRATION_PHASE_REQUESTED);
  say(active, "live migration requested");
  control::LiveMigrateOptions lm;
  lm.host = active.job.dest_host;
  lm.block_migration =
      options_.block_migration == "yes"  ? control::LiveMigrateOptions::BlockMigration::kYes
      : options_.block_migration == "no" ? control::LiveMigrateOptions::BlockMigration::kNo
                                         : control::LiveMigrateOptions::BlockMigration::kAuto;
  auto accepted = nova_.live_migrate(active.job.server_id, lm);
  if (!accepted.ok()) {
    fail(active, "os-migrateLive refused: " + accepted.error().to_string(),
         accepted.error().request_id);
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(active.mutex);
    active.event.set_accepted_ns(clock_.realtime_ns());
    active.event.set_request_id(accepted->request_id);
  }
  record(active, v1::MIGRATION_PHASE_ACCEPTED);
  return true;
}

void MigrationDriver::watch(Active& active, int64_t baseline_id, const StopRequest& stop) {
  Watch w;
  w.accepted_at = clock_.now();
  w.started_at = w.accepted_at;
  w.last_progress = w.accepted_at - std::chrono::hours(1);
  do {
    clock_.sleep_for(options_.poll_interval);
  } while (!poll(active, w, baseline_id, stop));
}

void MigrationDriver::poll_failed(Active& active, Watch& w, const control::Error& e) {
  // Watching goes on; Nova failing for kLostTrackAfter in a row fails the migration.
  if (!w.failing_since) w.failing_since = clock_.now();
  if (e.to_string() == w.last_error) return;
  w.last_error = e.to_string();
  journal_.append_error("nova",
                        active.job.server_name + ": polling the migration: " + w.last_error);
  say(active, "Nova error while polling (still watching): " + w.last_error);
}

void MigrationDriver::follow(Active& active, Watch& w, const control::ServerMigration& mine) {
  v1::MigrationEvent& ev = active.event;
  bool newly_queued = false;
  bool newly_running = false;
  bool progressed = false;
  {
    std::lock_guard<std::mutex> lock(active.mutex);
    active.nova_id = mine.id;
    if (!mine.uuid.empty()) ev.set_nova_migration_id(mine.uuid);
    ev.set_nova_status(mine.status);
    if (mine.memory_processed_bytes > ev.memory_processed_bytes() ||
        mine.disk_processed_bytes > ev.disk_processed_bytes()) {
      ev.set_progress_ns(clock_.realtime_ns());
    }
    ev.set_memory_total_bytes(mine.memory_total_bytes);
    ev.set_memory_processed_bytes(mine.memory_processed_bytes);
    ev.set_memory_remaining_bytes(mine.memory_remaining_bytes);
    ev.set_disk_total_bytes(mine.disk_total_bytes);
    ev.set_disk_processed_bytes(mine.disk_processed_bytes);
    ev.set_disk_remaining_bytes(mine.disk_remaining_bytes);
    if (ev.running_ns() == 0 && waiting_status(mine.status)) {
      w.started_at.reset();
      if (ev.queued_ns() == 0 && mine.status == "queued") {
        ev.set_queued_ns(clock_.realtime_ns());
        newly_queued = true;
      }
    }
    if (ev.running_ns() == 0 && !waiting_status(mine.status)) {
      ev.set_running_ns(clock_.realtime_ns());
      if (!w.started_at) w.started_at = clock_.now();
      newly_running = true;
    }
    progressed = mine.memory_processed_bytes != w.last_processed &&
                 clock_.now() - w.last_progress >= std::chrono::seconds(1);
  }
  if (newly_queued) {
    record(active, v1::MIGRATION_PHASE_QUEUED);
    say(active, "queued by Nova (the source host runs its max_concurrent_live_migrations)");
  } else if (newly_running) {
    record(active, v1::MIGRATION_PHASE_RUNNING);
    std::string text = "running (Nova: " + mine.status + ")";
    if (ev.queued_ns() != 0) {
      text += " after " + seconds_text(ev.running_ns() - ev.accepted_ns()) + " queued";
    }
    say(active, text);
  } else if (progressed) {
    w.last_processed = mine.memory_processed_bytes;
    w.last_progress = clock_.now();
    record(active, v1::MIGRATION_PHASE_PROGRESS);
    const uint64_t total = mine.memory_total_bytes;
    const int pct = total ? static_cast<int>(100.0 * static_cast<double>(w.last_processed) /
                                             static_cast<double>(total))
                          : 0;
    say(active, "memory " + std::to_string(pct) + "% (" + mib_text(w.last_processed) + " of " +
                    mib_text(total) + ", " + mib_text(mine.memory_remaining_bytes) + " remaining)");
  }
}

bool MigrationDriver::poll(Active& active, Watch& w, int64_t baseline_id, const StopRequest& stop) {
  const MigrationJob& job = active.job;
  auto listed = nova_.server_migrations(job.server_id);
  bool in_flight = true;  // unknown while Nova does not answer: keep watching
  if (listed.ok()) {
    w.failing_since.reset();
    const control::ServerMigration* mine = nullptr;
    for (const auto& m : listed->value) {
      if (m.dest_compute == job.dest_host || mine == nullptr) mine = &m;
    }
    in_flight = mine != nullptr && in_progress_status(mine->status);
    if (in_flight) follow(active, w, *mine);
  } else {
    poll_failed(active, w, listed.error());
  }
  if (!in_flight || !listed.ok()) {
    // Over, or unknown: the server tells.
    auto server = nova_.server(job.server_id);
    if (server.ok()) {
      if (server->value.task_state.empty() && server->value.status != "MIGRATING") {
        settle_outcome(active, baseline_id);
        return true;
      }
    } else {
      poll_failed(active, w, server.error());
      if (clock_.now() - *w.failing_since > kLostTrackAfter) {
        fail(active, "lost track of the migration: Nova failed for 60 s: " + w.last_error);
        return true;
      }
    }
  }
  return apply_policy(active, w, stop);
}

void MigrationDriver::send_abort(Active& active, Watch& w, const std::string& why) {
  int64_t nova_id = 0;
  {
    std::lock_guard<std::mutex> lock(active.mutex);
    nova_id = active.nova_id;
  }
  if (w.abort_sent || nova_id == 0) return;
  w.abort_sent = true;
  record(active, v1::MIGRATION_PHASE_ABORT_REQUESTED);
  auto r = nova_.abort_migration(active.job.server_id, nova_id);
  say(active,
      "abort requested (" + why + ")" + (r.ok() ? std::string() : ": " + r.error().to_string()));
}

bool MigrationDriver::apply_policy(Active& active, Watch& w, const StopRequest& stop) {
  int64_t nova_id = 0;
  {
    std::lock_guard<std::mutex> lock(active.mutex);
    nova_id = active.nova_id;
  }
  if (stop.abort_running()) send_abort(active, w, "interrupted");
  const Clock::time_point now = clock_.now();
  if (!w.started_at) {
    // Waiting in Nova's queue: only the queue timeout runs.
    if (now - w.accepted_at >= options_.queue_timeout) {
      if (!w.queue_timed_out_at) {
        w.queue_timed_out_at = now;
        send_abort(active, w, "queued longer than the queue timeout");
      } else if (now - *w.queue_timed_out_at > kAbortGrace) {
        fail(active,
             "Nova did not start the migration within the queue timeout, nor cancel "
             "it after it was asked to");
        return true;
      }
    }
    return false;
  }
  if (w.queue_timed_out_at && w.abort_sent && !stop.abort_running()) {
    // Nova started it after all (the cancel came too late or was refused): from here on it
    // is a running migration, under the run's policy and timeouts.
    w.abort_sent = false;
    w.queue_timed_out_at.reset();
  }
  const Clock::duration elapsed = now - *w.started_at;
  if (!w.policy_applied && nova_id != 0 && elapsed >= options_.converge_timeout) {
    w.policy_applied = true;
    if (options_.policy == ConvergePolicy::kForceComplete) {
      record(active, v1::MIGRATION_PHASE_FORCE_COMPLETE_REQUESTED);
      auto r = nova_.force_complete(active.job.server_id, nova_id);
      say(active, "not converged: force complete requested" +
                      (r.ok() ? std::string() : ": " + r.error().to_string()));
    } else if (options_.policy == ConvergePolicy::kAbort) {
      send_abort(active, w, "not converged in time");
    }
  }
  if (elapsed >= options_.migration_timeout) {
    if (!w.timed_out_at) {
      w.timed_out_at = now;
      send_abort(active, w, "migration timeout");
    } else if (now - *w.timed_out_at > kAbortGrace) {
      fail(active, "did not finish within the migration timeout, nor after an abort");
      return true;
    }
  }
  return false;
}

v1::MigrationEvent MigrationDriver::run(const MigrationJob& job, const StopRequest& stop) {
  auto active = std::make_shared<Active>();
  active->job = job;
  v1::MigrationEvent& ev = active->event;
  ev.set_campaign(options_.campaign);
  ev.set_cell(options_.cell);
  for (const auto& [k, v] : options_.labels) (*ev.mutable_labels())[k] = v;
  ev.set_iteration(job.iteration);
  ev.set_instance_id(job.server_id);
  ev.set_instance_name(job.server_name);
  ev.set_ip(job.ip);
  ev.set_mac(lower(job.mac));
  ev.set_source_host(job.source_host);
  ev.set_dest_host(job.dest_host);
  ev.set_outcome(v1::MIGRATION_OUTCOME_IN_PROGRESS);

  // The newest live migration of this server before ours, to tell ours apart afterwards.
  int64_t baseline_id = 0;
  control::MigrationFilter filter;
  filter.instance_uuid = job.server_id;
  filter.migration_type = "live-migration";
  if (auto before = nova_.migrations(filter); before.ok()) {
    for (const auto& m : before->value) baseline_id = std::max(baseline_id, m.id);
  }
  // Announces of the VM's MAC stamp the switchover while the migration is ours.
  const std::string mac = lower(job.mac);
  if (!mac.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    active_[mac] = active;
  }
  if (request(*active)) watch(*active, baseline_id, stop);
  if (!mac.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = active_.find(mac);
    if (it != active_.end() && it->second == active) active_.erase(it);
  }
  std::lock_guard<std::mutex> lock(active->mutex);
  return ev;
}

}  // namespace migprobe::orchestrator
