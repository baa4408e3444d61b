#include "orchestrator/probe_link.h"

#include <algorithm>
#include <thread>
#include <tuple>

#include "base/clock.h"

namespace migprobe::orchestrator {
namespace {

using base::realtime_ns;

// How often the watchdog asks the dataplane for its stats, and how long it may take.
constexpr auto kWatchPeriod = std::chrono::milliseconds(1000);
constexpr auto kRetryPeriod = std::chrono::milliseconds(250);

}  // namespace

ProbeLink::ProbeLink(control::DataplaneOptions options, control::RunJournal& journal,
                     EventObserver observer, Notice notice)
    : client_(std::move(options)),
      journal_(journal),
      observer_(std::move(observer)),
      notice_(std::move(notice)) {}

ProbeLink::~ProbeLink() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  client_.stop_events();
}

control::Status ProbeLink::start(const std::vector<v1::Target>& targets,
                                 std::chrono::milliseconds reachable_within,
                                 const std::function<bool()>& should_stop) {
  const auto until = std::chrono::steady_clock::now() + reachable_within;
  auto stats = client_.stats(false);
  bool told = false;
  while (!stats.ok() && stats.error().kind == control::ErrorKind::kTransport &&
         std::chrono::steady_clock::now() < until && !(should_stop && should_stop())) {
    if (!told && notice_) {
      notice_("dataplane not reachable yet (" + stats.error().message +
              "); asking again for up to " + std::to_string(reachable_within.count() / 1000) +
              " s");
    }
    told = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    stats = client_.stats(false);
  }
  if (!stats.ok()) return stats.error();
  auto opened = client_.start_events([this](const v1::Event& e) { on_event(e); },
                                     [this](const control::Error& e) { on_stream_end(e); });
  if (!opened.ok()) return opened.error();
  auto configured = client_.configure(targets, true);
  if (!configured.ok()) return configured.error();
  auto started = client_.start();
  if (!started.ok()) return started.error();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    targets_.assign(configured->targets().begin(), configured->targets().end());
    pid_ = stats->pid();
    process_started_ns_ = stats->process_started_ns();
    healthy_ = true;
  }
  for (const auto& t : configured->targets()) {
    v1::JournalRecord r;
    *r.mutable_target() = t;
    // The dataplane does not keep Nova's id; the journal does (a resume asks Nova by it).
    if (t.instance_id().empty()) {
      for (const auto& asked : targets) {
        if (asked.ip() == t.ip() && asked.name() == t.name()) {
          r.mutable_target()->set_instance_id(asked.instance_id());
          break;
        }
      }
    }
    journal_.append(r);
  }
  journal_probe_settings(*stats, started->generation());
  watchdog_ = std::thread([this] { watchdog(); });
  return control::Done{};
}

bool ProbeLink::healthy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return healthy_;
}

bool ProbeLink::wait_healthy(std::chrono::milliseconds timeout,
                             const std::function<bool()>& should_stop) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!healthy_ && !stopping_ && !should_stop() && std::chrono::steady_clock::now() < until) {
    changed_.wait_for(lock, std::chrono::milliseconds(100));
  }
  return healthy_;
}

void ProbeLink::on_event(const v1::Event& event) {
  v1::JournalRecord r;
  switch (event.event_case()) {
    case v1::Event::kGap:
      *r.mutable_gap() = event.gap();
      journal_.append(r);
      break;
    case v1::Event::kAnnounce:
      *r.mutable_announce() = event.announce();
      journal_.append(r);
      break;
    case v1::Event::kClock:
      journal_calibration(event.clock());
      break;
    case v1::Event::kTcpConnection:
      *r.mutable_tcp_connection() = event.tcp_connection();
      journal_.append(r);
      break;
    case v1::Event::kTcpStream: {
      *r.mutable_tcp_stream() = event.tcp_stream().stream();
      journal_.append(r);
      std::lock_guard<std::mutex> lock(mutex_);
      tcp_final_.insert(event.tcp_stream().flow_id());
      break;
    }
    default:
      break;
  }
  if (observer_) observer_(event);
}

void ProbeLink::on_stream_end(const control::Error& error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
  }
  lost("event stream ended: " + error.message);
}

void ProbeLink::journal_error(const std::string& message) {
  journal_.append_error("dataplane", message);
  journal_.flush();
}

