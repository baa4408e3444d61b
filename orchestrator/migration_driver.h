#pragma once
// Drives one live migration from request to outcome and journals each phase: requested,
// accepted (with Nova's request id), running, memory progress, switchover (the VM's MAC
// announced, seen by the dataplane), completed / failed / aborted, with Nova's own error
// text. Applies the run's policy to a migration that does not converge. Never throws and
// never gives up on the run: a failure is an outcome. Nova and the clock come in through
// interfaces (control::MigrationApi, DriverClock): unit tests play Nova's states on a fake
// clock.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "control/migration_api.h"
#include "control/run_journal.h"
#include "orchestrator/driver_clock.h"
#include "orchestrator/evacuation_options.h"
#include "orchestrator/hypervisor_figures.h"
#include "orchestrator/run_progress.h"

namespace migprobe::orchestrator {

// One migration to run.
struct MigrationJob {
  std::string server_id;
  std::string server_name;
  std::string ip;
  std::string mac;
  std::string source_host;
  std::string dest_host;
  uint32_t iteration = 0;
  // For progress lines: "iteration 1/2 hostA -> hostB".
  std::string label;
};

// How far a Ctrl-C went: the first stops new migrations, the second aborts those in flight.
struct StopRequest {
  std::atomic<int> level{0};
  bool stop_new() const { return level.load() >= 1; }
  bool abort_running() const { return level.load() >= 2; }
};

// Runs migrations; thread-safe (one call of run per thread).
class MigrationDriver {
 public:
  MigrationDriver(control::MigrationApi& nova, control::RunJournal& journal,
                  const EvacuationOptions& options, RunProgress& progress,
                  const HypervisorFigures* figures, DriverClock& clock = system_driver_clock());

  // Runs job to its outcome and returns the final record.
  v1::MigrationEvent run(const MigrationJob& job, const StopRequest& stop);
  // A switchover marker from the dataplane: stamps the migration of that MAC in flight.
  void on_announce(const v1::AnnounceEvent& announce);

 private:
  struct Active;
  struct Watch;
  // Journals the migration's state as of now, reporting phase.
  void record(Active& active, v1::MigrationPhase phase);
  void say(const Active& active, const std::string& text);
  // The one way a migration fails: stamped, journaled with its error, said.
  void fail(Active& active, const std::string& error, const std::string& request_id = {});
  // Asks Nova for the migration: false when Nova refused (the migration failed).
  bool request(Active& active);
  // Polls an accepted migration until it has an outcome.
  void watch(Active& active, int64_t baseline_id, const StopRequest& stop);
  // One poll: Nova's view of the migration, then the run's policy. True at the outcome.
  bool poll(Active& active, Watch& w, int64_t baseline_id, const StopRequest& stop);
  // Nova's progress of the migration in flight: running, memory.
  void follow(Active& active, Watch& w, const control::ServerMigration& mine);
  // A failed poll, journaled once per distinct error.
  void poll_failed(Active& active, Watch& w, const control::Error& e);
  // Ctrl-C, then the queue timeout until Nova starts the migration, the converge policy and
  // the migration timeout after. True when the run gives up.
  bool apply_policy(Active& active, Watch& w, const StopRequest& stop);
  void send_abort(Active& active, Watch& w, const std::string& why);
  // Fills the outcome once Nova no longer shows the migration in progress.
  void settle_outcome(Active& active, int64_t baseline_id);

  control::MigrationApi& nova_;
  control::RunJournal& journal_;
  const EvacuationOptions& options_;
  RunProgress& progress_;
  const HypervisorFigures* figures_;
  DriverClock& clock_;
  // Guards active_ (the map; each Active has its own lock).
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Active>> active_;
};

}  // namespace migprobe::orchestrator
