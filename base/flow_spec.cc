#include "base/flow_spec.h"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <utility>

#include "base/duration.h"

namespace migprobe::base {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

bool parse_uint(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (*end != '\0' || v > max) return false;
  *out = v;
  return true;
}

// A BYTE_RATE: a decimal number, a k, M or G multiplier, an optional B.
bool parse_byte_rate(std::string s, uint64_t* out) {
  if (!s.empty() && s.back() == 'B') s.pop_back();
  double mult = 1;
  if (!s.empty() && (s.back() == 'k' || s.back() == 'M' || s.back() == 'G')) {
    mult = s.back() == 'k' ? 1e3 : s.back() == 'M' ? 1e6 : 1e9;
    s.pop_back();
  }
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || v * mult > 1e12) return false;
  *out = static_cast<uint64_t>(std::llround(v * mult));
  return true;
}

// A byte rate as the shortest text that reads back the same: "1M", "250k", "1500".
std::string byte_rate_text(uint64_t r) {
  for (const auto& [div, suffix] :
       {std::pair<uint64_t, const char*>{1'000'000'000, "G"}, {1'000'000, "M"}, {1'000, "k"}}) {
    if (r >= div && r % div == 0) return std::to_string(r / div) + suffix;
  }
  return std::to_string(r);
}

Error invalid(const std::string& text, const std::string& why) {
  return make_error(ErrorKind::kInvalid, "flow '" + text + "': " + why);
}

}  // namespace

bool parse_probe_kind(const std::string& word, ProbeKind* kind) {
  if (word == "icmp") {
    *kind = ProbeKind::kIcmpEcho;
  } else if (word == "udp") {
    *kind = ProbeKind::kUdpReflect;
  } else if (word == "tcp") {
    *kind = ProbeKind::kTcpStream;
  } else if (word == "tcp-syn") {
    *kind = ProbeKind::kTcpSyn;
  } else {
    return false;
  }
  return true;
}

const char* probe_kind_word(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kIcmpEcho:
      return "icmp";
    case ProbeKind::kUdpReflect:
      return "udp";
    case ProbeKind::kTcpStream:
      return "tcp";
    case ProbeKind::kTcpSyn:
      return "tcp-syn";
  }
  return "?";
}

Status validate_flow(const FlowSpec& f) {
  auto fail = [](const std::string& why) { return make_error(ErrorKind::kInvalid, why); };
  if (f.kind == ProbeKind::kTcpStream) {
    if (f.rate_bytes_per_s < kMinTcpRate || f.rate_bytes_per_s > kMaxTcpRate) {
      return fail("tcp rate must be between 1k and 1G bytes per second");
    }
    if (f.payload_bytes != 0 &&
        (f.payload_bytes < kTrailerBytes || f.payload_bytes > kMaxTcpSegmentBytes)) {
      return fail("tcp segment size must be 18..1460 bytes (the trailer to one frame)");
    }
    if (f.dscp > 63) return fail("dscp must be 0..63");
    if (f.port == 0) return fail("tcp port must be 1..65535");
    if (f.reply_timeout_ns != 0) return fail("a tcp flow has no reply timeout (TCP retransmits)");
    return Done{};
  }
  if (f.kind != ProbeKind::kIcmpEcho && f.kind != ProbeKind::kUdpReflect &&
      f.kind != ProbeKind::kTcpSyn) {
    return fail("unknown probe kind (icmp, udp, tcp or tcp-syn)");
  }
  if (f.kind == ProbeKind::kTcpSyn) {
    if (f.interval_ns < kMinSynIntervalNs || f.interval_ns > kMaxIntervalNs) {
      return fail("tcp-syn rate must be between 1 and 1,000 SYNs a second (interval 1ms to 1s)");
    }
    if (f.payload_bytes != 0) return fail("a tcp-syn flow has no payload (no size)");
    if (f.port == 0) return fail("tcp-syn port must be 1..65535");
  }
  if (f.interval_ns < kMinIntervalNs || f.interval_ns > kMaxIntervalNs) {
    return fail("rate must be between 1 pps and 1 Mpps (interval 1us to 1s)");
  }
  if (f.payload_bytes > kMaxPayloadBytes) {
    return fail("payload size must be at most " + std::to_string(kMaxPayloadBytes) + " bytes");
  }
  if (f.payload_bytes != 0 && f.payload_bytes < kTrailerBytes) {
    return fail("payload size must hold the 18-byte probe trailer (or be 0)");
  }
  if (f.dscp > 63) return fail("dscp must be 0..63");
  if (f.kind == ProbeKind::kUdpReflect && f.port == 0) return fail("udp port must be 1..65535");
  if (f.reply_timeout_ns > kMaxReplyTimeoutNs) return fail("reply timeout must be at most 60s");
  return Done{};
}

