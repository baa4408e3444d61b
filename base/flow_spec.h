#pragma once
// The one grammar of probe flows, the same in migprobe-dp's --target, migprobe-control's
// --flows and migprobe-dpctl, and the limits every flow is checked against, also those that
// arrive over the gRPC API:
//
//   FLOWS := FLOW (',' FLOW)*
//   FLOW  := KIND '=' RATE ('/' OPTION)*          KIND := icmp | udp | tcp-syn
//          | tcp '=' BYTE_RATE ('/' TCP_OPTION)*
//   OPTION := size=BYTES (L4 payload, the 18-byte trailer included) | dscp=0..63
//           | port=1..65535 (udp, tcp-syn; default 7077) | timeout=DURATION (its reply timeout)
//   TCP_OPTION := size=BYTES (payload per segment, 18..1460; default 1000) | dscp=0..63
//           | port=1..65535 (default 7077, migprobe-reflector's echo) | echo | discard
//   BYTE_RATE := NUMBER [k | M | G] [B]   bytes per second, decimal ("1M" = 1,000,000 B/s)
//
// RATE and DURATION as base/duration.h reads them: "icmp=1ms", "udp=2.5k/port=7078",
// "icmp=1000/dscp=46/timeout=200ms". A tcp flow is a TCP connection to an echo service
// (default; what comes back is checked) or a discard service: "tcp=1M", "tcp=200k/port=7".
// A tcp-syn flow sends SYNs to a port (at most 1,000 a second): the SYN-ACK or the reset
// is the reply, "tcp-syn=10ms/port=22".

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace migprobe::base {

// Probe kinds (the proto FlowKind values).
enum class ProbeKind : uint8_t { kIcmpEcho = 1, kUdpReflect = 2, kTcpStream = 3, kTcpSyn = 5 };

inline constexpr uint64_t kMinIntervalNs = 1'000;          // 1 Mpps
inline constexpr uint64_t kMaxIntervalNs = 1'000'000'000;  // 1 pps
inline constexpr uint32_t kMaxPayloadBytes = 1472;         // one 1500-byte IPv4 packet
inline constexpr uint32_t kTrailerBytes = 18;
inline constexpr uint16_t kDefaultReflectorPort = 7077;
inline constexpr uint64_t kMaxReplyTimeoutNs = 60'000'000'000;
inline constexpr uint64_t kMinSynIntervalNs = 1'000'000;  // tcp-syn: 1,000 SYNs a second
// TCP flows: bytes per second (1 kB/s to 1 GB/s) and payload per segment (one Ethernet frame).
inline constexpr uint64_t kMinTcpRate = 1'000;
inline constexpr uint64_t kMaxTcpRate = 1'000'000'000;
inline constexpr uint64_t kDefaultTcpRate = 1'000'000;  // the seed workload's stream
inline constexpr uint32_t kMaxTcpSegmentBytes = 1460;
inline constexpr uint32_t kDefaultTcpSegmentBytes = 1000;

// One probe flow.
struct FlowSpec {
  ProbeKind kind = ProbeKind::kIcmpEcho;
  uint64_t interval_ns = 1'000'000;  // icmp, udp
  // icmp, udp: 0 is the trailer only (the smallest frame); tcp: per segment, 0 is the default.
  uint32_t payload_bytes = 0;
  uint8_t dscp = 0;
  uint16_t port = kDefaultReflectorPort;
  // A reply later than this after its probe counts as lost; 0: the run's default.
  uint64_t reply_timeout_ns = 0;
  // tcp: bytes per second, and whether the service echoes (checked) or discards.
  uint64_t rate_bytes_per_s = 0;
  bool echo = true;
};

// The payload per segment of a tcp flow (its size, or the default).
inline uint32_t tcp_segment_bytes(const FlowSpec& f) {
  return f.payload_bytes != 0 ? f.payload_bytes : kDefaultTcpSegmentBytes;
}

// The kind a KIND word names; false for any other word.
bool parse_probe_kind(const std::string& word, ProbeKind* kind);
// "icmp", "udp", "tcp" or "tcp-syn".
const char* probe_kind_word(ProbeKind kind);

// Checks a flow against the limits; the error says which limit.
Status validate_flow(const FlowSpec& flow);
// One FLOW; the error names the text and what in it is wrong.
Result<FlowSpec> parse_flow(const std::string& text);
// FLOWS (at least one).
Result<std::vector<FlowSpec>> parse_flows(const std::string& text);
// A flow as FLOW text: what parse_flow reads back to the same flow.
std::string flow_text(const FlowSpec& flow);

}  // namespace migprobe::base
