// migprobe-analyze: the probe's detector, offline. Reads a capture (pcap or pcapng, from
// migprobe-dp or from any tool), an optional journal of migrations, and writes the report
// the live probe gives: text, JSON and CSV. Given a journal alone, it writes the report of
// that run from the journal (the journal replays to the report migprobe-control wrote).

#include <boost/program_options.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "analysis/analyzer.h"
#include "analysis/capture_reader.h"
#include "analysis/capture_report.h"
#include "analysis/journal.h"
#include "analysis/journal_report.h"
#include "analysis/report_writers.h"
#include "base/duration.h"

namespace po = boost::program_options;
using namespace migprobe::analysis;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitInput = 2;
constexpr int kExitTruncated = 3;

// Everything the command line says, validated in parse_options().
struct AnalyzeOptions {
  std::string capture;
  std::string journal;
  std::string text_out;
  std::string json_out;
  std::string csv_out;
  std::string out_dir;
  AnalyzerOptions analyzer;
  uint64_t settle_ns = 2'000'000'000;
  bool quiet = false;
};

// Thrown for a bad command line; main prints it with the usage hint.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

uint64_t duration_option(const po::variables_map& vm, const char* name) {
  const std::string text = vm[name].as<std::string>();
  const auto ns = migprobe::base::parse_duration_ns(text);
  if (!ns) {
    throw UsageError(std::string("--") + name + " '" + text +
                     "' is not a duration (a number with ns, us, ms or s, e.g. 500us)");
  }
  return *ns;
}

