#pragma once
// An evacuation run (issue 5; the original benchmark's scenario): probe every VM on the
// source host, move them all to the destination and back, N times, serially or K at a
// time, journal every event, and write the report at the end. A failed migration is an
// outcome and the run goes on; a Ctrl-C stops it cleanly with the journal intact.

#include <string>

#include "control/nova_client.h"
#include "orchestrator/evacuation_options.h"
#include "orchestrator/migration_driver.h"
#include "orchestrator/run_progress.h"

namespace migprobe::orchestrator {

// Exit codes of `migprobe-control evacuate`.
enum RunExit : int {
  kRunAllCompleted = 0,
  kRunSomeFailed = 1,
  kRunCouldNotStart = 2,
  kRunInterrupted = 3,
  kRunProbeLost = 4,
  // The journal or a report could not be written: what the run measured is not all kept.
  kRunOutputLost = 5,
};

// Runs the evacuation and writes the journal and reports under options.out_dir.
int run_evacuation(const EvacuationOptions& options, control::NovaClient& nova,
                   RunProgress& progress, StopRequest& stop);

// Goes on with a run in options.out_dir that stopped before its end (killed, a power loss,
// Ctrl-C): a torn last record is cut (and said), the migration that was in flight is
// recorded with Nova's outcome (waited for while Nova still runs it), each VM's host is
// Nova's, and the legs go on at the first migration not done; the time the control process
// was away is journaled as a coverage gap. A run that had finished only writes its report
// again; one whose journal never began runs from the start. Same exit codes.
int resume_evacuation(const EvacuationOptions& options, control::NovaClient& nova,
                      RunProgress& progress, StopRequest& stop);

}  // namespace migprobe::orchestrator
