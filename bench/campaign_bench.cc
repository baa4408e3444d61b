// campaign-bench: the campaign report (`campaign report DIR`) at the seed benchmark's size,
// 12 cells (flavor x storage x tunnelling) x 6 VMs x 30 iterations x 2 directions = 4,320
// migrations, against the same campaign with a tenth of the iterations, and against reading
// every journal of the campaign (the peer: what any consumer of the journals pays). A report
// linear in the campaign keeps the same cost per migration at both sizes. Memory: the peak
// resident size after each size, against the size of the journals.
//
// usage: campaign-bench [DIR] [VMS] [SMALL_ITERATIONS] [LARGE_ITERATIONS]

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "analysis/journal.h"
#include "bench/synthetic_journal.h"
#include "orchestrator/campaign_report.h"
#include "orchestrator/campaign_run.h"
#include "orchestrator/campaign_spec.h"

namespace an = migprobe::analysis;
namespace mo = migprobe::orchestrator;
namespace v1 = migprobe::v1;

namespace {

constexpr const char* kSpec = R"(name: seed
defaults: {source_host: hostA, dest_host: hostB}
axes:
  - {name: flavor, values: [small, medium, large]}
  - {name: storage, values: [ceph, local]}
  - {name: tunnelling, values: ["on", "off"]}
)";

void die(const std::string& what) {
  std::fprintf(stderr, "campaign-bench: %s\n", what.c_str());
  std::exit(1);
}

struct Campaign {
  std::string dir;
  uint32_t migrations = 0;
  uint64_t bytes = 0;
  std::vector<std::string> journals;
};

uint64_t file_size(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// The directory `campaign run` leaves: the campaign journal and a run journal per cell.
Campaign write_campaign(const std::string& dir, uint32_t vms, uint32_t iterations) {
  Campaign c;
  c.dir = dir;
  if (std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "/cells'").c_str()) != 0) {
    die("cannot create " + dir);
  }
  auto spec = mo::parse_campaign_spec(kSpec, "bench.yaml");
  if (!spec.ok()) die(spec.error().message);
  auto cells = mo::expand_cells(*spec);
  if (!cells.ok()) die(cells.error().message);
  an::JournalWriter w;
  v1::JournalHeader h;
  h.set_campaign("seed");
  const std::string campaign_journal = dir + "/" + mo::kCampaignJournal;
  if (auto opened = w.open(campaign_journal, h); !opened) die(opened.error().message);
  v1::JournalRecord start;
  start.mutable_campaign()->set_state("started");
  *start.mutable_campaign()->mutable_spec() = *spec;
  for (const auto& cell : *cells) *start.mutable_campaign()->add_cells() = cell;
  w.append(start);
  for (size_t i = 0; i < cells->size(); ++i) {
    const v1::Cell& cell = (*cells)[i];
    const std::string rel = mo::cell_dir(cell, i + 1);
    if (mkdir((dir + "/" + rel).c_str(), 0750) != 0) die("cannot create " + dir + "/" + rel);
    migprobe::bench::SyntheticCell sc;
    sc.campaign = "seed";
    sc.name = mo::cell_name(cell);
    sc.labels.insert(cell.labels().begin(), cell.labels().end());
    const std::string journal = dir + "/" + rel + "/journal.mpj";
    c.migrations += migprobe::bench::write_synthetic_run(journal, vms, iterations, sc);
    c.journals.push_back(journal);
    c.bytes += file_size(journal);
    v1::JournalRecord ev;
    ev.mutable_cell()->set_index(static_cast<uint32_t>(i + 1));
    ev.mutable_cell()->set_dir(rel);
    ev.mutable_cell()->set_state("finished");
    w.append(ev);
  }
  w.close();
  c.bytes += file_size(campaign_journal);
  return c;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

struct Figures {
  double read_ms = 1e300;
  double report_ms = 1e300;
  size_t cells = 0;
};

Figures measure(const Campaign& c, int rounds) {
  Figures f;
  size_t sink = 0;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& path : c.journals) {
      an::JournalContents j;
      if (auto read = an::read_journal(path, &j); !read) die(read.error().message);
      sink += j.records.size();
    }
    f.read_ms = std::min(f.read_ms, ms_since(t0));
    t0 = std::chrono::steady_clock::now();
    auto report = mo::build_campaign_report(c.dir);
    if (!report.ok()) die(report.error().message);
    sink += mo::render_campaign_text(*report).size() + mo::render_campaign_json(*report).size() +
            mo::render_campaign_csv(*report).size();
    f.report_ms = std::min(f.report_ms, ms_since(t0));
    f.cells = static_cast<size_t>(report->cells_size());
    if (!report->problems().empty()) die("the report has problems: " + report->problems(0));
  }
  if (sink == 0) die("nothing read");
  return f;
}

void print(const char* what, const Campaign& c, const Figures& f, double rss) {
  std::printf(
      "%-6s %2zu cells, %5u migrations, journals %6.1f MiB: read %8.1f ms, campaign report "
      "%8.1f ms (%.2fx the read), %6.1f us a migration; peak RSS %6.1f MiB\n",
      what, f.cells, c.migrations, static_cast<double>(c.bytes) / (1 << 20), f.read_ms, f.report_ms,
      f.report_ms / f.read_ms, f.report_ms * 1000.0 / c.migrations, rss);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp";
  const uint32_t vms = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 6;
  const uint32_t small = argc > 3 ? static_cast<uint32_t>(std::atoi(argv[3])) : 3;
  const uint32_t large = argc > 4 ? static_cast<uint32_t>(std::atoi(argv[4])) : 30;
  if (vms == 0 || small == 0 || large <= small) {
    std::fprintf(stderr,
                 "usage: campaign-bench [DIR] [VMS] [SMALL_ITERATIONS] [LARGE_ITERATIONS]\n");
    return 1;
  }
  const std::string base = dir + "/campaign-bench-" + std::to_string(getpid());
  const Campaign a = write_campaign(base + "-small", vms, small);
  const Figures fa = measure(a, 3);
  const double rss_a = peak_rss_mib();
  const Campaign b = write_campaign(base + "-large", vms, large);
  const Figures fb = measure(b, 3);
  const double rss_b = peak_rss_mib();
  if (std::system(("rm -rf '" + a.dir + "' '" + b.dir + "'").c_str()) != 0) die("cleanup");
  print("small", a, fa, rss_a);
  print("large", b, fb, rss_b);
  std::printf(
      "cost per migration, large / small campaign: %.2fx (1.00x is linear); peak RSS "
      "grew %.1f MiB for %.1f MiB more of journals\n",
      (fb.report_ms / b.migrations) / (fa.report_ms / a.migrations), rss_b - rss_a,
      static_cast<double>(b.bytes - a.bytes) / (1 << 20));
  return 0;
}
