#include "bench/synthetic_journal.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "analysis/journal.h"

namespace an = migprobe::analysis;
namespace v1 = migprobe::v1;

namespace migprobe::bench {
namespace {

constexpr uint64_t kStart = 1'800'000'000'000'000'000ULL;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kInterval = kMs;

std::string mac_of(uint32_t vm) {
  char text[32];
  std::snprintf(text, sizeof text, "52:54:00:%02x:%02x:%02x", (vm >> 16) & 0xff, (vm >> 8) & 0xff,
                vm & 0xff);
  return text;
}

}  // namespace

uint32_t write_synthetic_run(const std::string& path, uint32_t vms, uint32_t iterations,
                             const SyntheticCell& cell) {
  unlink(path.c_str());
  an::JournalWriter w;
  v1::JournalHeader h;
  h.set_campaign(cell.campaign);
  if (const migprobe::base::Status opened = w.open(path, h); !opened) {
    std::fprintf(stderr, "bench: %s\n", opened.error().message.c_str());
    std::exit(1);
  }
  for (uint32_t vm = 0; vm < vms; ++vm) {
    v1::JournalRecord r;
    v1::Target* t = r.mutable_target();
    t->set_name("vm" + std::to_string(vm));
    t->set_ip("10." + std::to_string(vm >> 16) + "." + std::to_string((vm >> 8) & 0xff) + "." +
              std::to_string(vm & 0xff));
    t->set_mac(mac_of(vm));
    for (uint32_t k = 0; k < 2; ++k) {
      v1::FlowSpec* f = t->add_flows();
      f->set_flow_id(vm * 2 + k);
      f->set_kind(k == 0 ? v1::FLOW_KIND_ICMP_ECHO : v1::FLOW_KIND_UDP_REFLECT);
      f->set_interval_ns(kInterval);
      f->set_reply_timeout_ns(200 * kMs);
    }
    w.append(r);
  }
  // Migrations one after another, 2 s apart: requested, running, completed; the gap of
  // each flow and the RARP in the middle, the VM's diagnostics every 250 ms.
  uint64_t now = kStart;
  uint32_t migrations = 0;
  for (uint32_t it = 1; it <= iterations; ++it) {
    for (uint32_t leg = 0; leg < 2; ++leg) {
      for (uint32_t vm = 0; vm < vms; ++vm, now += 2000 * kMs) {
        ++migrations;
        v1::JournalRecord r;
        v1::MigrationEvent* m = r.mutable_migration();
        m->set_campaign(cell.campaign);
        m->set_cell(cell.name);
        for (const auto& [k, v] : cell.labels) (*m->mutable_labels())[k] = v;
        m->set_iteration(it);
        m->set_instance_id("id-" + std::to_string(vm));
        m->set_instance_name("vm" + std::to_string(vm));
        m->set_source_host(leg == 0 ? "hostA" : "hostB");
        m->set_dest_host(leg == 0 ? "hostB" : "hostA");
        m->set_requested_ns(now);
        m->set_phase(v1::MIGRATION_PHASE_REQUESTED);
        w.append(r);
        m->set_running_ns(now + 100 * kMs);
        m->set_phase(v1::MIGRATION_PHASE_RUNNING);
        w.append(r);
        const uint64_t pause = now + 900 * kMs;
        v1::JournalRecord a;
        a.mutable_announce()->set_seen_ns(pause + 40 * kMs);
        a.mutable_announce()->set_kind(v1::ANNOUNCE_KIND_RARP);
        a.mutable_announce()->set_mac(mac_of(vm));
        w.append(a);
        for (uint32_t k = 0; k < 2; ++k) {
          v1::JournalRecord g;
          v1::GapEvent* e = g.mutable_gap();
          e->set_flow_id(vm * 2 + k);
          e->set_flow_kind(k == 0 ? v1::FLOW_KIND_ICMP_ECHO : v1::FLOW_KIND_UDP_REFLECT);
          e->set_target("vm" + std::to_string(vm));
          e->set_seq_before(static_cast<uint32_t>(it * 1000 + leg));
          e->set_seq_after(static_cast<uint32_t>(it * 1000 + leg + 51));
          e->set_lost(50);
          e->set_tx_before_ns(pause);
          e->set_tx_after_ns(pause + 51 * kInterval);
          e->set_estimate_ns(50 * kInterval);
          e->set_lower_bound_ns(49 * kInterval);
          e->set_upper_bound_ns(51 * kInterval);
          e->set_interval_ns(kInterval);
          e->set_outage(true);
          w.append(g);
        }
        // The VM's diagnostics every 250 ms over its 2 s (VM metrics).
        for (uint64_t k = 0; k < 8; ++k) {
          v1::JournalRecord s;
          v1::VmSample* v = s.mutable_vm_sample();
          v->set_instance_id("id-" + std::to_string(vm));
          v->set_instance_name("vm" + std::to_string(vm));
          v->set_sampled_ns(now + k * 250 * kMs);
          v->set_cpu_time_ns(static_cast<uint64_t>(migrations) * 1'000'000'000ULL + k * 50 * kMs);
          v->set_nic_rx_bytes(k * 31'250);
          v->set_nic_tx_bytes(k * 31'250);
          v->set_uptime_s(1000 + migrations);
          v->set_campaign(cell.campaign);
          v->set_cell(cell.name);
          w.append(s);
        }
        m->set_memory_processed_bytes(128ULL << 20);
        m->set_progress_ns(now + 1400 * kMs);
        m->set_completed_ns(now + 1500 * kMs);
        m->set_outcome(v1::MIGRATION_OUTCOME_COMPLETED);
        m->set_phase(v1::MIGRATION_PHASE_COMPLETED);
        w.append(r);
      }
    }
  }
  w.close();
  return migrations;
}

}  // namespace migprobe::bench
