#include "orchestrator/evacuation_run.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>

#include "base/clock.h"
#include "control/run_journal.h"
#include "orchestrator/evacuation_legs.h"
#include "orchestrator/probe_link.h"
#include "orchestrator/run_report.h"
#include "orchestrator/run_resume.h"
#include "orchestrator/vm_sampler.h"

namespace migprobe::orchestrator {
namespace {

using base::realtime_ns;

// The first fixed IPv4 address of a server (the one probes reach), else its first IPv4.
void pick_address(const control::Server& s, Vm* vm) {
  const control::ServerAddress* best = nullptr;
  for (const auto& a : s.addresses) {
    if (a.version != 4) continue;
    if (best == nullptr || (best->type != "fixed" && a.type == "fixed")) best = &a;
  }
  if (best != nullptr) {
    vm->ip = best->addr;
    vm->mac = best->mac;
  }
}

void journal_run(control::RunJournal& journal, const EvacuationOptions& o,
                 const control::NovaClient& nova, const std::string& state,
                 const std::string& summary_text) {
  v1::JournalRecord r;
  r.mutable_run()->set_authentications(static_cast<uint32_t>(nova.authentications()));
  r.mutable_run()->set_seen_ns(realtime_ns());
  r.mutable_run()->set_settle_ns(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(o.settle).count()));
  r.mutable_run()->set_state(state);
  r.mutable_run()->set_summary(summary_text);
  journal.append(r);
  journal.flush(true);
}

// The VMs to move: servers on the source host, filtered by the names or ids asked for.
control::Result<std::vector<Vm>> find_vms(const EvacuationOptions& o, control::NovaClient& nova) {
  auto listed = nova.servers_on_host(o.source_host);
  if (!listed.ok()) return listed.error();
  std::vector<Vm> vms;
  for (const auto& s : listed->value) {
    if (!o.servers.empty() &&
        std::find_if(o.servers.begin(), o.servers.end(), [&](const std::string& want) {
          return want == s.name || want == s.id;
        }) == o.servers.end()) {
      continue;
    }
    Vm vm{s.id, s.name, {}, {}, s.host.empty() ? o.source_host : s.host};
    pick_address(s, &vm);
    vms.push_back(std::move(vm));
  }
  for (const auto& want : o.servers) {
    if (std::none_of(vms.begin(), vms.end(),
                     [&](const Vm& v) { return v.name == want || v.id == want; })) {
      return control::make_error(control::ErrorKind::kConfig,
                                 "server '" + want + "' is not on host " + o.source_host);
    }
  }
  if (vms.empty()) {
    return control::make_error(control::ErrorKind::kConfig,
                               "no servers on host " + o.source_host + " to evacuate");
  }
  std::sort(vms.begin(), vms.end(), [](const Vm& a, const Vm& b) { return a.name < b.name; });
  return vms;
}

}  // namespace