void ProbeLink::lost(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!healthy_ || stopping_) return;
    healthy_ = false;
    lost_since_ns_ = realtime_ns();
  }
  changed_.notify_all();
  const std::string message = "dataplane lost: " + why + "; gaps are not measured until it is back";
  journal_error(message);
  if (notice_) notice_(message);
}

void ProbeLink::remember_flows(const v1::Stats& stats) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stats.pid() != pid_ || stats.process_started_ns() != process_started_ns_) return;
  current_flows_.assign(stats.flows().begin(), stats.flows().end());
}

void ProbeLink::journal_probe_settings(const v1::Stats& stats, uint32_t generation) {
  v1::JournalRecord r;
  v1::ProbeSettings* p = r.mutable_probe();
  p->set_run_generation(generation);
  p->set_outage_threshold_ns(stats.outage_threshold_ns());
  p->set_pid(stats.pid());
  p->set_process_started_ns(stats.process_started_ns());
  journal_.append(r);
  if (stats.has_clock()) journal_calibration(stats.clock());
}

void ProbeLink::journal_calibration(const v1::ClockCalibration& clock) {
  v1::JournalRecord r;
  v1::Calibration* c = r.mutable_calibration();
  c->set_realtime_ns(clock.taken_ns());
  c->set_tsc_hz(clock.tsc_hz());
  c->set_drift_ns(clock.drift_ns());
  c->set_uncertainty_ns(clock.uncertainty_ns());
  c->set_rate_source(clock.rate_source());
  c->set_eal_tsc_hz(clock.eal_tsc_hz());
  c->set_slew_ppm(clock.slew_ppm());
  c->set_realtime_step_total_ns(clock.realtime_step_total_ns());
  c->set_realtime_step_ns(clock.realtime_step_ns());
  c->set_refresh(clock.refresh());
  journal_.append(r);
}

bool ProbeLink::recover(const v1::Stats& stats) {
  std::vector<v1::Target> targets;
  bool restarted = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    targets = targets_;
    restarted = stats.pid() != pid_ || stats.process_started_ns() != process_started_ns_;
  }
  client_.stop_events();
  auto opened = client_.start_events([this](const v1::Event& e) { on_event(e); },
                                     [this](const control::Error& e) { on_stream_end(e); });
  if (!opened.ok()) return false;
  // The generation of the probes from now on: the running one's, or a new start's.
  uint32_t generation = stats.generation();
  if (restarted || !stats.running()) {
    // Flow ids are kept: the dataplane accepts the ids it assigned before.
    auto configured = client_.configure(targets, true);
    if (!configured.ok()) {
      // Retried every kRetryPeriod: said once until the answer changes.
      const std::string message =
          "dataplane back but refused the targets: " + configured.error().message;
      if (message != last_refusal_) {
        last_refusal_ = message;
        journal_error(message);
        if (notice_) notice_(message);
      }
      return false;
    }
    last_refusal_.clear();
    auto started = client_.start();
    if (!started.ok()) return false;
    generation = started->generation();
  }
  uint64_t from = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (restarted) {
      earlier_flows_.insert(earlier_flows_.end(), current_flows_.begin(), current_flows_.end());
      current_flows_.clear();
      tcp_final_.clear();
      pid_ = stats.pid();
      process_started_ns_ = stats.process_started_ns();
    }
    from = lost_since_ns_;
    lost_since_ns_ = 0;
    healthy_ = true;
  }
  changed_.notify_all();
  if (restarted) journal_probe_settings(stats, generation);
  const uint64_t to = realtime_ns();
  v1::JournalRecord r;
  r.mutable_coverage_gap()->set_from_ns(from);
  r.mutable_coverage_gap()->set_to_ns(to);
  r.mutable_coverage_gap()->set_reason(restarted ? "dataplane restarted (pid " +
                                                       std::to_string(stats.pid()) + ")"
                                                 : "dataplane unreachable");
  journal_.append(r);
  const std::string message = std::string("dataplane ") +
                              (restarted ? "restarted" : "reachable again") +
                              "; probing resumed after " + std::to_string((to - from) / 1'000'000) +
                              " ms without measurement";
  journal_error(message);
  if (notice_) notice_(message);
  return true;
}

