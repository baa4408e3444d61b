#pragma once
// Simulates one probe flow on the wire: requests every interval, replies one round trip
// later, except where an outage drops them. The outages are the truth the capture is
// generated from, so the gaps a correct analyzer must find are known exactly.
//
// Time frame of an outage: send times. A probe sent in [start_ns, end_ns) is lost; the
// event on the path happened one forward delay later, a constant shift that the probe
// cannot see and DESIGN.md's bounds do not need.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pcaps/gen/frames.h"
#include "pcaps/gen/timeline.h"

namespace migprobe::pcapgen {

enum class ProbeKind : uint8_t {
  kIcmpEcho,
  kUdpReflect,
  // Linux ping: no trailer, a 16-byte timeval then the bytes 0x10, 0x11, ...
  kForeignPing,
};

// Which way an outage drops packets.
enum class Direction : uint8_t {
  // The VM is paused or unreachable: requests never reach it (the reflector does not count
  // them), so no reply either.
  kBoth,
  // Requests lost before the reflector; same effect as kBoth on the wire, named apart so
  // the truth says what was meant.
  kForward,
  // Requests reach the reflector (it counts them), replies are lost on the way back.
  kReturn,
};

struct Outage {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  Direction direction = Direction::kBoth;
};

// Everything that defines one flow of a scenario.
struct FlowSpec {
  uint32_t flow_id = 1;
  ProbeKind kind = ProbeKind::kIcmpEcho;
  Endpoint probe;
  Endpoint target;
  FrameOptions frame;
  uint8_t generation = 1;
  uint64_t interval_ns = 100'000;
  uint64_t first_tx_ns = 0;
  uint32_t first_seq = 0;
  uint32_t count = 0;
  // One-way delays: fixed forward, return plus a uniform jitter below return_jitter_ns.
  uint64_t forward_delay_ns = 20'000;
  uint64_t return_delay_ns = 25'000;
  uint64_t return_jitter_ns = 10'000;
  // ICMP id of foreign pings (probes use the low 16 bits of the flow id).
  uint16_t ping_id = 0;
  std::vector<Outage> outages;
  // Probe index -> extra delay of its reply (reordering).
  std::map<uint32_t, uint64_t> reply_extra_delay;
  // Probe index -> a second copy of its reply, this long after the first (duplicates).
  std::map<uint32_t, uint64_t> duplicate_reply_after;
};

// A gap the flow's outages put in the capture: what a correct analyzer must report.
struct TruthGap {
  uint32_t flow_id = 0;
  uint32_t first_lost_seq = 0;
  uint32_t last_lost_seq = 0;
  uint32_t lost = 0;
  uint32_t forward_lost = 0;
  uint32_t return_lost = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  // The outage began before the first probe or outlasted the last one.
  bool open_start = false;
  bool open_end = false;
  std::string direction;
  // The migration the gap belongs to ("vm-1#2"), when the scenario has a journal; "-" for
  // a gap outside every migration.
  std::string migration;
};

// Small, fully specified PRNG (splitmix64): the standard distributions are not the same
// across library implementations, so they would break byte-identical regeneration.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, bound) (bound > 0; the modulo bias is irrelevant here).
  uint64_t below(uint64_t bound) { return next() % bound; }

 private:
  uint64_t state_;
};

// One flow being generated, probe by probe.
class ProbeFlow {
 public:
  ProbeFlow(FlowSpec spec, uint64_t seed) : spec_(std::move(spec)), rng_(seed) {}

  bool done() const { return next_ >= spec_.count; }
  uint64_t next_tx_ns() const { return spec_.first_tx_ns + next_ * spec_.interval_ns; }
  // Adds the next request, and its reply unless an outage drops it, to the timeline.
  void emit_next(Timeline* timeline);
  // The gaps the outages cause (independent of how far generation got).
  std::vector<TruthGap> truth() const;
  const FlowSpec& spec() const { return spec_; }
  uint64_t sent() const { return next_; }
  uint64_t answered() const { return answered_; }

 private:
  Frame request(uint32_t seq, uint64_t tx_ns);
  Frame reply(uint32_t seq, uint64_t tx_ns);
  const Outage* outage_at(uint64_t tx_ns) const;

  FlowSpec spec_;
  Rng rng_;
  uint32_t next_ = 0;
  uint64_t answered_ = 0;
  uint32_t reflector_count_ = 0;
  uint16_t guest_ip_id_ = 0x4000;
};

// Runs flows to completion in send-time order, merged into one timeline.
bool run_flows(std::vector<ProbeFlow>* flows, Timeline* timeline);

std::string direction_name(Direction d);

}  // namespace migprobe::pcapgen
