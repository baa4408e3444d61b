#pragma once
// An evacuation as a plan of legs and a leg runner. A leg moves every VM that is on its
// source host to its destination host, one at a time or K at a time, journaling the leg
// (EvacuationEvent, at its start and at its end) and each migration (MigrationDriver); a
// failed migration is an outcome and the leg goes on. The run (evacuation_run.h) plans the
// legs from its options, starts the probe and runs the legs in order; a campaign runs the
// legs of each of its cells.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "control/run_journal.h"
#include "orchestrator/evacuation_options.h"
#include "orchestrator/migration_driver.h"
#include "orchestrator/run_progress.h"

namespace migprobe::orchestrator {

class ProbeLink;
class VmSampler;

// A VM of the run and where it is now.
struct Vm {
  std::string id;
  std::string name;
  std::string ip;
  std::string mac;
  std::string host;
};

// One leg: every VM on from moves to to.
struct Leg {
  uint32_t iteration = 0;
  std::string from;
  std::string to;
  // For progress lines: "iteration 1/2 hostA -> hostB".
  std::string label;
};

// The legs of an evacuation run: source to destination and back, iterations times.
std::vector<Leg> plan_legs(const EvacuationOptions& options);

// What a leg did.
struct LegResult {
  uint32_t completed = 0;
  uint32_t failed = 0;
  // The dataplane did not come back within the grace: the run must stop.
  bool probe_lost = false;
};

// Runs legs with one driver; the VMs' hosts follow the migrations that completed.
class LegRunner {
 public:
  // probe may be null (a run without a dataplane), sampler too (no VM metrics). With a
  // sampler, the leg's VMs are watched from its start (two rounds one period apart before
  // the first migration: the rates before it) to the end of each one's settle time.
  LegRunner(const EvacuationOptions& options, MigrationDriver& driver, control::RunJournal& journal,
            RunProgress& progress, ProbeLink* probe, VmSampler* sampler = nullptr);

  // Moves the VMs on leg.from to leg.to. A resumed leg (begun before the run stopped) skips
  // the VMs done says were done before, and its record says it was resumed.
  LegResult run(const Leg& leg, std::vector<Vm>& vms, const StopRequest& stop,
                const std::function<bool(const Vm&)>& done = {}, bool resumed = false);

 private:
  const EvacuationOptions& options_;
  MigrationDriver& driver_;
  control::RunJournal& journal_;
  RunProgress& progress_;
  ProbeLink* probe_;
  VmSampler* sampler_;
};

// Sleeps d unless a stop is requested first.
void pause_for(std::chrono::milliseconds d, const StopRequest& stop);

}  // namespace migprobe::orchestrator