namespace {

// A run that stopped before its end, as its journal tells it (resume_evacuation).
struct Resume {
  RunSoFar so_far;
  // What was cut from the journal's end ("" when nothing).
  std::string cut;
};

// The run, fresh or resumed.
int execute(const EvacuationOptions& o, control::NovaClient& nova, RunProgress& progress,
            StopRequest& stop, Resume* resume) {
  control::RunJournal journal;
  const std::string journal_path = o.out_dir + "/journal.mpj";
  if (resume == nullptr) {
    if (mkdir(o.out_dir.c_str(), 0750) != 0 && errno != EEXIST) {
      progress.problem("cannot create " + o.out_dir + ": " + std::strerror(errno));
      return kRunCouldNotStart;
    }
    // One run per directory: appending to an earlier run's journal would make one report of
    // two runs under the first one's header.
    if (struct stat st{}; stat(journal_path.c_str(), &st) == 0 && st.st_size > 0) {
      progress.problem(o.out_dir + " already holds a run (" + journal_path +
                       "): give another --out-dir, or remove it");
      return kRunCouldNotStart;
    }
  }
  v1::JournalHeader header;
  header.set_writer("migprobe-control");
  header.set_created_ns(realtime_ns());
  header.set_campaign(o.campaign);
  if (auto opened = journal.open(journal_path, header); !opened.ok()) {
    progress.problem(opened.error().message);
    return kRunCouldNotStart;
  }
  const std::string what = summary(o);
  journal_run(journal, o, nova, resume == nullptr ? "started" : "resumed", what);
  progress.line((resume == nullptr ? "run " : "run resumed ") + o.campaign + ": " + what);
  progress.line("journal: " + journal_path);
  if (resume != nullptr && !resume->cut.empty()) {
    journal.append_error("control", resume->cut);
    progress.problem(resume->cut);
  }

  auto fail_start = [&](const std::string& source, const std::string& message) {
    journal.append_error(source, message);
    journal_run(journal, o, nova, "failed", message);
    journal.close();
    progress.problem("cannot start: " + message);
    return kRunCouldNotStart;
  };
  if (auto v = nova.negotiate(); !v.ok()) return fail_start("nova", v.error().to_string());

  uint32_t completed = 0;
  uint32_t failed = 0;
  std::vector<Vm> vms;
  if (resume == nullptr || resume->so_far.vms.empty()) {
    auto found = find_vms(o, nova);
    if (!found.ok()) return fail_start("nova", found.error().to_string());
    vms = std::move(found.value());
  } else {
    RunSoFar& so_far = resume->so_far;
    completed = so_far.completed;
    failed = so_far.failed;
    // Nova's word on what was in flight, before anything moves again.
    for (const v1::MigrationEvent& m : so_far.in_flight) {
      v1::MigrationEvent outcome;
      // It may still be queued in Nova: its queue time, then its run time.
      const InFlightFate fate =
          settle_in_flight(nova, m, o.poll_interval, o.migration_timeout + o.queue_timeout, stop,
                           progress, &outcome);
      if (fate == InFlightFate::kUnresolved) {
        journal_run(journal, o, nova, "interrupted",
                    "the migration of " + m.instance_name() +
                        " in flight when the run stopped "
                        "has not ended yet");
        journal.close();
        progress.problem("resume stopped while " + m.instance_name() +
                         "'s migration was still in flight; resume again");
        return kRunInterrupted;
      }
      if (fate == InFlightFate::kNotInNova) {
        // The request that never reached Nova: closed, so no report shows it in progress.
        v1::JournalRecord r;
        *r.mutable_migration() = outcome;
        journal.append(r);
      }
      if (fate == InFlightFate::kEnded) {
        v1::JournalRecord r;
        *r.mutable_migration() = outcome;
        journal.append(r);
        so_far.ended.insert(
            attempt_key(m.iteration(), m.source_host(), m.dest_host(), m.instance_id()));
        if (outcome.outcome() == v1::MIGRATION_OUTCOME_COMPLETED) {
          ++completed;
        } else {
          ++failed;
        }
        progress.line(m.instance_name() + " " + m.source_host() + " -> " + m.dest_host() + ": " +
                      outcome.nova_status() + " (Nova's migration list)");
      }
    }
    journal.flush(true);
    // Where each VM is now.
    vms = so_far.vms;
    for (Vm& vm : vms) {
      auto server = nova.server(vm.id);
      if (!server.ok()) {
        return fail_start("nova", "where is " + vm.name + "? " + server.error().to_string());
      }
      vm.host = server->value.host;
    }
  }

  HypervisorFigures figures(o.hypervisor_figures);
  MigrationDriver driver(nova, journal, o, progress,
                         o.hypervisor_figures.empty() ? nullptr : &figures);
  std::unique_ptr<ProbeLink> probe;
  std::vector<v1::Target> targets;
  for (const Vm& vm : vms) {
    v1::Target t;
    t.set_name(vm.name);
    t.set_instance_id(vm.id);
    t.set_ip(vm.ip);
    t.set_mac(vm.mac);
    for (const auto& f : o.flows) *t.add_flows() = f;
    targets.push_back(t);
    progress.line("VM " + vm.name + " (" + vm.id + ") " + (vm.ip.empty() ? "no IPv4" : vm.ip) +
                  " on " + vm.host);
  }
  if (!o.dataplane_socket.empty()) {
    for (const auto& t : targets) {
      if (t.ip().empty())
        return fail_start("nova", "server " + t.name() + " has no IPv4 address to probe");
    }
    probe = std::make_unique<ProbeLink>(
        control::DataplaneOptions{o.dataplane_socket}, journal,
        [&driver](const v1::Event& e) {
          if (e.has_announce()) driver.on_announce(e.announce());
        },
        [&progress](const std::string& text) { progress.line(text); });
    if (auto started =
            probe->start(targets, o.dataplane_grace, [&stop] { return stop.stop_new(); });
        !started.ok()) {
      return fail_start("dataplane", started.error().message);
    }
    progress.line("probing " + std::to_string(targets.size()) + " VMs with " +
                  std::to_string(o.flows.size()) + " flows each");
  } else if (resume == nullptr) {
    for (const auto& t : targets) {
      v1::JournalRecord r;
      *r.mutable_target() = t;
      journal.append(r);
    }
  }
  if (resume != nullptr) {
    // Nothing was measured while the control process was away.
    v1::JournalRecord r;
    r.mutable_coverage_gap()->set_from_ns(resume->so_far.last_seen_ns);
    r.mutable_coverage_gap()->set_to_ns(realtime_ns());
    r.mutable_coverage_gap()->set_reason(
        "migprobe-control was not running (the run stopped and was resumed)");
    journal.append(r);
    journal.flush(true);
  }
  // A quiet baseline before the first migration.
  pause_for(o.settle, stop);

  bool probe_lost = false;
  VmSampler sampler(nova, journal, o, progress);
  sampler.start();
  LegRunner legs(o, driver, journal, progress, probe.get(), &sampler);
  for (const Leg& leg : plan_legs(o)) {
    if (stop.stop_new()) break;
    std::function<bool(const Vm&)> done;
    bool resumed = false;
    if (resume != nullptr) {
      const std::string key = leg_key(leg.iteration, leg.from, leg.to);
      if (resume->so_far.legs_finished.count(key) > 0) continue;
      resumed = resume->so_far.legs_started.count(key) > 0;
      done = [&resume, &leg](const Vm& vm) {
        return resume->so_far.ended.count(attempt_key(leg.iteration, leg.from, leg.to, vm.id)) > 0;
      };
    }
    const LegResult r = legs.run(leg, vms, stop, done, resumed);
    completed += r.completed;
    failed += r.failed;
    if (r.probe_lost) {
      probe_lost = true;
      const std::string message = "the dataplane did not come back within " +
                                  std::to_string(o.dataplane_grace.count()) +
                                  " ms; stopping the run (migrations without a probe measure "
                                  "nothing)";
      journal.append_error("control", message);
      progress.problem(message);
      break;
    }
  }
  // A stop asked for after the last leg (while the sampler stops, while the last replies
  // drain) does not make a finished run interrupted.
  const bool interrupted = stop.stop_new();
  sampler.stop();
  if (probe) {
    uint64_t reply_timeout_ns = 0;
    for (const auto& f : o.flows)
      reply_timeout_ns = std::max(reply_timeout_ns, f.reply_timeout_ns());
    probe->finish(std::chrono::milliseconds(reply_timeout_ns / 1'000'000 + 500));
  }
  journal_run(
      journal, o, nova, interrupted ? "interrupted" : (probe_lost ? "stopped" : "finished"),
      std::to_string(completed) + " migrations completed, " + std::to_string(failed) + " failed");
  journal.close();
  const std::string journal_error = journal.error();
  if (!journal_error.empty()) {
    progress.problem("journal: " + journal_error + ": some records are missing");
  }
  progress.line(std::string(interrupted ? "run interrupted" : "run finished") + ": " +
                std::to_string(completed) + " completed, " + std::to_string(failed) + " failed");

  const base::Status reported = write_reports(journal_path, o.out_dir, o.quiet ? nullptr : stdout);
  if (!reported) progress.problem("report: " + reported.error().message);
  if (!journal_error.empty() || !reported) return kRunOutputLost;
  if (interrupted) return kRunInterrupted;
  if (probe_lost) return kRunProbeLost;
  return failed > 0 ? kRunSomeFailed : kRunAllCompleted;
}

}  // namespace

