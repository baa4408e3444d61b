#pragma once
// The run's link to migprobe-dp: configures the targets and starts probing, journals every
// event the dataplane streams (gaps, announces, clock calibrations), and watches the
// dataplane, and its TCP flows' connection changes and figures. A dataplane that dies or
// stops answering is reported at once (an ErrorEvent);
// when it comes back (restarted: another pid) the targets are configured again, probing
// resumes, and the time it was blind is journaled as a CoverageGap.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/dataplane_client.h"
#include "control/run_journal.h"

namespace migprobe::orchestrator {

// Supervises one dataplane for the length of a run. Thread-safe.
class ProbeLink {
 public:
  // Switchover markers and gaps are also handed to this (on the event thread).
  using EventObserver = std::function<void(const v1::Event&)>;
  // Problems and recoveries, one line each, for the terminal.
  using Notice = std::function<void(const std::string&)>;

  ProbeLink(control::DataplaneOptions options, control::RunJournal& journal, EventObserver observer,
            Notice notice);
  ~ProbeLink();

  // Subscribes to events, configures targets (replacing any others), starts probing and
  // journals the targets with their flow ids. Starts the watchdog.
  // A dataplane not reachable yet (starting, or busy with a client killed a moment ago) is
  // asked again every half second for up to reachable_within, saying so once.
  control::Status start(const std::vector<v1::Target>& targets,
                        std::chrono::milliseconds reachable_within = std::chrono::milliseconds(0),
                        const std::function<bool()>& should_stop = {});
  // True while the dataplane answers and probes.
  bool healthy() const;
  // Waits until healthy or timeout (or stop requested by should_stop); returns healthy().
  bool wait_healthy(std::chrono::milliseconds timeout, const std::function<bool()>& should_stop);
  // Stops probing, waits drain for the last gaps, journals final per-flow totals (summed
  // over every dataplane process of the run) and any open coverage gap, and disconnects.
  void finish(std::chrono::milliseconds drain);

 private:
  void on_event(const v1::Event& event);
  void on_stream_end(const control::Error& error);
  void watchdog();
  // Marks the dataplane lost (once per outage).
  void lost(const std::string& why);
  // Re-subscribes, re-configures and restarts probing on a dataplane back from the dead.
  bool recover(const v1::Stats& stats);
  void remember_flows(const v1::Stats& stats);
  void journal_error(const std::string& message);
  // Journals what the dataplane measures with (its outage threshold) and its clock
  // calibration, at the start and after a restart.
  // The dataplane's settings and the run generation of the probes it sends for this run.
  void journal_probe_settings(const v1::Stats& stats, uint32_t generation);
  // One clock calibration record (rate, where it came from, drift, slew, realtime steps).
  void journal_calibration(const v1::ClockCalibration& clock);

  control::DataplaneClient client_;
  control::RunJournal& journal_;
  EventObserver observer_;
  Notice notice_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<v1::Target> targets_;
  bool healthy_ = false;
  bool stopping_ = false;
  // The dataplane process we talk to (Stats.pid, process_started_ns).
  uint32_t pid_ = 0;
  uint64_t process_started_ns_ = 0;
  // When the current outage began; 0 when none.
  uint64_t lost_since_ns_ = 0;
  // Latest per-flow counters of the current process, and the last of earlier processes.
  std::vector<v1::FlowStats> current_flows_;
  std::vector<v1::FlowStats> earlier_flows_;
  // TCP flows of the current process whose final figures came as an event (journaled);
  // the others get their last statistics' figures at the end.
  std::set<uint32_t> tcp_final_;
  // What a dataplane back from the dead said when it refused the targets: journaled once,
  // not at every retry (watchdog thread only).
  std::string last_refusal_;
  std::thread watchdog_;
};

// Sums per-flow counters of several dataplane processes per (target, kind) into reports.
std::vector<v1::FlowReport> merge_flow_totals(const std::vector<v1::FlowStats>& flows);

}  // namespace migprobe::orchestrator
