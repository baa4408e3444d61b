#include "dataplane/target_spec.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace migprobe::dataplane {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

std::optional<uint64_t> parse_uint(const std::string& s, uint64_t max) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (*end != '\0' || v > max || s[0] == '-') return std::nullopt;
  return v;
}

std::optional<uint32_t> parse_ipv4(const std::string& s) {
  const analysis::IpAddress a = analysis::IpAddress::parse(s);
  if (a.family != 4) return std::nullopt;
  return (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) | (uint32_t{a.bytes[2]} << 8) |
         a.bytes[3];
}

}  // namespace

std::optional<uint64_t> parse_rate(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !(v > 0) || !std::isfinite(v)) return std::nullopt;
  const std::string unit(end);
  double interval_ns = 0;
  if (unit.empty() || unit == "pps") {
    interval_ns = 1e9 / v;
  } else if (unit == "k" || unit == "kpps") {
    interval_ns = 1e6 / v;
  } else if (unit == "M" || unit == "Mpps") {
    interval_ns = 1e3 / v;
  } else if (unit == "s") {
    interval_ns = v * 1e9;
  } else if (unit == "ms") {
    interval_ns = v * 1e6;
  } else if (unit == "us") {
    interval_ns = v * 1e3;
  } else if (unit == "ns") {
    interval_ns = v;
  } else {
    return std::nullopt;
  }
  if (interval_ns > 1e12) return std::nullopt;
  return static_cast<uint64_t>(std::llround(interval_ns));
}

std::string validate_flow(const FlowParams& f) {
  if (f.interval_ns < kMinIntervalNs || f.interval_ns > kMaxIntervalNs) {
    return "rate must be between 1 pps and 1 Mpps (interval 1 us to 1 s)";
  }
  if (f.payload_bytes > kMaxPayloadBytes) {
    return "payload size must be at most " + std::to_string(kMaxPayloadBytes) + " bytes";
  }
  if (f.payload_bytes != 0 && f.payload_bytes < 18) {
    return "payload size must hold the 18-byte probe trailer (or be 0)";
  }
  if (f.dscp > 63) return "dscp must be 0..63";
  if (f.kind == ProbeKind::kUdpReflect && f.port == 0) return "udp port must be 1..65535";
  if (f.reply_timeout_ns > kMaxReplyTimeoutNs) return "reply timeout must be at most 60 s";
  return "";
}

std::optional<TargetParams> parse_target(const std::string& text, std::string* error) {
  TargetParams t;
  auto fail = [&](const std::string& item, const std::string& why) {
    *error = "target '" + text + "': '" + item + "': " + why;
    return std::nullopt;
  };
  bool have_ip = false;
  for (const std::string& item : split(text, ',')) {
    if (item.empty()) return fail(item, "empty item");
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      auto ip = parse_ipv4(item);
      if (!ip) return fail(item, "not an IPv4 address (or key=value)");
      t.ip = *ip;
      have_ip = true;
      continue;
    }
    const std::string key = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    if (key == "name") {
      t.name = value;
    } else if (key == "ip") {
      auto ip = parse_ipv4(value);
      if (!ip) return fail(item, "not an IPv4 address");
      t.ip = *ip;
      have_ip = true;
    } else if (key == "mac") {
      analysis::MacAddress mac;
      if (!analysis::parse_mac(value, &mac)) return fail(item, "not a MAC aa:bb:cc:dd:ee:ff");
      t.mac = mac;
    } else if (key == "vlan") {
      auto v = parse_uint(value, 4094);
      if (!v || *v == 0) return fail(item, "vlan must be 1..4094");
      t.vlan = static_cast<uint16_t>(*v);
    } else if (key == "icmp" || key == "udp") {
      FlowParams f;
      f.kind = key == "icmp" ? ProbeKind::kIcmpEcho : ProbeKind::kUdpReflect;
      const std::vector<std::string> parts = split(value, '/');
      auto interval = parse_rate(parts[0]);
      if (!interval)
        return fail(item, "rate '" + parts[0] + "' does not parse (e.g. 1000, 1k, 1ms)");
      f.interval_ns = *interval;
      for (size_t i = 1; i < parts.size(); ++i) {
        const size_t peq = parts[i].find('=');
        if (peq == std::string::npos)
          return fail(item, "option '" + parts[i] + "' is not key=value");
        const std::string pk = parts[i].substr(0, peq);
        if (pk == "timeout") {
          // A duration with its unit: a bare number would read as a rate.
          const std::string pt = parts[i].substr(peq + 1);
          auto ns = pt.empty() || pt.back() != 's' ? std::nullopt : parse_rate(pt);
          if (!ns || *ns == 0) {
            return fail(item, "option '" + parts[i] + "': not a duration (e.g. 500ms, 2s)");
          }
          f.reply_timeout_ns = *ns;
          continue;
        }
        auto pv = parse_uint(parts[i].substr(peq + 1), 65535);
        if (!pv) return fail(item, "option '" + parts[i] + "': not a number");
        if (pk == "size") {
          f.payload_bytes = static_cast<uint32_t>(*pv);
        } else if (pk == "dscp") {
          f.dscp = static_cast<uint8_t>(*pv > 255 ? 255 : *pv);
        } else if (pk == "port" && f.kind == ProbeKind::kUdpReflect) {
          f.port = static_cast<uint16_t>(*pv);
        } else {
          return fail(item, "unknown option '" + pk + "'");
        }
      }
      const std::string why = validate_flow(f);
      if (!why.empty()) return fail(item, why);
      t.flows.push_back(f);
    } else {
      return fail(item, "unknown key '" + key + "'");
    }
  }
  if (!have_ip) {
    *error = "target '" + text + "': no IPv4 address";
    return std::nullopt;
  }
  if (t.flows.empty()) {
    *error = "target '" + text + "': no flow (add icmp=RATE and/or udp=RATE)";
    return std::nullopt;
  }
  if (t.name.empty()) t.name = analysis::IpAddress::v4(t.ip).to_string();
  return t;
}

}  // namespace migprobe::dataplane