int run_evacuation(const EvacuationOptions& o, control::NovaClient& nova, RunProgress& progress,
                   StopRequest& stop) {
  return execute(o, nova, progress, stop, nullptr);
}

int resume_evacuation(const EvacuationOptions& o, control::NovaClient& nova, RunProgress& progress,
                      StopRequest& stop) {
  const std::string journal_path = o.out_dir + "/journal.mpj";
  struct stat st {};
  if (stat(journal_path.c_str(), &st) != 0 || st.st_size == 0) {
    // It stopped before its journal began: nothing was done.
    return execute(o, nova, progress, stop, nullptr);
  }
  Resume resume;
  analysis::JournalContents contents;
  if (base::Status cut = analysis::cut_torn_tail(journal_path, &contents, &resume.cut); !cut) {
    progress.problem("cannot resume: " + cut.error().message);
    return kRunCouldNotStart;
  }
  resume.so_far = read_run_so_far(contents);
  if (resume.so_far.state == "finished") {
    progress.line(o.out_dir + ": the run had finished; its report again");
    const base::Status reported =
        write_reports(journal_path, o.out_dir, o.quiet ? nullptr : stdout);
    if (!reported) {
      progress.problem("report: " + reported.error().message);
      return kRunOutputLost;
    }
    return resume.so_far.failed > 0 ? kRunSomeFailed : kRunAllCompleted;
  }
  return execute(o, nova, progress, stop, &resume);
}

}  // namespace migprobe::orchestrator