AnalyzeOptions parse_options(int argc, char** argv, bool* help) {
  po::options_description desc(
      "Usage: migprobe-analyze [options] CAPTURE\n"
      "       migprobe-analyze [options] --journal JOURNAL\n\n"
      "Finds every gap in the probe flows of a capture and writes the downtime report.\n"
      "CAPTURE is a pcap or pcapng file written by migprobe-dp, or any capture of plain\n"
      "ICMP echo traffic (e.g. 'ping -i 0.001' recorded with tcpdump). With --journal, gaps\n"
      "are tagged with the live migrations the journal records. With --journal and no\n"
      "CAPTURE, the report is built from the journal alone (the gaps, flow counters,\n"
      "migrations and evacuations migprobe-control recorded during the run): the same report\n"
      "migprobe-control wrote. Without any output option the text report goes to standard\n"
      "output.\n\n"
      "Exit status: 0 done, 1 bad command line, 2 unreadable input, 3 capture cut short\n"
      "(the report then covers what was read).\n\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("journal,j", po::value<std::string>(), "journal of the run (targets, flows, migrations)")
    ("text", po::value<std::string>(), "write the text report to FILE ('-' for stdout)")
    ("json", po::value<std::string>(), "write the JSON report to FILE ('-' for stdout)")
    ("csv", po::value<std::string>(), "write one CSV row per gap to FILE ('-' for stdout)")
    ("out-dir,o", po::value<std::string>(), "write report.txt, report.json, report.csv in DIR")
    ("outage-threshold", po::value<std::string>()->default_value("1ms"),
     "gaps at least this long are outages, shorter ones isolated losses (journal alone: "
     "the threshold the dataplane used, as the report states it)")
    ("reply-timeout", po::value<std::string>()->default_value("1s"),
     "a reply later than this after its probe counts as lost (journal alone: the flows' "
     "own, when the journal has it)")
    ("settle", po::value<std::string>()->default_value("2s"),
     "a migration's window lasts this long after it completed")
    ("interval", po::value<std::string>(),
     "probe interval of flows the journal does not describe (default: measured)")
    ("generation", po::value<int>(), "accept only probes of this run generation "
     "(default: the journal's, else the first seen)")
    ("no-checksums", "do not verify IP and L4 checksums (captures taken before "
     "checksum offload)")
    ("quiet,q", "no progress or warnings on stderr");
  // clang-format on
  po::options_description hidden;
  hidden.add_options()("capture", po::value<std::string>());
  po::positional_options_description pos;
  pos.add("capture", 1);
  po::options_description all;
  all.add(desc).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  *help = vm.count("help") > 0;
  AnalyzeOptions o;
  if (*help) {
    std::cout << desc << "\n";
    return o;
  }
  if (vm.count("journal")) o.journal = vm["journal"].as<std::string>();
  if (!vm.count("capture") && o.journal.empty()) {
    throw UsageError("no CAPTURE file given (or --journal JOURNAL alone for the report of a run)");
  }
  if (vm.count("capture")) o.capture = vm["capture"].as<std::string>();
  if (vm.count("text")) o.text_out = vm["text"].as<std::string>();
  if (vm.count("json")) o.json_out = vm["json"].as<std::string>();
  if (vm.count("csv")) o.csv_out = vm["csv"].as<std::string>();
  if (vm.count("out-dir")) o.out_dir = vm["out-dir"].as<std::string>();
  o.analyzer.tracker.outage_threshold_ns = duration_option(vm, "outage-threshold");
  o.analyzer.tracker.reply_timeout_ns = duration_option(vm, "reply-timeout");
  if (o.analyzer.tracker.reply_timeout_ns == 0) throw UsageError("--reply-timeout must be > 0");
  o.settle_ns = duration_option(vm, "settle");
  if (vm.count("interval")) {
    o.analyzer.default_interval_ns = duration_option(vm, "interval");
    if (o.analyzer.default_interval_ns == 0) throw UsageError("--interval must be > 0");
  }
  if (vm.count("generation")) {
    const int g = vm["generation"].as<int>();
    if (g < 0 || g > 255) throw UsageError("--generation must be 0..255");
    o.analyzer.generation = g;
  }
  o.analyzer.parse.verify_checksums = vm.count("no-checksums") == 0;
  o.quiet = vm.count("quiet") > 0;
  if (o.text_out.empty() && o.json_out.empty() && o.csv_out.empty() && o.out_dir.empty()) {
    o.text_out = "-";
  }
  return o;
}

// Writes content to path ('-' is stdout). False with a message on stderr when it fails.
bool write_output(const std::string& path, const std::string& content) {
  const migprobe::base::Status written = write_report_file(path, content);
  if (!written) std::cerr << "migprobe-analyze: " << written.error().message << "\n";
  return written.ok();
}

// The report of a run from its journal alone.
migprobe::v1::Report report_from_journal(const AnalyzeOptions& o, const JournalContents& journal) {
  ReportInputs in;
  in.source.set_journal_path(o.journal);
  in.settle_ns = o.settle_ns;
  in.outage_threshold_ns = o.analyzer.tracker.outage_threshold_ns;
  in.reply_timeout_ns = o.analyzer.tracker.reply_timeout_ns;
  return build_report_from_journal(journal, in);
}

// Writes the renderings the options ask for. kExitOk, or kExitInput when one cannot be
// written.
int write_reports(const AnalyzeOptions& o, const migprobe::v1::Report& report) {
  bool ok = true;
  auto out_path = [&](const std::string& explicit_path, const char* name) {
    return !explicit_path.empty() ? explicit_path
           : !o.out_dir.empty()   ? o.out_dir + "/" + name
                                  : std::string();
  };
  if (const auto p = out_path(o.text_out, "report.txt"); !p.empty()) {
    ok &= write_output(p, render_text(report));
  }
  if (const auto p = out_path(o.json_out, "report.json"); !p.empty()) {
    ok &= write_output(p, render_json(report));
  }
  if (const auto p = out_path(o.csv_out, "report.csv"); !p.empty()) {
    ok &= write_output(p, render_csv(report));
  }
  return ok ? kExitOk : kExitInput;
}

int run(const AnalyzeOptions& o) {
  JournalContents journal;
  AnalyzerOptions aopt = o.analyzer;
  if (!o.journal.empty()) {
    if (const migprobe::base::Status read = read_journal(o.journal, &journal); !read) {
      std::cerr << "migprobe-analyze: " << read.error().message << "\n";
      return kExitInput;
    }
    if (!journal.warning.empty() && !o.quiet) {
      std::cerr << "migprobe-analyze: warning: " << journal.warning << "\n";
    }
    if (aopt.generation < 0 && journal.header.run_generation() != 0) {
      aopt.generation = static_cast<int>(journal.header.run_generation());
    }
    // The run's generation as the dataplane gave it (a capture may hold several runs: a
    // campaign's cells). A dataplane restarted within the run gave a second one: the first
    // is analysed, and that is said.
    for (const auto& r : journal.records) {
      if (!r.has_probe() || r.probe().run_generation() == 0) continue;
      if (aopt.generation < 0) {
        aopt.generation = static_cast<int>(r.probe().run_generation());
      } else if (static_cast<int>(r.probe().run_generation()) != aopt.generation && !o.quiet) {
        std::cerr << "migprobe-analyze: warning: the run's dataplane restarted (run generation "
                  << r.probe().run_generation() << " after " << aopt.generation
                  << "): only the probes of generation " << aopt.generation
                  << " are analysed (--generation N for the other)\n";
      }
    }
    for (const auto& r : journal.records) {
      if (!r.has_target()) continue;
      for (const auto& f : r.target().flows()) {
        if (f.interval_ns() > 0) aopt.flow_interval_ns[f.flow_id()] = f.interval_ns();
      }
    }
  }
  if (o.capture.empty()) return write_reports(o, report_from_journal(o, journal));
  CaptureReader reader;
  if (const migprobe::base::Status opened = reader.open(o.capture); !opened) {
    std::cerr << "migprobe-analyze: " << opened.error().message << "\n";
    return kExitInput;
  }
  aopt.parse.link = reader.link();
  Analyzer analyzer(aopt);
  const std::string stopped =
      reader.for_each([&](uint64_t ts, const uint8_t* data, uint32_t caplen, uint32_t len) {
        analyzer.on_frame(ts, data, caplen, len);
      });
  analyzer.finish();

  ReportInputs in;
  in.source.set_path(o.capture);
  in.source.set_format(reader.format());
  in.source.set_packets(analyzer.totals().frames);
  in.source.set_bytes(analyzer.totals().bytes);
  in.source.set_first_ns(analyzer.totals().first_ns);
  in.source.set_last_ns(analyzer.totals().last_ns);
  in.source.set_error(stopped);
  if (!o.journal.empty()) {
    in.journal = &journal;
    in.source.set_journal_path(o.journal);
    in.source.set_journal_records(journal.records.size() + 1);
  }
  in.settle_ns = o.settle_ns;
  const int status = write_reports(o, build_report(analyzer, in));
  if (!stopped.empty()) {
    std::cerr << "migprobe-analyze: " << stopped << "\n"
              << "migprobe-analyze: the report covers the " << analyzer.totals().frames
              << " frames read before that point\n";
    return kExitTruncated;
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    bool help = false;
    const AnalyzeOptions o = parse_options(argc, argv, &help);
    if (help) return kExitOk;
    return run(o);
  } catch (const UsageError& e) {
    std::cerr << "migprobe-analyze: " << e.what() << "\n"
              << "Try 'migprobe-analyze --help'.\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    // Nothing below throws by design; if a library does (out of memory), say so, not abort.
    std::cerr << "migprobe-analyze: " << e.what() << "\n";
    return kExitInput;
  }
}
