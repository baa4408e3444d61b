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
#include "bench/synthetic_journal.h"

namespace an = migprobe::analysis;
namespace v1 = migprobe::v1;

namespace {

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
  const Figures a = measure(path, migprobe::bench::write_synthetic_run(path, vms, small), 3);
  const Figures b = measure(path, migprobe::bench::write_synthetic_run(path, vms, large), 3);
  unlink(path.c_str());
  print("small", a);
  print("large", b);
  std::printf("cost per migration, large / small campaign: %.2fx (1.00x is linear)\n",
              (b.report_ms / b.migrations) / (a.report_ms / a.migrations));
  return 0;
}