Result<FlowSpec> parse_flow(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos) return invalid(text, "expected KIND=RATE, e.g. icmp=1ms");
  FlowSpec f;
  const std::string word = text.substr(0, eq);
  if (!parse_probe_kind(word, &f.kind)) {
    return invalid(text, "unknown kind '" + word + "' (icmp, udp, tcp or tcp-syn)");
  }
  const std::vector<std::string> parts = split(text.substr(eq + 1), '/');
  const bool tcp = f.kind == ProbeKind::kTcpStream;
  if (tcp) {
    if (!parse_byte_rate(parts[0], &f.rate_bytes_per_s)) {
      return invalid(text, "rate '" + parts[0] + "' is not bytes per second (e.g. 1M, 250k, 1500)");
    }
  }
  const auto interval = tcp ? std::optional<uint64_t>(0) : parse_interval_ns(parts[0]);
  if (!interval) {
    return invalid(text, "rate '" + parts[0] + "' does not parse (e.g. 1000, 2.5k, 1ms, 250us)");
  }
  f.interval_ns = *interval;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (tcp && (parts[i] == "echo" || parts[i] == "discard")) {
      f.echo = parts[i] == "echo";
      continue;
    }
    const size_t peq = parts[i].find('=');
    if (peq == std::string::npos)
      return invalid(text, "option '" + parts[i] + "' is not key=value");
    const std::string key = parts[i].substr(0, peq);
    const std::string value = parts[i].substr(peq + 1);
    uint64_t v = 0;
    if (key == "timeout") {
      const auto ns = parse_duration_ns(value);
      if (!ns || *ns == 0)
        return invalid(text, "timeout '" + value + "' is not a duration (500ms, 2s)");
      f.reply_timeout_ns = *ns;
    } else if (key == "size") {
      if (!parse_uint(value, 65535, &v))
        return invalid(text, "size '" + value + "' is not a number");
      f.payload_bytes = static_cast<uint32_t>(v);
    } else if (key == "dscp") {
      if (!parse_uint(value, 255, &v)) return invalid(text, "dscp '" + value + "' is not a number");
      f.dscp = static_cast<uint8_t>(v);
    } else if (key == "port" && f.kind != ProbeKind::kIcmpEcho) {
      if (!parse_uint(value, 65535, &v))
        return invalid(text, "port '" + value + "' is not 1..65535");
      f.port = static_cast<uint16_t>(v);
    } else {
      return invalid(text, "unknown option '" + key + "'" +
                               (key == "port" ? " (an icmp flow has no port)" : ""));
    }
  }
  if (Status ok = validate_flow(f); !ok) return invalid(text, ok.error().message);
  return f;
}

Result<std::vector<FlowSpec>> parse_flows(const std::string& text) {
  std::vector<FlowSpec> out;
  for (const std::string& item : split(text, ',')) {
    if (item.empty()) continue;
    Result<FlowSpec> f = parse_flow(item);
    if (!f) return f.error();
    out.push_back(*f);
  }
  if (out.empty()) return make_error(ErrorKind::kInvalid, "no flow given (e.g. icmp=1ms,udp=1ms)");
  return out;
}

std::string flow_text(const FlowSpec& f) {
  if (f.kind == ProbeKind::kTcpStream) {
    std::string s = "tcp=" + byte_rate_text(f.rate_bytes_per_s);
    if (f.payload_bytes != 0) s += "/size=" + std::to_string(f.payload_bytes);
    if (f.dscp != 0) s += "/dscp=" + std::to_string(f.dscp);
    if (f.port != kDefaultReflectorPort) s += "/port=" + std::to_string(f.port);
    if (!f.echo) s += "/discard";
    return s;
  }
  std::string s = std::string(probe_kind_word(f.kind)) + "=" + duration_text(f.interval_ns);
  if (f.payload_bytes != 0) s += "/size=" + std::to_string(f.payload_bytes);
  if (f.dscp != 0) s += "/dscp=" + std::to_string(f.dscp);
  if (f.kind != ProbeKind::kIcmpEcho && f.port != kDefaultReflectorPort) {
    s += "/port=" + std::to_string(f.port);
  }
  if (f.reply_timeout_ns != 0) s += "/timeout=" + duration_text(f.reply_timeout_ns);
  return s;
}

}  // namespace migprobe::base
