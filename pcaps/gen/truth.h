#pragma once
// The truth file next to each generated capture (<name>.truth.json): the flows, the gaps
// the generator injected with their true outage intervals, the announces and the frames
// broken on purpose. Tests compare the analyzer's report with it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pcaps/gen/probe_flow.h"

namespace migprobe::pcapgen {

// A switchover marker the generator put on the wire.
struct TruthAnnounce {
  std::string kind;  // "rarp" or "garp"
  std::string mac;
  std::string ip;  // empty for RARP
  uint64_t ns = 0;
};

// What a capture holds, as the generator made it.
struct Truth {
  std::string scenario;
  std::string description;
  std::string capture;
  std::string format;
  uint64_t frames = 0;
  // Flows with what was generated for them (sent and answered probes, duplicates and
  // reordered replies on purpose).
  struct Flow {
    FlowSpec spec;
    uint64_t sent = 0;
    uint64_t answered = 0;
  };
  std::vector<Flow> flows;
  std::vector<TruthGap> gaps;
  std::vector<TruthAnnounce> announces;
  // Drop reason name -> frames made to be dropped for it.
  std::map<std::string, uint64_t> drops;
  std::vector<std::string> notes;

  // Records a finished flow and its injected gaps.
  void add_flow(const ProbeFlow& f);
};

// Writes truth as JSON to path; empty string on success, else the error.
std::string write_truth(const std::string& path, const Truth& truth);

std::string kind_name(ProbeKind k);

}  // namespace migprobe::pcapgen
