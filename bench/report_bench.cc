// report-bench: how the report of a campaign scales with its length. Writes a synthetic
// journal (T VMs, each migrated there and back per iteration, two probe flows per VM, one
// gap per flow and a RARP per migration, the records a live run writes), then times
// reading it back (the peer: what any consumer of the journal pays) against building the
// report from it and rendering text, JSON and CSV, at two campaign sizes. A report that is
// linear in the journal keeps the same cost per migration at both sizes.
//
// usage: report-bench [DIR] [VMS] [SMALL_ITERATIONS] [LARGE_ITERATIONS]

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "analysis/journal.h"
#include "analysis/journal_report.h"
#include "analysis/report_writers.h"

namespace an = migprobe::analysis;
namespace v1 = migprobe::v1;

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

// Writes the journal of a campaign of vms VMs and iterations round trips; returns the
// number of migrations.
uint32_t write_campaign(const std::string& path, uint32_t vms, uint32_t iterations) {
  unlink(path.c_str());
  an::JournalWriter w;
  v1::JournalHeader h;
  h.set_campaign("bench");
  if (const migprobe::base::Status opened = w.open(path, h); !opened) {
    std::fprintf(stderr, "report-bench: %s\n", opened.error().message.c_str());
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
  // each flow and the RARP in the middle.
  uint64_t now = kStart;
  uint32_t migrations = 0;
  for (uint32_t it = 1; it <= iterations; ++it) {
    for (uint32_t leg = 0; leg < 2; ++leg) {
      for (uint32_t vm = 0; vm < vms; ++vm, now += 2000 * kMs) {
        ++migrations;
        v1::JournalRecord r;
        v1::MigrationEvent* m = r.mutable_migration();
        m->set_campaign("bench");
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

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct Figures {
  uint32_t migrations = 0;
  size_t records = 0;
  double read_ms = 1e300;
  double build_ms = 1e300;
  double text_ms = 1e300;
  double json_ms = 1e300;
  double csv_ms = 1e300;
  double report_ms = 1e300;  // the best round's build + renderings
};

// Best of rounds: reading alone, and building plus rendering the report.
Figures measure(const std::string& path, uint32_t migrations, int rounds) {
  Figures f;
  f.migrations = migrations;
  size_t sink = 0;
  for (int i = 0; i < rounds; ++i) {
    an::JournalContents j;
    auto t0 = std::chrono::steady_clock::now();
    if (const migprobe::base::Status read = an::read_journal(path, &j); !read) {
      std::fprintf(stderr, "report-bench: %s\n", read.error().message.c_str());
      std::exit(1);
    }
    f.read_ms = std::min(f.read_ms, ms_since(t0));
    f.records = j.records.size();
    t0 = std::chrono::steady_clock::now();
    const v1::Report report = an::build_report_from_journal(j, an::ReportInputs{});
    const double build = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    sink += an::render_text(report).size();
    const double text = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    sink += an::render_json(report).size();
    const double json = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    sink += an::render_csv(report).size();
    const double csv = ms_since(t0);
    if (build + text + json + csv < f.report_ms) {
      f.report_ms = build + text + json + csv;
      f.build_ms = build;
      f.text_ms = text;
      f.json_ms = json;
      f.csv_ms = csv;
    }
  }
  if (sink == 0) std::fprintf(stderr, "report-bench: empty reports\n");
  return f;
}

void print(const char* what, const Figures& f) {
  std::printf(
      "%-6s %6u migrations, %7zu records: read %8.1f ms, report %8.1f ms (%.2fx the "
      "read), %6.1f us a migration\n",
      what, f.migrations, f.records, f.read_ms, f.report_ms, f.report_ms / f.read_ms,
      f.report_ms * 1000.0 / f.migrations);
  std::printf("       of which build %.1f ms, text %.1f ms, JSON %.1f ms, CSV %.1f ms\n",
              f.build_ms, f.text_ms, f.json_ms, f.csv_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp";
  const uint32_t vms = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 100;
  const uint32_t small = argc > 3 ? static_cast<uint32_t>(std::atoi(argv[3])) : 5;
  const uint32_t large = argc > 4 ? static_cast<uint32_t>(std::atoi(argv[4])) : 50;
  if (vms == 0 || small == 0 || large <= small) {
    std::fprintf(stderr, "usage: report-bench [DIR] [VMS] [SMALL_ITERATIONS] [LARGE_ITERATIONS]\n");
    return 1;
  }
  const std::string path = dir + "/report-bench-" + std::to_string(getpid()) + ".mpj";
  const Figures a = measure(path, write_campaign(path, vms, small), 3);
  const Figures b = measure(path, write_campaign(path, vms, large), 3);
  unlink(path.c_str());
  print("small", a);
  print("large", b);
  std::printf("cost per migration, large / small campaign: %.2fx (1.00x is linear)\n",
              (b.report_ms / b.migrations) / (a.report_ms / a.migrations));
  return 0;
}
