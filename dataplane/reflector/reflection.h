#pragma once
// The reflector's logic, apart from its socket: turns a probe payload into a reply ("mr"
// magic, the reflector's own per-flow receive counter appended after the trailer), keeping
// one counter per (source address, flow id). Tested without a network.

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace migprobe::reflector {

// Who sent a flow: the probe's address (IPv4 in the first 4 bytes, or IPv6) and its flow id.
struct FlowKey {
  std::array<uint8_t, 16> addr{};
  uint32_t flow_id = 0;
  bool operator==(const FlowKey&) const = default;
};

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const;
};

// Why a datagram got no reply.
enum class Verdict : uint8_t {
  kReply,
  // Not a migprobe probe (no "mp" magic): ignored, never answered.
  kNotProbe,
  // Magic present but too short or of an unknown format version.
  kMalformed,
  // The reply buffer is too small.
  kNoRoom,
};

// Counters of one reflector, for its exit report.
struct ReflectorCounters {
  uint64_t replied = 0;
  uint64_t not_probe = 0;
  uint64_t malformed = 0;
  uint64_t flows_evicted = 0;
};

// Per-flow receive counters and the reply builder.
class Reflection {
 public:
  // At most this many flows are remembered; past it the table starts over (counters restart
  // at 1, which the analysis sees as a counter reset, never as loss).
  explicit Reflection(size_t max_flows = 65536) : max_flows_(max_flows) {}

  // Builds the reply to payload (len bytes) from src into out (cap bytes). Returns the
  // verdict and, for kReply, the reply length in *out_len.
  Verdict reflect(const FlowKey& src, const uint8_t* payload, size_t len, uint8_t* out, size_t cap,
                  size_t* out_len);

  const ReflectorCounters& counters() const { return counters_; }
  size_t flows() const { return table_.size(); }

 private:
  size_t max_flows_;
  std::unordered_map<FlowKey, uint32_t, FlowKeyHash> table_;
  ReflectorCounters counters_;
};

}  // namespace migprobe::reflector
