#include "pcaps/gen/scenario.h"

#include <utility>

namespace migprobe::pcapgen {

ScenarioFiles::ScenarioFiles(const std::string& dir, const std::string& name,
                             const std::string& description)
    : dir_(dir), name_(name) {
  truth_.scenario = name;
  truth_.description = description;
}

std::string ScenarioFiles::open(analysis::CaptureFormat format, const std::string& ext,
                                uint32_t snaplen) {
  truth_.capture = name_ + ext;
  truth_.format = format == analysis::CaptureFormat::kPcapng ? "pcapng" : "pcap-nano";
  const base::Status opened = writer_.open(path(ext), format, snaplen, "probe0");
  return opened.ok() ? std::string() : opened.error().message;
}

void ScenarioFiles::rarp(uint64_t ns, const Endpoint& target, uint16_t vlan) {
  timeline_.add(ns, rarp_announce(target.mac, vlan));
  truth_.announces.push_back(TruthAnnounce{"rarp", analysis::mac_to_string(target.mac), "", ns});
}

void ScenarioFiles::garp(uint64_t ns, const Endpoint& target, uint16_t vlan) {
  const uint32_t ip = (uint32_t{target.ip.bytes[0]} << 24) | (uint32_t{target.ip.bytes[1]} << 16) |
                      (uint32_t{target.ip.bytes[2]} << 8) | target.ip.bytes[3];
  timeline_.add(ns, gratuitous_arp(target.mac, ip, vlan));
  truth_.announces.push_back(
      TruthAnnounce{"garp", analysis::mac_to_string(target.mac), target.ip.to_string(), ns});
}

void ScenarioFiles::malformed(uint64_t ns, Frame frame, const std::string& reason) {
  timeline_.add(ns, std::move(frame));
  ++truth_.drops[reason];
}

std::string ScenarioFiles::run(std::vector<ProbeFlow>* flows) {
  if (!run_flows(flows, &timeline_)) return "cannot write " + writer_.path();
  truth_.frames = timeline_.frames();
  const std::string capture = writer_.path();
  if (!writer_.close()) return "cannot write " + capture;
  for (const ProbeFlow& f : *flows) truth_.add_flow(f);
  return {};
}

const std::vector<Scenario>& all_scenarios() {
  static const std::vector<Scenario> kScenarios = {
      {"gap-12340us", "one ICMP flow at 100 us, one 12.340 ms outage with RARP and GARP",
       write_gap_12340us},
      {"udp-direction", "UDP reflector flow: a forward-only and a return-only outage",
       write_udp_direction},
      {"reorder-dup", "reordered and duplicate replies, one real gap", write_reorder_dup},
      {"seq-wrap", "sequence numbers wrap at 2^32 inside a gap", write_seq_wrap},
      {"edges", "gaps at the very start and the very end of the capture", write_edges},
      {"malformed", "one frame per detectable drop reason among valid probes", write_malformed},
      {"foreign-ping", "plain Linux ping -i 0.001 (no trailer) with one gap", write_foreign_ping},
      {"vlan-ipv6", "ICMPv6 echo probes on 802.1Q VLAN 77 with one gap", write_vlan_ipv6},
      {"migrations", "3 VMs, 2 migrations each with RARP, one unattributed outage; journal",
       write_migrations},
      {"truncated", "gap-12340us as classic pcap-nano, cut inside a packet record",
       write_truncated},
      {"bench", "10 million frames over many flows, a few gaps (not committed)", write_bench,
       false},
  };
  return kScenarios;
}

}  // namespace migprobe::pcapgen
