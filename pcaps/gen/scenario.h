#pragma once
// The scenarios migprobe-pcapgen writes, and what they share: a fixed time base, the
// capture + timeline + truth of the scenario being written.

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/capture_writer.h"
#include "pcaps/gen/probe_flow.h"
#include "pcaps/gen/timeline.h"
#include "pcaps/gen/truth.h"

namespace migprobe::pcapgen {

// Every scenario starts at 2026-01-01T00:00:00Z: captures never depend on the clock.
inline constexpr uint64_t kBaseNs = 1'767'225'600'000'000'000ULL;
inline constexpr uint64_t kUs = 1'000;
inline constexpr uint64_t kMs = 1'000'000;

// What the command line passes to a scenario.
struct GenOptions {
  std::string dir;
  // Frames of the bench scenario (requests + replies), at least.
  uint64_t bench_frames = 10'000'000;
};

// The files of one scenario being written: <dir>/<name>.pcapng (or another extension)
// and <dir>/<name>.truth.json.
class ScenarioFiles {
 public:
  ScenarioFiles(const std::string& dir, const std::string& name, const std::string& description);

  // Creates the capture; empty string on success, else the error.
  std::string open(analysis::CaptureFormat format, const std::string& ext = ".pcapng",
                   uint32_t snaplen = 65535);
  Timeline& timeline() { return timeline_; }
  Truth& truth() { return truth_; }
  std::string path(const std::string& ext) const { return dir_ + "/" + name_ + ext; }

  // A RARP announce of target's MAC, or a gratuitous ARP from it, seen at ns.
  void rarp(uint64_t ns, const Endpoint& target, uint16_t vlan = 0);
  void garp(uint64_t ns, const Endpoint& target, uint16_t vlan = 0);
  // Adds a frame made to be dropped for the drop reason named reason.
  void malformed(uint64_t ns, Frame frame, const std::string& reason);
  // Generates the flows, closes the capture and records the flows in the truth.
  std::string run(std::vector<ProbeFlow>* flows);
  // Writes <name>.truth.json.
  std::string write_truth_file() { return write_truth(path(".truth.json"), truth_); }
  // run() then write_truth_file().
  std::string finish(std::vector<ProbeFlow>* flows) {
    if (auto err = run(flows); !err.empty()) return err;
    return write_truth_file();
  }

 private:
  std::string dir_;
  std::string name_;
  analysis::CaptureWriter writer_;
  Timeline timeline_{&writer_};
  Truth truth_;
};

// A scenario: writes its files into opt.dir and returns an empty string, or an error.
struct Scenario {
  std::string name;
  std::string summary;
  std::string (*write)(const GenOptions& opt);
  // Committed under pcaps/ (the bench capture is not: it is ~1 GB).
  bool committed = true;
};

const std::vector<Scenario>& all_scenarios();

// The scenarios, one function each (scenario_*.cc).
std::string write_gap_12340us(const GenOptions& opt);
std::string write_udp_direction(const GenOptions& opt);
std::string write_reorder_dup(const GenOptions& opt);
std::string write_seq_wrap(const GenOptions& opt);
std::string write_edges(const GenOptions& opt);
std::string write_malformed(const GenOptions& opt);
std::string write_foreign_ping(const GenOptions& opt);
std::string write_vlan_ipv6(const GenOptions& opt);
std::string write_migrations(const GenOptions& opt);
std::string write_truncated(const GenOptions& opt);
std::string write_bench(const GenOptions& opt);

// Generates the frames of gap-12340us into files (opened by the caller): shared with
// truncated, which is the same capture written as classic pcap and cut short.
std::string run_gap_12340us(ScenarioFiles* files);

}  // namespace migprobe::pcapgen
