// The migrations scenario: three VMs probed by ICMP and UDP every 1 ms, two live
// migrations each (outage and RARP inside [requested, completed]), one outage outside
// every migration, and the journal that tells the analyzer about the migrations.

#include <filesystem>

#include "analysis/journal.h"
#include "migprobe/v1/journal.pb.h"
#include "pcaps/gen/scenario.h"

namespace migprobe::pcapgen {
namespace {

// One migration of the scenario; times in ms after kBaseNs.
struct MigrationPlan {
  int vm;
  uint32_t iteration;
  double requested_ms;
  double outage_start_ms;
  double outage_ms;
  double rarp_ms;
  double completed_ms;
};

constexpr MigrationPlan kPlans[] = {
    {1, 1, 20, 40.2, 8.4, 44.0, 70},      {2, 1, 30, 55.3, 5.7, 58.1, 80},
    {3, 1, 40, 70.7, 13.5, 80.0, 95},     {1, 2, 110, 125.1, 6.3, 129.0, 150},
    {2, 2, 120, 140.6, 10.3, 147.3, 165}, {3, 2, 130, 160.35, 6.4, 164.0, 185},
};
// vm-3 loses the network for 3.1 ms before anyone asked to migrate it.
constexpr int kStrayVm = 3;
constexpr double kStrayStartMs = 12.4;
constexpr double kStrayMs = 3.1;

uint64_t at_ms(double ms) {
  // Plans are written in whole microseconds; rounding keeps them exact.
  return kBaseNs + static_cast<uint64_t>(ms * 1000.0 + 0.5) * kUs;
}

const char* host(uint32_t iteration, bool dest) {
  // Back and forth: iteration 1 goes a -> b, iteration 2 comes back.
  return (iteration % 2 == 1) == dest ? "compute-b" : "compute-a";
}

std::string write_journal(const std::string& path, const std::vector<ProbeFlow>& flows) {
  // The writer appends: start from an empty file so that regenerating gives the same bytes.
  std::error_code ec;
  std::filesystem::remove(path, ec);
  v1::JournalHeader h;
  h.set_format_version(analysis::kJournalFormatVersion);
  h.set_writer("migprobe-pcapgen");
  h.set_created_ns(kBaseNs);
  h.set_campaign("pcaps-migrations");
  h.set_run_generation(1);
  analysis::JournalWriter journal;
  if (const base::Status opened = journal.open(path, h); !opened) return opened.error().message;
  auto put = [&](const v1::JournalRecord& r) { return journal.append(r); };
  v1::JournalRecord rec;
  bool ok = true;
  for (int vm = 1; vm <= 3; ++vm) {
    rec.Clear();
    v1::Target* t = rec.mutable_target();
    t->set_name("vm-" + std::to_string(vm));
    t->set_instance_id("00000000-0000-4000-8000-00000000000" + std::to_string(vm));
    const Endpoint e = target_endpoint_v4(10 + vm);
    t->set_ip(e.ip.to_string());
    t->set_mac(analysis::mac_to_string(e.mac));
    for (const ProbeFlow& pf : flows) {
      if (pf.spec().target.ip != e.ip) continue;
      v1::FlowSpec* fs = t->add_flows();
      fs->set_flow_id(pf.spec().flow_id);
      const bool udp = pf.spec().kind == ProbeKind::kUdpReflect;
      fs->set_kind(udp ? v1::FLOW_KIND_UDP_REFLECT : v1::FLOW_KIND_ICMP_ECHO);
      fs->set_interval_ns(pf.spec().interval_ns);
      if (udp) fs->set_port(kReflectorPort);
      fs->set_reply_timeout_ns(1'000 * kMs);
    }
    ok = ok && put(rec);
  }
  for (const MigrationPlan& p : kPlans) {
    rec.Clear();
    v1::MigrationEvent* m = rec.mutable_migration();
    const Endpoint e = target_endpoint_v4(10 + p.vm);
    const std::string n = std::to_string(p.vm) + std::to_string(p.iteration);
    m->set_campaign("pcaps-migrations");
    m->set_iteration(p.iteration);
    m->set_instance_id("00000000-0000-4000-8000-00000000000" + std::to_string(p.vm));
    m->set_instance_name("vm-" + std::to_string(p.vm));
    m->set_ip(e.ip.to_string());
    m->set_mac(analysis::mac_to_string(e.mac));
    m->set_source_host(host(p.iteration, false));
    m->set_dest_host(host(p.iteration, true));
    m->set_nova_migration_id(std::to_string(100 + p.vm * 10 + p.iteration));
    m->set_request_id("req-00000000-0000-4000-8000-0000000000" + n);
    m->set_requested_ns(at_ms(p.requested_ms));
    m->set_accepted_ns(at_ms(p.requested_ms + 0.4));
    m->set_running_ns(at_ms(p.requested_ms + 2.0));
    m->set_switchover_ns(at_ms(p.rarp_ms));
    m->set_completed_ns(at_ms(p.completed_ms));
    m->set_outcome(v1::MIGRATION_OUTCOME_COMPLETED);
    ok = ok && put(rec);
  }
  if (!journal.close() || !ok) return "cannot write " + path;
  return {};
}

}  // namespace

std::string write_migrations(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "migrations",
                      "vm-1..vm-3 (10.77.0.11..13), each probed by ICMP and UDP every 1 ms; "
                      "two live migrations per VM with an outage and a RARP announce inside "
                      "[requested, completed]; one 3.1 ms outage of vm-3 before any "
                      "migration (unattributed). The journal is migrations.journal.");
  if (auto err = files.open(analysis::CaptureFormat::kPcapng); !err.empty()) return err;
  std::vector<ProbeFlow> flows;
  for (int vm = 1; vm <= 3; ++vm) {
    for (int k = 0; k < 2; ++k) {
      FlowSpec f;
      f.flow_id = static_cast<uint32_t>(2 * vm - 1 + k);
      f.kind = k == 0 ? ProbeKind::kIcmpEcho : ProbeKind::kUdpReflect;
      f.probe = probe_endpoint_v4();
      f.target = target_endpoint_v4(10 + vm);
      f.interval_ns = kMs;
      // Spread the six flows over the millisecond, as the dataplane's pacing does.
      f.first_tx_ns = kBaseNs + kMs + f.flow_id * 150 * kUs;
      f.count = 200;
      for (const MigrationPlan& p : kPlans) {
        if (p.vm != vm) continue;
        f.outages.push_back(Outage{at_ms(p.outage_start_ms), at_ms(p.outage_start_ms + p.outage_ms),
                                   Direction::kBoth});
      }
      if (vm == kStrayVm) {
        f.outages.push_back(
            Outage{at_ms(kStrayStartMs), at_ms(kStrayStartMs + kStrayMs), Direction::kBoth});
      }
      flows.emplace_back(f, 20 + f.flow_id);
    }
  }
  for (const MigrationPlan& p : kPlans) files.rarp(at_ms(p.rarp_ms), target_endpoint_v4(10 + p.vm));
  files.truth().notes.push_back(
      "Migrations (journal): every outage of a VM but the 3.1 ms one of vm-3 at 12.4 ms lies "
      "inside [requested, completed] of one migration of that VM.");
  if (auto err = files.run(&flows); !err.empty()) return err;
  for (TruthGap& g : files.truth().gaps) {
    const int vm = static_cast<int>(g.flow_id + 1) / 2;
    g.migration = "-";
    for (const MigrationPlan& p : kPlans) {
      if (p.vm == vm && g.start_ns >= at_ms(p.requested_ms) && g.end_ns <= at_ms(p.completed_ms)) {
        g.migration = "vm-" + std::to_string(vm) + "#" + std::to_string(p.iteration);
      }
    }
  }
  if (auto err = files.write_truth_file(); !err.empty()) return err;
  return write_journal(files.path(".journal"), flows);
}

}  // namespace migprobe::pcapgen
