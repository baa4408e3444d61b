// The bench scenario: at least GenOptions::bench_frames frames (10 million by default)
// over 64 targets with an ICMP and a UDP flow each every 100 us, and a few outages.
// Written to a temporary directory by bench/analyze_bench.sh, never committed.

#include "pcaps/gen/scenario.h"

namespace migprobe::pcapgen {

std::string write_bench(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "bench",
                      "64 targets (10.77.0.11..74), an ICMP and a UDP reflector flow each "
                      "every 100 us, four outages on four targets.");
  if (auto err = files.open(analysis::CaptureFormat::kPcapng); !err.empty()) return err;
  constexpr int kTargets = 64;
  constexpr uint32_t kFlows = 2 * kTargets;
  constexpr uint64_t kInterval = 100 * kUs;
  // Two frames per answered probe; a margin covers the probes the outages drop.
  const auto count = static_cast<uint32_t>(opt.bench_frames / (2 * kFlows) + 600);
  struct Plan {
    int target;
    uint64_t start_ms;
    uint64_t outage_us;
  };
  const Plan plans[] = {
      {11, 1000, 23'450}, {12, 1000, 23'450}, {30, 2000, 51'200}, {50, 3000, 8'800}};
  std::vector<ProbeFlow> flows;
  for (uint32_t id = 1; id <= kFlows; ++id) {
    FlowSpec f;
    f.flow_id = id;
    f.kind = id % 2 == 1 ? ProbeKind::kIcmpEcho : ProbeKind::kUdpReflect;
    f.probe = probe_endpoint_v4();
    const int target = 11 + static_cast<int>((id - 1) / 2);
    f.target = target_endpoint_v4(target);
    f.interval_ns = kInterval;
    f.first_tx_ns = kBaseNs + kMs + (id - 1) * kInterval / kFlows;
    f.count = count;
    for (const Plan& p : plans) {
      if (p.target != target) continue;
      const uint64_t start = kBaseNs + p.start_ms * kMs + 13 * kUs;
      f.outages.push_back(Outage{start, start + p.outage_us * kUs, Direction::kBoth});
    }
    flows.emplace_back(f, 100 + id);
  }
  return files.finish(&flows);
}

}  // namespace migprobe::pcapgen
