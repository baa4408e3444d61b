#pragma once
// Targets and their probe flows as the dataplane holds them, and the command-line syntax
// for them:
//
//   TARGET := ITEM (',' ITEM)*
//   ITEM   := IP | name=NAME | ip=IP | mac=MAC | vlan=N
//           | icmp=RATE['/'OPT]* | udp=RATE['/'OPT]*
//   RATE   := pps ("1000", "2.5k", "1M") or an interval ("1ms", "250us", "2s")
//   OPT    := size=BYTES (L4 payload, trailer included) | dscp=N | port=N (udp)
//           | timeout=DURATION (reply timeout, "500ms"; default --reply-timeout-ms)
//
// e.g. "name=vm1,10.78.0.11,icmp=1000,udp=1ms/dscp=46/port=7077/timeout=200ms".

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/classify.h"
#include "analysis/packet.h"

namespace migprobe::dataplane {

// Probe kinds the dataplane sends (proto FlowKind values): the detector's own.
using ProbeKind = analysis::ProbeKind;

inline constexpr uint64_t kMinIntervalNs = 1'000;          // 1 Mpps
inline constexpr uint64_t kMaxIntervalNs = 1'000'000'000;  // 1 pps
inline constexpr uint32_t kMaxPayloadBytes = 1472;         // one 1500-byte IPv4 packet
inline constexpr uint16_t kDefaultReflectorPort = 7077;
inline constexpr uint64_t kMaxReplyTimeoutNs = 60'000'000'000;  // as --reply-timeout-ms

// One flow of a target.
struct FlowParams {
  ProbeKind kind = ProbeKind::kIcmpEcho;
  uint64_t interval_ns = 1'000'000;
  uint32_t payload_bytes = 0;  // 0: the trailer only (smallest frame)
  uint8_t dscp = 0;
  uint16_t port = kDefaultReflectorPort;
  // A reply later than this after its probe counts as lost; 0: the run's default.
  uint64_t reply_timeout_ns = 0;
};

// One target VM.
struct TargetParams {
  std::string name;
  uint32_t ip = 0;  // host order
  std::optional<analysis::MacAddress> mac;
  uint16_t vlan = 0;
  std::vector<FlowParams> flows;
};

// Checks the ranges of a flow; empty when valid, else what is wrong.
std::string validate_flow(const FlowParams& f);

// Parses one TARGET; on error returns nullopt and sets *error to a message naming the text
// and the faulty item.
std::optional<TargetParams> parse_target(const std::string& text, std::string* error);

// Parses a RATE into an interval in ns; nullopt when it does not parse.
std::optional<uint64_t> parse_rate(const std::string& text);

}  // namespace migprobe::dataplane
