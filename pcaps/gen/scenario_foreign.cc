// Scenarios in other framings: a capture of plain Linux ping made without migprobe, and
// IPv6 probes on a VLAN.

#include "pcaps/gen/scenario.h"

namespace migprobe::pcapgen {

std::string write_foreign_ping(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "foreign-ping",
                      "Plain `ping -i 0.001 10.77.0.11` from another host (10.77.0.3), as "
                      "tcpdump would capture it: no probe trailer, ICMP id 0x2a17, seq from 1; "
                      "the target is unreachable for 45.5 ms.");
  if (auto err = files.open(analysis::CaptureFormat::kPcapng); !err.empty()) return err;
  FlowSpec f;
  f.flow_id = 0x2a17;
  f.kind = ProbeKind::kForeignPing;
  f.ping_id = 0x2a17;
  f.probe = Endpoint{{0x02, 0x00, 0x00, 0x77, 0x00, 0x03}, analysis::IpAddress::parse("10.77.0.3")};
  f.target = target_endpoint_v4(11);
  f.interval_ns = kMs;
  f.first_tx_ns = kBaseNs + 3'217 * kUs;
  f.first_seq = 1;
  f.count = 400;
  // A ping through the kernel takes longer than a DPDK probe.
  f.forward_delay_ns = 40 * kUs;
  f.return_delay_ns = 45 * kUs;
  f.return_jitter_ns = 20 * kUs;
  // Pings sent 150.4 ms .. 195.9 ms after the first are lost: seq 152..196.
  const uint64_t start = f.first_tx_ns + 150'400 * kUs;
  f.outages.push_back(Outage{start, start + 45'500 * kUs});
  files.truth().notes.push_back(
      "flow_id is the ICMP id: foreign pings carry no flow id; sequence numbers are the "
      "16-bit ICMP sequence.");
  std::vector<ProbeFlow> flows;
  flows.emplace_back(f, 7);
  return files.finish(&flows);
}

std::string write_vlan_ipv6(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "vlan-ipv6",
                      "ICMPv6 echo probes every 100 us from fd77::2 to fd77::11 on 802.1Q "
                      "VLAN 77; one 20.5 ms outage with a RARP announce on the VLAN.");
  if (auto err = files.open(analysis::CaptureFormat::kPcapng); !err.empty()) return err;
  FlowSpec f;
  f.flow_id = 1;
  f.kind = ProbeKind::kIcmpEcho;
  f.probe = probe_endpoint_v6();
  f.target = target_endpoint_v6(11);
  f.frame.vlan = 77;
  f.interval_ns = 100 * kUs;
  f.first_tx_ns = kBaseNs + kMs;
  f.first_seq = 1000;
  f.count = 800;
  // Probes 301..505 are lost: a = 300, b = 506.
  const uint64_t start = f.first_tx_ns + 30'020 * kUs;
  f.outages.push_back(Outage{start, start + 20'500 * kUs});
  files.rarp(start + 15'000 * kUs, f.target, 77);
  std::vector<ProbeFlow> flows;
  flows.emplace_back(f, 8);
  return files.finish(&flows);
}

}  // namespace migprobe::pcapgen
