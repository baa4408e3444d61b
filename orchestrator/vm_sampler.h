#pragma once
// VM metrics: samples the server diagnostics (Nova 2.48: CPU time, memory, NIC and disk
// counters) of the VMs being watched, every period, and journals each answer as a VmSample;
// the report turns them into rates before, during and after each migration
// (analysis/vm_metrics.h). The leg runner watches a VM from the start of its leg to the end
// of its migration plus the settle time. A cloud that refuses diagnostics (policy: 403; a
// driver without them: 501; a Nova older than 2.48) is told once, journaled, and the run
// goes on without VM metrics; any other failed call loses that one sample (told once per
// distinct error; a 409, the guest not running as around the switchover, silently).

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "control/migration_api.h"
#include "control/run_journal.h"
#include "orchestrator/driver_clock.h"
#include "orchestrator/evacuation_options.h"
#include "orchestrator/run_progress.h"

namespace migprobe::orchestrator {

class VmSampler {
 public:
  // Samples every options.vm_metrics_period (0: never; start() does nothing).
  VmSampler(control::MigrationApi& nova, control::RunJournal& journal,
            const EvacuationOptions& options, RunProgress& progress,
            DriverClock& clock = system_driver_clock());
  ~VmSampler();
  VmSampler(const VmSampler&) = delete;
  VmSampler& operator=(const VmSampler&) = delete;

  // Starts the sampling thread (when the period is not 0 and the cloud has not refused).
  void start();
  // Stops the thread; the samples taken are journaled.
  void stop();
  // True while samples are taken: a period is set and the cloud has not refused.
  bool enabled() const;

  // Starts (or keeps) sampling a VM; the next round samples it.
  void watch(const std::string& server_id, const std::string& server_name);
  // Stops sampling it, after one last sample (the end of its settle time).
  void unwatch(const std::string& server_id);

  // One round: a sample of every watched VM now. The thread calls it every period; unit
  // tests call it on a fake clock.
  void sample_round();

 private:
  void loop();
  // Samples one VM; false when the cloud refused diagnostics (sampling stops).
  bool sample(const std::string& server_id, const std::string& server_name);

  control::MigrationApi& nova_;
  control::RunJournal& journal_;
  const EvacuationOptions& options_;
  RunProgress& progress_;
  DriverClock& clock_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  // Watched VMs: id -> name.
  std::map<std::string, std::string> watched_;
  // Distinct errors already told.
  std::set<std::string> told_;
  bool refused_ = false;
  bool stopping_ = false;
  // Serialises rounds (the thread's and unwatch's last sample).
  std::mutex round_mutex_;
  std::thread thread_;
};

}  // namespace migprobe::orchestrator
