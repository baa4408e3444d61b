#include "orchestrator/evacuation_legs.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "orchestrator/probe_link.h"
#include "orchestrator/vm_sampler.h"

namespace migprobe::orchestrator {

std::vector<Leg> plan_legs(const EvacuationOptions& o) {
  std::vector<Leg> legs;
  for (uint32_t iteration = 1; iteration <= o.iterations; ++iteration) {
    for (int back = 0; back < 2; ++back) {
      Leg leg;
      leg.iteration = iteration;
      leg.from = back == 0 ? o.source_host : o.dest_host;
      leg.to = back == 0 ? o.dest_host : o.source_host;
      leg.label = "iteration " + std::to_string(iteration) + "/" + std::to_string(o.iterations) +
                  " " + leg.from + " -> " + leg.to;
      legs.push_back(std::move(leg));
    }
  }
  return legs;
}

void pause_for(std::chrono::milliseconds d, const StopRequest& stop) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop.stop_new() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

LegRunner::LegRunner(const EvacuationOptions& options, MigrationDriver& driver,
                     control::RunJournal& journal, RunProgress& progress, ProbeLink* probe,
                     VmSampler* sampler)
    : options_(options),
      driver_(driver),
      journal_(journal),
      progress_(progress),
      probe_(probe),
      sampler_(sampler) {}

LegResult LegRunner::run(const Leg& leg, std::vector<Vm>& vms, const StopRequest& stop,
                         const std::function<bool(const Vm&)>& done, bool resumed) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < vms.size(); ++i) {
    if (done && done(vms[i])) {
      progress_.line(leg.label + " · " + vms[i].name + ": done before the run was resumed");
    } else if (vms[i].host == leg.from) {
      todo.push_back(i);
    } else {
      progress_.line(leg.label + " · " + vms[i].name + ": skipped, it is on " + vms[i].host);
    }
  }
  v1::EvacuationEvent evac;
  evac.set_campaign(options_.campaign);
  evac.set_iteration(leg.iteration);
  evac.set_source_host(leg.from);
  evac.set_dest_host(leg.to);
  evac.set_started_ns(base::realtime_ns());
  evac.set_migrations(static_cast<uint32_t>(todo.size()));
  evac.set_resumed(resumed);
  {
    v1::JournalRecord r;
    *r.mutable_evacuation() = evac;
    journal_.append(r);
  }
  progress_.line(leg.label + ": " + std::to_string(todo.size()) + " VMs");
  const bool sampling = sampler_ != nullptr && sampler_->enabled() && !todo.empty();
  if (sampling) {
    for (size_t i : todo) sampler_->watch(vms[i].id, vms[i].name);
    // Two samples of each VM one period apart: its rates before the leg's first migration.
    sampler_->sample_round();
    pause_for(options_.vm_metrics_period, stop);
    sampler_->sample_round();
  }

  std::mutex vms_mutex;
  std::atomic<size_t> next{0};
  std::atomic<uint32_t> completed{0};
  std::atomic<uint32_t> failed{0};
  std::atomic<bool> probe_lost{false};
  auto worker = [&] {
    for (;;) {
      if (stop.stop_new() || probe_lost.load()) return;
      const size_t k = next.fetch_add(1);
      if (k >= todo.size()) return;
      if (probe_ != nullptr && !probe_->healthy()) {
        progress_.line("waiting for the dataplane before the next migration");
        if (!probe_->wait_healthy(options_.dataplane_grace, [&] { return stop.stop_new(); })) {
          if (!stop.stop_new()) probe_lost = true;
          return;
        }
      }
      Vm vm;
      {
        std::lock_guard<std::mutex> lock(vms_mutex);
        vm = vms[todo[k]];
      }
      MigrationJob job{vm.id, vm.name, vm.ip, vm.mac, leg.from, leg.to, leg.iteration, leg.label};
      const v1::MigrationEvent result = driver_.run(job, stop);
      if (result.outcome() == v1::MIGRATION_OUTCOME_COMPLETED) {
        ++completed;
        std::lock_guard<std::mutex> lock(vms_mutex);
        vms[todo[k]].host = leg.to;
      } else {
        ++failed;
      }
      pause_for(options_.settle, stop);
      if (sampling) sampler_->unwatch(vm.id);
    }
  };
  std::vector<std::thread> workers;
  const size_t n = std::min<size_t>(options_.parallel, std::max<size_t>(todo.size(), 1));
  for (size_t w = 0; w < n; ++w) workers.emplace_back(worker);
  for (auto& w : workers) w.join();
  if (sampling) {
    // VMs a stop left unmoved.
    for (size_t i : todo) sampler_->unwatch(vms[i].id);
  }

  LegResult result;
  result.completed = completed.load();
  result.failed = failed.load();
  result.probe_lost = probe_lost.load();
  evac.set_finished_ns(base::realtime_ns());
  evac.set_completed(result.completed);
  evac.set_failed(result.failed);
  evac.set_interrupted(stop.stop_new() || result.probe_lost ||
                       result.completed + result.failed < todo.size());
  {
    v1::JournalRecord r;
    *r.mutable_evacuation() = evac;
    journal_.append(r);
    journal_.flush();
  }
  progress_.line(leg.label + ": done in " +
                 std::to_string((evac.finished_ns() - evac.started_ns()) / 1'000'000) + " ms, " +
                 std::to_string(result.completed) + " completed, " + std::to_string(result.failed) +
                 " failed");
  return result;
}

}  // namespace migprobe::orchestrator
