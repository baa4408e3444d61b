#include "analysis/vm_metrics.h"

#include <algorithm>
#include <cstdio>

#include "base/text.h"

namespace migprobe::analysis {
namespace {

// Counter deltas and time summed over the sample pairs of one phase.
struct Sums {
  uint32_t pairs = 0;
  uint64_t ns = 0;
  uint64_t cpu_ns = 0;
  uint64_t rx = 0;
  uint64_t tx = 0;
  uint64_t read = 0;
  uint64_t write = 0;
  uint64_t drops = 0;
};

// b follows a in the same guest process: no counter and not the uptime went down.
bool same_process(const v1::VmSample& a, const v1::VmSample& b) {
  return b.sampled_ns() > a.sampled_ns() && b.uptime_s() >= a.uptime_s() &&
         b.cpu_time_ns() >= a.cpu_time_ns() && b.nic_rx_bytes() >= a.nic_rx_bytes() &&
         b.nic_tx_bytes() >= a.nic_tx_bytes() && b.disk_read_bytes() >= a.disk_read_bytes() &&
         b.disk_write_bytes() >= a.disk_write_bytes() &&
         b.nic_rx_drop() + b.nic_tx_drop() >= a.nic_rx_drop() + a.nic_tx_drop();
}

void add_pair(const v1::VmSample& a, const v1::VmSample& b, Sums* s) {
  ++s->pairs;
  s->ns += b.sampled_ns() - a.sampled_ns();
  s->cpu_ns += b.cpu_time_ns() - a.cpu_time_ns();
  s->rx += b.nic_rx_bytes() - a.nic_rx_bytes();
  s->tx += b.nic_tx_bytes() - a.nic_tx_bytes();
  s->read += b.disk_read_bytes() - a.disk_read_bytes();
  s->write += b.disk_write_bytes() - a.disk_write_bytes();
  s->drops += (b.nic_rx_drop() + b.nic_tx_drop()) - (a.nic_rx_drop() + a.nic_tx_drop());
}

v1::VmRates rates(const Sums& s) {
  v1::VmRates r;
  if (s.pairs == 0 || s.ns == 0) return r;
  const double seconds = static_cast<double>(s.ns) / 1e9;
  r.set_samples(s.pairs);
  r.set_covered_ns(s.ns);
  r.set_cpu_percent(100.0 * static_cast<double>(s.cpu_ns) / static_cast<double>(s.ns));
  r.set_nic_rx_mbit_s(static_cast<double>(s.rx) * 8 / 1e6 / seconds);
  r.set_nic_tx_mbit_s(static_cast<double>(s.tx) * 8 / 1e6 / seconds);
  r.set_disk_read_mb_s(static_cast<double>(s.read) / 1e6 / seconds);
  r.set_disk_write_mb_s(static_cast<double>(s.write) / 1e6 / seconds);
  r.set_nic_drop_per_s(static_cast<double>(s.drops) / seconds);
  return r;
}

// What was processed over running to the last progress, in MB/s; 0 when unknown.
double transfer_rate(uint64_t processed, const v1::MigrationEvent& m) {
  if (processed == 0 || m.running_ns() == 0 || m.progress_ns() <= m.running_ns()) return 0;
  return static_cast<double>(processed) / 1e6 /
         (static_cast<double>(m.progress_ns() - m.running_ns()) / 1e9);
}

// Sum of a phase's rates over the metrics that measured it, then divided by their number.
struct RateMean {
  uint32_t n = 0;
  v1::VmRates sum;
  void add(const v1::VmRates& r) {
    if (r.samples() == 0) return;
    ++n;
    sum.set_samples(sum.samples() + r.samples());
    sum.set_covered_ns(sum.covered_ns() + r.covered_ns());
    sum.set_cpu_percent(sum.cpu_percent() + r.cpu_percent());
    sum.set_nic_rx_mbit_s(sum.nic_rx_mbit_s() + r.nic_rx_mbit_s());
    sum.set_nic_tx_mbit_s(sum.nic_tx_mbit_s() + r.nic_tx_mbit_s());
    sum.set_disk_read_mb_s(sum.disk_read_mb_s() + r.disk_read_mb_s());
    sum.set_disk_write_mb_s(sum.disk_write_mb_s() + r.disk_write_mb_s());
    sum.set_nic_drop_per_s(sum.nic_drop_per_s() + r.nic_drop_per_s());
  }
  v1::VmRates mean() const {
    v1::VmRates r = sum;
    if (n == 0) return r;
    const double k = n;
    r.set_cpu_percent(sum.cpu_percent() / k);
    r.set_nic_rx_mbit_s(sum.nic_rx_mbit_s() / k);
    r.set_nic_tx_mbit_s(sum.nic_tx_mbit_s() / k);
    r.set_disk_read_mb_s(sum.disk_read_mb_s() / k);
    r.set_disk_write_mb_s(sum.disk_write_mb_s() / k);
    r.set_nic_drop_per_s(sum.nic_drop_per_s() / k);
    return r;
  }
};

}  // namespace

VmSamples index_vm_samples(const JournalContents& journal) {
  VmSamples out;
  for (const auto& r : journal.records) {
    if (r.has_vm_sample()) out[r.vm_sample().instance_id()].push_back(&r.vm_sample());
  }
  for (auto& [id, list] : out) {
    std::stable_sort(list.begin(), list.end(), [](const v1::VmSample* a, const v1::VmSample* b) {
      return a->sampled_ns() < b->sampled_ns();
    });
  }
  return out;
}

bool vm_metrics(const std::vector<const v1::VmSample*>& samples, const v1::MigrationEvent& m,
                uint64_t settle_ns, v1::VmMetrics* out) {
  const uint64_t requested = m.requested_ns();
  uint64_t end = m.completed_ns() != 0 ? m.completed_ns() : m.failed_ns();
  if (requested == 0) return false;
  if (end == 0) end = UINT64_MAX;  // stopped in flight: "during" to the last sample
  const uint64_t from = requested > kVmBeforeLookbackNs ? requested - kVmBeforeLookbackNs : 0;
  const uint64_t to = end == UINT64_MAX ? end : end + settle_ns;
  Sums before;
  Sums during;
  Sums after;
  // The first sample that can start a pair in the window.
  auto it = std::lower_bound(samples.begin(), samples.end(), from,
                             [](const v1::VmSample* s, uint64_t t) { return s->sampled_ns() < t; });
  if (it != samples.begin()) --it;
  uint64_t memory_max = 0;
  for (; it != samples.end() && std::next(it) != samples.end(); ++it) {
    const v1::VmSample& a = **it;
    const v1::VmSample& b = **std::next(it);
    if (a.sampled_ns() > to) break;
    if (!same_process(a, b)) continue;
    const uint64_t mid = a.sampled_ns() + (b.sampled_ns() - a.sampled_ns()) / 2;
    if (mid < from || mid > to) continue;
    if (b.memory_max_mib() != 0) memory_max = b.memory_max_mib();
    add_pair(a, b, mid < requested ? &before : (mid < end ? &during : &after));
  }
  const double memory = transfer_rate(m.memory_processed_bytes(), m);
  const double disk = transfer_rate(m.disk_processed_bytes(), m);
  if (before.pairs + during.pairs + after.pairs == 0 && memory == 0 && disk == 0) return false;
  v1::VmMetrics v;
  *v.mutable_before() = rates(before);
  *v.mutable_during() = rates(during);
  *v.mutable_after() = rates(after);
  v.set_memory_transfer_mb_s(memory);
  v.set_disk_transfer_mb_s(disk);
  v.set_memory_max_mib(memory_max);
  *out = std::move(v);
  return true;
}

v1::VmMetrics mean_vm_metrics(const std::vector<const v1::VmMetrics*>& metrics) {
  RateMean before;
  RateMean during;
  RateMean after;
  double memory = 0;
  double disk = 0;
  uint32_t memory_n = 0;
  uint32_t disk_n = 0;
  uint64_t memory_max = 0;
  for (const v1::VmMetrics* m : metrics) {
    before.add(m->before());
    during.add(m->during());
    after.add(m->after());
    if (m->memory_transfer_mb_s() > 0) {
      memory += m->memory_transfer_mb_s();
      ++memory_n;
    }
    if (m->disk_transfer_mb_s() > 0) {
      disk += m->disk_transfer_mb_s();
      ++disk_n;
    }
    memory_max = std::max(memory_max, m->memory_max_mib());
  }
  v1::VmMetrics out;
  *out.mutable_before() = before.mean();
  *out.mutable_during() = during.mean();
  *out.mutable_after() = after.mean();
  if (memory_n > 0) out.set_memory_transfer_mb_s(memory / memory_n);
  if (disk_n > 0) out.set_disk_transfer_mb_s(disk / disk_n);
  out.set_memory_max_mib(memory_max);
  out.set_migrations(static_cast<uint32_t>(metrics.size()));
  return out;
}

void add_vm_metrics(const JournalContents& journal, uint64_t settle_ns, v1::Report* report) {
  const VmSamples samples = index_vm_samples(journal);
  static const std::vector<const v1::VmSample*> kNone;
  for (v1::TargetReport& t : *report->mutable_targets()) {
    for (v1::MigrationReport& mr : *t.mutable_migrations()) {
      auto it = samples.find(mr.migration().instance_id());
      const auto& list = it == samples.end() ? kNone : it->second;
      v1::VmMetrics v;
      if (vm_metrics(list, mr.migration(), settle_ns, &v)) *mr.mutable_vm() = std::move(v);
    }
  }
}

std::string vm_rates_text(const v1::VmRates& r) {
  if (r.samples() == 0) return "";
  std::string text = "CPU " + base::fixed_text(r.cpu_percent(), 0) + "% · NIC " +
                     base::fixed_text(r.nic_rx_mbit_s(), 2) + " Mb/s in, " +
                     base::fixed_text(r.nic_tx_mbit_s(), 2) + " Mb/s out";
  if (r.disk_read_mb_s() > 0 || r.disk_write_mb_s() > 0) {
    text += " · disk " + base::fixed_text(r.disk_read_mb_s(), 1) + " MB/s read, " +
            base::fixed_text(r.disk_write_mb_s(), 1) + " MB/s written";
  }
  if (r.nic_drop_per_s() > 0) text += " · " + base::fixed_text(r.nic_drop_per_s(), 1) + " drops/s";
  return text;
}

std::string vm_metrics_text(const v1::VmMetrics& vm, const std::string& indent) {
  const std::pair<const char*, const v1::VmRates*> phases[] = {
      {"before", &vm.before()}, {"during", &vm.during()}, {"after", &vm.after()}};
  std::string out;
  for (const auto& [name, rates] : phases) {
    std::string text = vm_rates_text(*rates);
    if (rates == &vm.during()) {
      if (vm.memory_transfer_mb_s() > 0) {
        text += (text.empty() ? "" : " · ") + std::string("memory transferred at ") +
                base::fixed_text(vm.memory_transfer_mb_s(), 1) + " MB/s";
      }
      if (vm.disk_transfer_mb_s() > 0) {
        text += (text.empty() ? "" : " · ") + std::string("disk transferred at ") +
                base::fixed_text(vm.disk_transfer_mb_s(), 1) + " MB/s";
      }
    }
    if (text.empty()) text = "not sampled";
    out += indent + "vm " + name + (std::string(name).size() < 6 ? " " : "") + " " + text + "\n";
  }
  return out;
}

}  // namespace migprobe::analysis
