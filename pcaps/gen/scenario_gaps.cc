// The single-flow gap scenarios: a known outage, directions, reordering and duplicates,
// sequence wrap, and gaps at the edges of a capture.

#include "pcaps/gen/scenario.h"

namespace migprobe::pcapgen {
namespace {

FlowSpec icmp_flow(uint32_t flow_id, int target, uint64_t interval_ns, uint32_t count) {
  FlowSpec f;
  f.flow_id = flow_id;
  f.kind = ProbeKind::kIcmpEcho;
  f.probe = probe_endpoint_v4();
  f.target = target_endpoint_v4(target);
  f.interval_ns = interval_ns;
  f.first_tx_ns = kBaseNs + kMs;
  f.count = count;
  return f;
}

std::string write_flows(ScenarioFiles* files, std::vector<FlowSpec> specs, uint64_t seed) {
  std::vector<ProbeFlow> flows;
  for (size_t i = 0; i < specs.size(); ++i) flows.emplace_back(std::move(specs[i]), seed + i);
  return files->finish(&flows);
}

}  // namespace

std::string run_gap_12340us(ScenarioFiles* files) {
  FlowSpec f = icmp_flow(1, 11, 100 * kUs, 1000);
  // Starts 37 us after probe 400 was sent: probes 401..523 are lost, a = 400, b = 524.
  const uint64_t start = f.first_tx_ns + 40'037 * kUs;
  const Outage o{start, start + 12'340 * kUs, Direction::kBoth};
  f.outages.push_back(o);
  // The VM resumes at the destination 9.1 ms into the outage; the network takes the rest.
  files->rarp(o.start_ns + 9'100 * kUs + f.return_delay_ns, f.target);
  files->garp(o.end_ns + 2'000 * kUs, f.target);
  std::vector<ProbeFlow> flows;
  flows.emplace_back(f, 1);
  return files->run(&flows);
}

std::string write_gap_12340us(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "gap-12340us",
                      "One ICMP echo flow every 100 us; the target is unreachable for exactly "
                      "12.340 ms; QEMU's RARP announce inside the gap, a gratuitous ARP after.");
  if (auto err = files.open(analysis::CaptureFormat::kPcapng); !err.empty()) return err;
  if (auto err = run_gap_12340us(&files); !err.empty()) return err;
  return files.write_truth_file();
}

std::string write_udp_direction(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "udp-direction",
                      "One UDP flow to migprobe-reflector every 200 us: an 8 ms outage that "
                      "drops requests before the reflector (its counter stops) and a 5.5 ms "
                      "outage that drops only the replies (the reflector counts them).");
  if (auto err = files.open(analysis::CaptureFormat::kPcapng); !err.empty()) return err;
  FlowSpec f = icmp_flow(1, 11, 200 * kUs, 800);
  f.kind = ProbeKind::kUdpReflect;
  const uint64_t fwd = f.first_tx_ns + 30'050 * kUs;
  const uint64_t ret = f.first_tx_ns + 90'110 * kUs;
  f.outages.push_back(Outage{fwd, fwd + 8'000 * kUs, Direction::kForward});
  f.outages.push_back(Outage{ret, ret + 5'500 * kUs, Direction::kReturn});
  return write_flows(&files, {f}, 2);
}

std::string write_reorder_dup(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "reorder-dup",
                      "One ICMP flow every 100 us with replies reordered within the window and "
                      "duplicated, and one real 6.99 ms gap whose last answered probe before "
                      "(a) is answered only after the first one after (b).");
  if (auto err = files.open(analysis::CaptureFormat::kPcapng); !err.empty()) return err;
  FlowSpec f = icmp_flow(1, 11, 100 * kUs, 1200);
  const uint64_t start = f.first_tx_ns + 90'020 * kUs;
  // Probes 901..970 are lost: a = 900, b = 971.
  f.outages.push_back(Outage{start, start + 6'990 * kUs, Direction::kBoth});
  f.reply_extra_delay = {
      {100, 350 * kUs},    // overtaken by the replies to 101..103
      {250, 150 * kUs},    // overtaken by 251
      {400, 300 * kUs},    // 400 and 401 both late, in reverse order
      {401, 150 * kUs},    //
      {700, 2'500 * kUs},  // 25 probes deep
      {900, 8'000 * kUs},  // a arrives after b
  };
  f.duplicate_reply_after = {
      {150, 30 * kUs},     // right behind the original
      {500, 1'000 * kUs},  // ten probes later
      {1000, 20 * kUs},
  };
  return write_flows(&files, {f}, 3);
}

std::string write_seq_wrap(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "seq-wrap",
                      "An ICMP and a UDP reflector flow every 100 us whose sequence numbers "
                      "start 300 before 2^32; one 7.03 ms outage spans the wrap in both.");
  if (auto err = files.open(analysis::CaptureFormat::kPcapng); !err.empty()) return err;
  FlowSpec icmp = icmp_flow(1, 11, 100 * kUs, 700);
  icmp.first_seq = 0xffffffffU - 299;
  FlowSpec udp = icmp_flow(2, 11, 100 * kUs, 700);
  udp.kind = ProbeKind::kUdpReflect;
  udp.first_seq = icmp.first_seq;
  udp.first_tx_ns = icmp.first_tx_ns + 50 * kUs;
  // Probes 270..340 of the ICMP flow (seq 2^32 - 30 .. 40) fall in it.
  const uint64_t start = icmp.first_tx_ns + 26'990 * kUs;
  const Outage o{start, start + 7'030 * kUs, Direction::kBoth};
  icmp.outages.push_back(o);
  udp.outages.push_back(o);
  return write_flows(&files, {icmp, udp}, 4);
}

std::string write_edges(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "edges",
                      "One ICMP flow every 1 ms for 1.5 s: the target is unreachable when "
                      "the capture starts (the first 15 probes are unanswered) and again from "
                      "300.3 ms until after the capture ends (1199 probes unanswered, more "
                      "than the 1 s reply timeout).");
  if (auto err = files.open(analysis::CaptureFormat::kPcapng); !err.empty()) return err;
  FlowSpec f = icmp_flow(1, 11, kMs, 1500);
  f.outages.push_back(Outage{f.first_tx_ns - 5 * kMs, f.first_tx_ns + 14'500 * kUs});
  f.outages.push_back(Outage{f.first_tx_ns + 300'300 * kUs, f.first_tx_ns + 2'000 * kMs});
  files.truth().notes.push_back(
      "Open gaps: the true outage starts before the first probe or ends after the last one; "
      "a report can only give lower bounds, and at the end only probes sent at least one "
      "reply timeout before the capture ends count as lost.");
  return write_flows(&files, {f}, 5);
}

}  // namespace migprobe::pcapgen