void ProbeLink::watchdog() {
  for (;;) {
    bool healthy = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait_for(lock, healthy_ ? kWatchPeriod : kRetryPeriod, [this] { return stopping_; });
      if (stopping_) return;
      healthy = healthy_;
    }
    auto stats = client_.stats(true);
    if (!stats.ok()) {
      lost(stats.error().message);
      continue;
    }
    if (healthy) {
      bool same = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        same = stats->pid() == pid_ && stats->process_started_ns() == process_started_ns_;
      }
      if (same) {
        remember_flows(*stats);
      } else {
        // Restarted between two looks, before the stream noticed.
        lost("dataplane restarted (pid " + std::to_string(stats->pid()) + ")");
      }
      continue;
    }
    recover(*stats);
  }
}

void ProbeLink::finish(std::chrono::milliseconds drain) {
  bool was_healthy = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    was_healthy = healthy_;
  }
  if (was_healthy) {
    auto stopped = client_.stop();
    if (!stopped.ok()) journal_error("stopping the probe: " + stopped.error().message);
    // The last gaps settle within the reply timeout after the last probe.
    std::this_thread::sleep_for(drain);
    auto stats = client_.stats(true);
    if (stats.ok()) remember_flows(*stats);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  client_.stop_events();
  std::vector<v1::FlowStats> all;
  uint64_t lost_since = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // TCP flows that ended without their final figures (their dataplane died first, or the
    // event was lost): the last statistics' figures, so what was measured is kept.
    for (size_t i = 0; i < earlier_flows_.size() + current_flows_.size(); ++i) {
      const bool earlier = i < earlier_flows_.size();
      const v1::FlowStats& f =
          earlier ? earlier_flows_[i] : current_flows_[i - earlier_flows_.size()];
      if (!f.has_tcp() || (!earlier && tcp_final_.count(f.flow_id()) != 0)) continue;
      v1::JournalRecord r;
      *r.mutable_tcp_stream() = f.tcp();
      journal_.append(r);
    }
    all = earlier_flows_;
    all.insert(all.end(), current_flows_.begin(), current_flows_.end());
    lost_since = lost_since_ns_;
  }
  if (lost_since != 0) {
    v1::JournalRecord r;
    r.mutable_coverage_gap()->set_from_ns(lost_since);
    r.mutable_coverage_gap()->set_to_ns(realtime_ns());
    r.mutable_coverage_gap()->set_reason("dataplane lost until the end of the run");
    journal_.append(r);
  }
  for (const v1::FlowReport& f : merge_flow_totals(all)) {
    v1::JournalRecord r;
    *r.mutable_flow_totals() = f;
    journal_.append(r);
  }
  journal_.flush();
}

std::vector<v1::FlowReport> merge_flow_totals(const std::vector<v1::FlowStats>& flows) {
  std::map<std::tuple<std::string, int, uint32_t>, v1::FlowReport> merged;
  std::map<std::tuple<std::string, int, uint32_t>, long double> rtt_sum;
  for (const v1::FlowStats& f : flows) {
    const auto key = std::make_tuple(f.target(), static_cast<int>(f.kind()), f.flow_id());
    auto [it, inserted] = merged.try_emplace(key);
    v1::FlowReport& r = it->second;
    if (inserted) {
      r.set_target(f.target());
      r.set_flow_id(f.flow_id());
      r.set_kind(f.kind());
      r.set_interval_ns(f.interval_ns());
      r.set_rtt_min_ns(f.rtt_min_ns());
    }
    r.set_sent(r.sent() + f.sent());
    r.set_answered(r.answered() + f.answered());
    r.set_lost(r.lost() + f.lost());
    r.set_late(r.late() + f.late());
    r.set_duplicates(r.duplicates() + f.duplicates());
    r.set_reordered(r.reordered() + f.reordered());
    if (f.answered() > 0) {
      r.set_rtt_min_ns(r.rtt_min_ns() == 0 ? f.rtt_min_ns()
                                           : std::min(r.rtt_min_ns(), f.rtt_min_ns()));
    }
    r.set_rtt_max_ns(std::max(r.rtt_max_ns(), f.rtt_max_ns()));
    rtt_sum[key] +=
        static_cast<long double>(f.rtt_mean_ns()) * static_cast<long double>(f.answered());
  }
  std::vector<v1::FlowReport> out;
  for (auto& [key, r] : merged) {
    if (r.answered() > 0) {
      r.set_rtt_mean_ns(
          static_cast<uint64_t>(rtt_sum[key] / static_cast<long double>(r.answered())));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace migprobe::orchestrator
