#include "pcaps/gen/truth.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace migprobe::pcapgen {

std::string kind_name(ProbeKind k) {
  switch (k) {
    case ProbeKind::kIcmpEcho:
      return "icmp-echo";
    case ProbeKind::kUdpReflect:
      return "udp-reflect";
    case ProbeKind::kForeignPing:
      return "foreign-ping";
  }
  return "icmp-echo";
}

void Truth::add_flow(const ProbeFlow& f) {
  flows.push_back(Flow{f.spec(), f.sent(), f.answered()});
  for (const TruthGap& g : f.truth()) gaps.push_back(g);
}

std::string write_truth(const std::string& path, const Truth& truth) {
  // Ordered keys: the file is committed and must regenerate byte for byte.
  using Json = nlohmann::ordered_json;
  Json j;
  j["scenario"] = truth.scenario;
  j["description"] = truth.description;
  j["capture"] = truth.capture;
  j["format"] = truth.format;
  j["frames"] = truth.frames;
  j["flows"] = Json::array();
  for (const Truth::Flow& f : truth.flows) {
    Json jf;
    jf["flow_id"] = f.spec.flow_id;
    jf["kind"] = kind_name(f.spec.kind);
    jf["target"] = f.spec.target.ip.to_string();
    jf["target_mac"] = analysis::mac_to_string(f.spec.target.mac);
    jf["vlan"] = f.spec.frame.vlan;
    if (f.spec.kind == ProbeKind::kForeignPing) jf["icmp_id"] = f.spec.ping_id;
    jf["interval_ns"] = f.spec.interval_ns;
    jf["first_seq"] = f.spec.first_seq;
    jf["first_tx_ns"] = f.spec.first_tx_ns;
    jf["sent"] = f.sent;
    jf["answered"] = f.answered;
    jf["reordered_replies"] = f.spec.reply_extra_delay.size();
    jf["duplicate_replies"] = f.spec.duplicate_reply_after.size();
    j["flows"].push_back(jf);
  }
  j["gaps"] = Json::array();
  for (const TruthGap& g : truth.gaps) {
    Json jg;
    jg["flow_id"] = g.flow_id;
    jg["first_lost_seq"] = g.first_lost_seq;
    jg["last_lost_seq"] = g.last_lost_seq;
    jg["lost"] = g.lost;
    jg["direction"] = g.direction;
    jg["forward_lost"] = g.forward_lost;
    jg["return_lost"] = g.return_lost;
    jg["start_ns"] = g.start_ns;
    jg["end_ns"] = g.end_ns;
    jg["outage_ns"] = g.end_ns - g.start_ns;
    jg["open_start"] = g.open_start;
    jg["open_end"] = g.open_end;
    if (!g.migration.empty()) jg["migration"] = g.migration;
    j["gaps"].push_back(jg);
  }
  j["announces"] = Json::array();
  for (const TruthAnnounce& a : truth.announces) {
    j["announces"].push_back(Json{{"kind", a.kind}, {"mac", a.mac}, {"ip", a.ip}, {"ns", a.ns}});
  }
  j["drops"] = Json::object();
  for (const auto& [reason, count] : truth.drops) j["drops"][reason] = count;
  j["notes"] = truth.notes;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << j.dump(2) << '\n';
  out.close();
  if (!out) return "cannot write " + path;
  return {};
}

}  // namespace migprobe::pcapgen
