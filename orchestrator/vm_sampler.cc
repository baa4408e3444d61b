#include "orchestrator/vm_sampler.h"

#include <utility>
#include <vector>

namespace migprobe::orchestrator {

namespace {

// Policy (403), a driver without diagnostics (501) or a Nova older than 2.48: asking again
// will not help.
bool refusal(const control::Error& e) {
  return e.http_status == 403 || e.http_status == 501 || e.kind == control::ErrorKind::kUnsupported;
}

v1::VmSample to_sample(const control::ServerDiagnostics& d) {
  v1::VmSample s;
  uint64_t cpu = 0;
  for (const auto& c : d.cpu_details) cpu += c.time;
  s.set_cpu_time_ns(cpu);
  s.set_num_cpus(static_cast<uint32_t>(d.num_cpus));
  s.set_memory_max_mib(d.memory_maximum);
  s.set_memory_used_mib(d.memory_used);
  for (const auto& n : d.nic_details) {
    s.set_nic_rx_bytes(s.nic_rx_bytes() + n.rx_octets);
    s.set_nic_tx_bytes(s.nic_tx_bytes() + n.tx_octets);
    s.set_nic_rx_packets(s.nic_rx_packets() + n.rx_packets);
    s.set_nic_tx_packets(s.nic_tx_packets() + n.tx_packets);
    s.set_nic_rx_drop(s.nic_rx_drop() + n.rx_drop);
    s.set_nic_tx_drop(s.nic_tx_drop() + n.tx_drop);
  }
  for (const auto& k : d.disk_details) {
    s.set_disk_read_bytes(s.disk_read_bytes() + k.read_bytes);
    s.set_disk_write_bytes(s.disk_write_bytes() + k.write_bytes);
    s.set_disk_read_requests(s.disk_read_requests() + k.read_requests);
    s.set_disk_write_requests(s.disk_write_requests() + k.write_requests);
  }
  s.set_uptime_s(d.uptime);
  return s;
}

}  // namespace

VmSampler::VmSampler(control::MigrationApi& nova, control::RunJournal& journal,
                     const EvacuationOptions& options, RunProgress& progress, DriverClock& clock)
    : nova_(nova), journal_(journal), options_(options), progress_(progress), clock_(clock) {}

VmSampler::~VmSampler() {
  stop();
}

bool VmSampler::enabled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return options_.vm_metrics_period.count() > 0 && !refused_;
}

void VmSampler::start() {
  if (!enabled() || thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { loop(); });
}

void VmSampler::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void VmSampler::watch(const std::string& server_id, const std::string& server_name) {
  std::lock_guard<std::mutex> lock(mutex_);
  watched_[server_id] = server_name;
}

void VmSampler::unwatch(const std::string& server_id) {
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = watched_.find(server_id);
    if (it == watched_.end()) return;
    name = it->second;
    watched_.erase(it);
  }
  if (!enabled()) return;
  std::lock_guard<std::mutex> round(round_mutex_);
  sample(server_id, name);
}

void VmSampler::sample_round() {
  if (!enabled()) return;
  std::vector<std::pair<std::string, std::string>> vms;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    vms.assign(watched_.begin(), watched_.end());
  }
  std::lock_guard<std::mutex> round(round_mutex_);
  for (const auto& [id, name] : vms) {
    if (!sample(id, name)) return;
  }
}

void VmSampler::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_ && !refused_) {
    lock.unlock();
    sample_round();
    lock.lock();
    wake_.wait_for(lock, options_.vm_metrics_period, [this] { return stopping_; });
  }
}

bool VmSampler::sample(const std::string& server_id, const std::string& server_name) {
  auto d = nova_.diagnostics(server_id);
  if (!d.ok()) {
    const control::Error& e = d.error();
    if (refusal(e)) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (refused_) return false;
        refused_ = true;
      }
      const std::string text = "VM metrics: the cloud refuses server diagnostics (" +
                               e.to_string() + "); the run goes on without VM metrics";
      journal_.append_error("nova", text);
      progress_.line(text);
      return false;
    }
    // 409: the guest is not running just now (around the switchover Nova's compute host
    // may have no running domain of it): that sample is lost, nothing is wrong.
    if (e.http_status == 409) return true;
    // The request id differs on every call: one line per status and message.
    const std::string key = std::to_string(e.http_status) + " " + e.message;
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      first = told_.insert(key).second;
    }
    if (first) {
      const std::string text = "VM metrics of " + server_name + ": a diagnostics sample failed (" +
                               e.to_string() + "); samples failing so are left out";
      journal_.append_error("nova", text);
      progress_.line(text);
    }
    return true;
  }
  v1::JournalRecord r;
  v1::VmSample& s = *r.mutable_vm_sample();
  s = to_sample(d->value);
  s.set_instance_id(server_id);
  s.set_instance_name(server_name);
  s.set_sampled_ns(clock_.realtime_ns());
  s.set_campaign(options_.campaign);
  s.set_cell(options_.cell);
  journal_.append(r);
  return true;
}

}  // namespace migprobe::orchestrator
