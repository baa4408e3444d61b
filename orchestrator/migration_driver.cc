#include "orchestrator/migration_driver.h"

#include <algorithm>
#include <cctype>
#include <thread>

#include "base/clock.h"

namespace migprobe::orchestrator {
namespace {

using base::realtime_ns;
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

// The first line of Nova's failure text for the action started by request_id.
std::string action_error(control::NovaClient& nova, const std::string& server_id,
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

MigrationDriver::MigrationDriver(control::NovaClient& nova, control::RunJournal& journal,
                                 const EvacuationOptions& options, RunProgress& progress,
                                 const HypervisorFigures* figures)
    : nova_(nova), journal_(journal), options_(options), progress_(progress), figures_(figures) {}

void MigrationDriver::record(Active& active, v1::MigrationPhase phase) {
  v1::JournalRecord r;
  {
    // Appended under the migration's lock: records of one migration reach the journal in
    // the order of their states (an announce's switchover record, taken from the event
    // thread, can never land after the outcome and leave the migration open).
    std::lock_guard<std::mutex> lock(active.mutex);
    active.event.set_phase(phase);
    active.event.set_recorded_ns(realtime_ns());
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
  const uint64_t now = realtime_ns();
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

v1::MigrationEvent MigrationDriver::run(const MigrationJob& job, const StopRequest& stop) {
  auto active = std::make_shared<Active>();
  active->job = job;
  v1::MigrationEvent& ev = active->event;
  ev.set_campaign(options_.campaign);
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
  const std::string mac = lower(job.mac);
  if (!mac.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    active_[mac] = active;
  }
  auto unregister = [&] {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = active_.find(mac);
    if (it != active_.end() && it->second == active) active_.erase(it);
  };

  {
    std::lock_guard<std::mutex> lock(active->mutex);
    ev.set_requested_ns(realtime_ns());
  }
  record(*active, v1::MIGRATION_PHASE_REQUESTED);
  say(*active, "live migration requested");
  control::LiveMigrateOptions lm;
  lm.host = job.dest_host;
  lm.block_migration =
      options_.block_migration == "yes"  ? control::LiveMigrateOptions::BlockMigration::kYes
      : options_.block_migration == "no" ? control::LiveMigrateOptions::BlockMigration::kNo
                                         : control::LiveMigrateOptions::BlockMigration::kAuto;
  auto accepted = nova_.live_migrate(job.server_id, lm);
  if (!accepted.ok()) {
    {
      std::lock_guard<std::mutex> lock(active->mutex);
      ev.set_failed_ns(realtime_ns());
      ev.set_outcome(v1::MIGRATION_OUTCOME_FAILED);
      ev.set_request_id(accepted.error().request_id);
      ev.set_error("os-migrateLive refused: " + accepted.error().to_string());
    }
    record(*active, v1::MIGRATION_PHASE_FAILED);
    say(*active, "FAILED: " + ev.error());
    unregister();
    std::lock_guard<std::mutex> lock(active->mutex);
    return ev;
  }
  {
    std::lock_guard<std::mutex> lock(active->mutex);
    ev.set_accepted_ns(realtime_ns());
    ev.set_request_id(accepted->request_id);
  }
  record(*active, v1::MIGRATION_PHASE_ACCEPTED);

  const auto accepted_at = Clock::now();
  bool policy_applied = false;
  bool abort_sent = false;
  std::optional<Clock::time_point> timed_out_at;
  std::optional<Clock::time_point> failing_since;
  std::string last_error;
  auto last_progress = Clock::now() - std::chrono::hours(1);
  uint64_t last_processed = 0;
  bool done = false;
  // A failed poll is journaled (once per distinct error) and watching goes on; Nova
  // failing for kLostTrackAfter in a row fails the migration.
  auto poll_failed = [&](const control::Error& e) {
    if (!failing_since) failing_since = Clock::now();
    if (e.to_string() == last_error) return;
    last_error = e.to_string();
    journal_.append_error("nova", job.server_name + ": polling the migration: " + last_error);
    say(*active, "Nova error while polling (still watching): " + last_error);
  };
  while (!done) {
    std::this_thread::sleep_for(options_.poll_interval);
    const auto elapsed = Clock::now() - accepted_at;
    auto listed = nova_.server_migrations(job.server_id);
    bool still_running = false;
    if (listed.ok()) {
      failing_since.reset();
      const control::ServerMigration* mine = nullptr;
      for (const auto& m : listed->value) {
        if (m.dest_compute == job.dest_host || mine == nullptr) mine = &m;
      }
      if (mine != nullptr && in_progress_status(mine->status)) {
        still_running = true;
        bool newly_running = false;
        bool progressed = false;
        {
          std::lock_guard<std::mutex> lock(active->mutex);
          active->nova_id = mine->id;
          if (!mine->uuid.empty()) ev.set_nova_migration_id(mine->uuid);
          ev.set_nova_status(mine->status);
          ev.set_memory_total_bytes(mine->memory_total_bytes);
          ev.set_memory_processed_bytes(mine->memory_processed_bytes);
          ev.set_memory_remaining_bytes(mine->memory_remaining_bytes);
          if (ev.running_ns() == 0 && (mine->status == "running" || mine->status == "preparing" ||
                                       mine->status == "post-migrating")) {
            ev.set_running_ns(realtime_ns());
            newly_running = true;
          }
          progressed = mine->memory_processed_bytes != last_processed &&
                       Clock::now() - last_progress >= std::chrono::seconds(1);
        }
        if (newly_running) {
          record(*active, v1::MIGRATION_PHASE_RUNNING);
          say(*active, "running (Nova: " + mine->status + ")");
        } else if (progressed) {
          last_processed = mine->memory_processed_bytes;
          last_progress = Clock::now();
          record(*active, v1::MIGRATION_PHASE_PROGRESS);
          const uint64_t total = mine->memory_total_bytes;
          const int pct = total ? static_cast<int>(100.0 * static_cast<double>(last_processed) /
                                                   static_cast<double>(total))
                                : 0;
          say(*active, "memory " + std::to_string(pct) + "% (" + mib_text(last_processed) + " of " +
                           mib_text(total) + ", " + mib_text(mine->memory_remaining_bytes) +
                           " remaining)");
        }
      }
    } else {
      poll_failed(listed.error());
      still_running = true;  // unknown: keep watching
    }
    if (!still_running || !listed.ok()) {
      auto server = nova_.server(job.server_id);
      if (server.ok()) {
        if (listed.ok()) failing_since.reset();
        if (server->value.task_state.empty() && server->value.status != "MIGRATING") {
          settle_outcome(*active, baseline_id);
          done = true;
          continue;
        }
        still_running = true;
      } else {
        poll_failed(server.error());
        if (Clock::now() - *failing_since > kLostTrackAfter) {
          {
            std::lock_guard<std::mutex> lock(active->mutex);
            ev.set_failed_ns(realtime_ns());
            ev.set_outcome(v1::MIGRATION_OUTCOME_FAILED);
            ev.set_error("lost track of the migration: Nova failed for 60 s: " + last_error);
          }
          record(*active, v1::MIGRATION_PHASE_FAILED);
          say(*active, "FAILED: " + ev.error());
          done = true;
          continue;
        }
      }
    }
    int64_t nova_id = 0;
    {
      std::lock_guard<std::mutex> lock(active->mutex);
      nova_id = active->nova_id;
    }
    auto send_abort = [&](const std::string& why) {
      if (abort_sent || nova_id == 0) return;
      abort_sent = true;
      record(*active, v1::MIGRATION_PHASE_ABORT_REQUESTED);
      auto r = nova_.abort_migration(job.server_id, nova_id);
      say(*active, "abort requested (" + why + ")" +
                       (r.ok() ? std::string() : ": " + r.error().to_string()));
    };
    if (stop.abort_running()) send_abort("interrupted");
    if (!policy_applied && nova_id != 0 && elapsed >= options_.converge_timeout) {
      policy_applied = true;
      if (options_.policy == ConvergePolicy::kForceComplete) {
        record(*active, v1::MIGRATION_PHASE_FORCE_COMPLETE_REQUESTED);
        auto r = nova_.force_complete(job.server_id, nova_id);
        say(*active, "not converged: force complete requested" +
                         (r.ok() ? std::string() : ": " + r.error().to_string()));
      } else if (options_.policy == ConvergePolicy::kAbort) {
        send_abort("not converged in time");
      }
    }
    if (elapsed >= options_.migration_timeout) {
      if (!timed_out_at) {
        timed_out_at = Clock::now();
        send_abort("migration timeout");
      } else if (Clock::now() - *timed_out_at > kAbortGrace) {
        {
          std::lock_guard<std::mutex> lock(active->mutex);
          ev.set_failed_ns(realtime_ns());
          ev.set_outcome(v1::MIGRATION_OUTCOME_FAILED);
          ev.set_error("did not finish within the migration timeout, nor after an abort");
        }
        record(*active, v1::MIGRATION_PHASE_FAILED);
        say(*active, "FAILED: " + ev.error());
        done = true;
      }
    }
  }
  unregister();
  std::lock_guard<std::mutex> lock(active->mutex);
  return ev;
}

}  // namespace migprobe::orchestrator
