#pragma once
// Resuming a run that stopped before its end (issue 13: a kill -9 of migprobe-control, a
// power loss, a Ctrl-C): what its journal says was done, and Nova's word on the migration
// that was in flight. The run then goes on at the first migration not done: none that ended
// is repeated, none is skipped (evacuation_run.h resume_evacuation).

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "analysis/journal.h"
#include "control/migration_api.h"
#include "orchestrator/driver_clock.h"
#include "orchestrator/evacuation_legs.h"
#include "orchestrator/migration_driver.h"
#include "orchestrator/run_progress.h"

namespace migprobe::orchestrator {

// One migration of a run: a VM in one leg (iteration, from, to).
std::string attempt_key(uint32_t iteration, const std::string& from, const std::string& to,
                        const std::string& instance_id);
// One leg of a run.
std::string leg_key(uint32_t iteration, const std::string& from, const std::string& to);

// What the journal of a run says was done.
struct RunSoFar {
  // The run's VMs (its target records, in order; hosts are Nova's to tell).
  std::vector<Vm> vms;
  // The migrations that reached an outcome (attempt_key).
  std::set<std::string> ended;
  // Their outcomes so far.
  uint32_t completed = 0;
  uint32_t failed = 0;
  // Migrations whose last record is still in progress: in flight when the run stopped.
  std::vector<v1::MigrationEvent> in_flight;
  // Legs with a finished record (leg_key): nothing of them is left to do.
  std::set<std::string> legs_finished;
  // Legs that started (leg_key): one started and not finished is resumed.
  std::set<std::string> legs_started;
  // The newest time in the journal: when the run was last heard of.
  uint64_t last_seen_ns = 0;
  // The run's last state record ("started", "finished", "interrupted", ...).
  std::string state;
};

RunSoFar read_run_so_far(const analysis::JournalContents& journal);

// What Nova says of a migration that was in flight.
enum class InFlightFate {
  kEnded,       // it reached an outcome (completed, failed or cancelled): record it
  kNotInNova,   // Nova never took the request: it is still to do (*out: the record that says
                // so, outcome NOT_MADE, for the journal)
  kUnresolved,  // a stop was requested, or Nova could not be asked, before it ended
};

// Asks Nova for the migration m (by its uuid, else the newest live migration of the server
// between the same hosts) and, while Nova still runs it, polls every poll until it ends (past
// timeout it is aborted, once). kUnresolved when a stop is requested first, or Nova cannot be
// asked for timeout: nothing is recorded and a later resume asks again. On kEnded, *out is
// the record to journal: m with Nova's outcome and status, completed_ns (or failed_ns) from
// Nova's updated_at, and the error saying it was recorded from Nova's list after a resume.
InFlightFate settle_in_flight(control::MigrationApi& nova, const v1::MigrationEvent& m,
                              std::chrono::milliseconds poll, std::chrono::milliseconds timeout,
                              const StopRequest& stop, RunProgress& progress,
                              v1::MigrationEvent* out, DriverClock& clock = system_driver_clock());

}  // namespace migprobe::orchestrator
