#include "dataplane/target_spec.h"

#include <cstdlib>

#include "base/ipv4.h"

namespace migprobe::dataplane {

base::Result<TargetParams> parse_target(const std::string& text) {
  TargetParams t;
  auto fail = [&](const std::string& why) {
    return base::make_error(base::ErrorKind::kInvalid, "target '" + text + "': " + why);
  };
  bool have_ip = false;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma - start);
    if (item.empty()) return fail("empty item");
    const size_t eq = item.find('=');
    const std::string key = eq == std::string::npos ? "" : item.substr(0, eq);
    const std::string value = eq == std::string::npos ? item : item.substr(eq + 1);
    base::ProbeKind kind{};
    if (key.empty() || key == "ip") {
      const auto ip = base::parse_ipv4(value);
      if (!ip) return fail("'" + item + "': not an IPv4 address (or key=value)");
      t.ip = *ip;
      have_ip = true;
    } else if (key == "name") {
      t.name = value;
    } else if (key == "mac") {
      analysis::MacAddress mac;
      if (!analysis::parse_mac(value, &mac))
        return fail("'" + item + "': not a MAC aa:bb:cc:dd:ee:ff");
      t.mac = mac;
    } else if (key == "vlan") {
      char* end = nullptr;
      const unsigned long v = std::strtoul(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v == 0 || v > 4094) {
        return fail("'" + item + "': vlan must be 1..4094");
      }
      t.vlan = static_cast<uint16_t>(v);
    } else if (base::parse_probe_kind(key, &kind)) {
      base::Result<base::FlowSpec> flow = base::parse_flow(item);
      if (!flow) return fail(flow.error().message);
      t.flows.push_back(*flow);
    } else {
      return fail("'" + item + "': unknown key '" + key + "'");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!have_ip) return fail("no IPv4 address");
  if (t.flows.empty()) return fail("no flow (add icmp=RATE and/or udp=RATE)");
  if (t.name.empty()) t.name = base::ipv4_text(t.ip);
  return t;
}

}  // namespace migprobe::dataplane
