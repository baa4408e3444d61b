#pragma once
// Per-flow sequence tracking: loss, reordering, duplicates, late replies, RTT, and gaps with
// the downtime estimate and bounds of DESIGN.md. The same code runs live in the dataplane
// (one tracker per flow, owned by the RX core) and offline in migprobe-analyze.

#include <array>
#include <cstdint>
#include <vector>

#include "analysis/gap.h"

namespace migprobe::analysis {

// Settings shared by all flows of a run.
struct TrackerConfig {
  // A reply later than this after its probe was sent counts as lost ("late").
  uint64_t reply_timeout_ns = 1'000'000'000;
  // Gaps whose estimate reaches this are outages; shorter ones are isolated losses.
  uint64_t outage_threshold_ns = 1'000'000;
};

// Counters of one flow.
struct FlowCounters {
  uint64_t sent = 0;
  uint64_t answered = 0;
  uint64_t lost = 0;
  uint64_t late = 0;
  uint64_t duplicates = 0;
  uint64_t reordered = 0;
  uint64_t rtt_min_ns = 0;
  uint64_t rtt_max_ns = 0;
  uint64_t rtt_sum_ns = 0;
  uint64_t rtt_samples = 0;
  uint64_t first_tx_ns = 0;
  uint64_t last_tx_ns = 0;
};

// Tracks one flow. Feed it requests (when they are visible) and replies in arrival order;
// finished gaps are appended to the vector passed to advance() and finish().
//
// Layout: a reply in order (the next sequence after the newest answered one) reads and
// writes the first cache line only, so a probe with 100,000 flows costs one tracker line per
// reply; the reorder bitmap and what requests, gaps and reports use lie in lines of their own.
class alignas(64) FlowTracker {
 public:
  // Replies up to this many probes behind the newest answered one are checked for
  // duplicates exactly; older ones outside any pending gap count as reordered.
  static constexpr uint32_t kReorderWindow = 512;

  FlowTracker() = default;
  // interval_ns = 0 measures the probe interval from the send timestamps.
  FlowTracker(uint32_t flow_id, uint64_t interval_ns)
      : interval_ns_(interval_ns), flow_id_(flow_id) {}

  // A probe was sent (seen in a capture, or by the TX core).
  void on_request(uint32_t seq, uint64_t tx_ns);
  // A valid reply to probe seq, sent at tx_ns, arrived at rx_ns. has_count/count carry
  // the reflector's receive counter when the reply has one.
  void on_reply(const TrackerConfig& cfg, uint32_t seq, uint64_t tx_ns, uint64_t rx_ns,
                bool has_count, uint32_t count);
  // Emits every pending gap that no reply can still fill at time now_ns.
  void advance(const TrackerConfig& cfg, uint64_t now_ns, std::vector<Gap>* out) {
    if (has_pending_) settle(cfg, now_ns, false, out);
  }
  // End of the capture or run at end_ns: emits all pending gaps and an open gap for probes
  // sent at least a reply timeout before the end and never answered.
  void finish(const TrackerConfig& cfg, uint64_t end_ns, std::vector<Gap>* out);

  // The interval used for estimates: configured, or measured from the send timestamps.
  uint64_t interval_ns() const;
  // The counters, gathered from the hot and the cold parts.
  FlowCounters counters() const;
  uint64_t rtt_max_ns() const { return rtt_max_ns_; }
  uint32_t flow_id() const { return flow_id_; }
  bool has_pending() const { return has_pending_; }
  // Send time of the newest answered probe (0 before the first reply): live "outage in
  // progress" checks compare it with the clock.
  uint64_t newest_answered_tx_ns() const { return started_ ? hi_tx_ : 0; }

 private:
  // One end of a pending gap: an answered probe.
  struct Edge {
    uint32_t seq = 0;
    uint64_t tx_ns = 0;
    uint64_t rx_ns = 0;
    bool has_count = false;
    uint32_t count = 0;
  };
  // A run of unanswered probes (a.seq, b.seq) that a reordered reply may still fill.
  struct PendingGap {
    Edge a;
    Edge b;
    bool open_start = false;
  };

  void settle(const TrackerConfig& cfg, uint64_t now_ns, bool all, std::vector<Gap>* out);
  void emit(const TrackerConfig& cfg, const PendingGap& g, std::vector<Gap>* out);
  // Fills probe seq inside a pending gap; false when no pending gap holds it.
  bool fill_pending(const Edge& e);
  // Writes the in-order run (bits_hi_, hi_seq_] into the bitmap, before anything that
  // needs the bits themselves (a hole, a reordered reply).
  void materialize_bits();
  void mark_answered(uint32_t seq);
  bool is_answered(uint32_t seq) const;
  void record_rtt(uint64_t tx_ns, uint64_t rx_ns);
  void record_pending() { has_pending_ = !pending_.empty(); }

  // Line 0: the in-order reply path. rtt samples = answered (one per answer).
  uint64_t hi_tx_ = 0;  // newest answered probe
  uint64_t answered_ = 0;
  uint64_t rtt_min_ns_ = 0;
  uint64_t rtt_max_ns_ = 0;
  uint64_t rtt_sum_ns_ = 0;
  uint64_t last_tx_ns_ = 0;  // newest send time seen, request or reply
  uint32_t hi_seq_ = 0;
  uint32_t hi_count_ = 0;
  // The bitmap holds seqs up to bits_hi_; (bits_hi_, hi_seq_] came in order, all answered.
  // hi_seq_ - bits_hi_ stays below 2 * kReorderWindow.
  uint32_t bits_hi_ = 0;
  bool started_ = false;
  bool hi_has_count_ = false;
  // !pending_.empty(), kept in line 0: the RX core (after each reply) and the analyzer
  // (advance() per packet) ask it, and pending_ lies in the cold lines.
  bool has_pending_ = false;

  // Line 1: bit (seq % kReorderWindow) is set when seq, within the window behind hi and at
  // or before bits_hi_, was answered.
  alignas(64) std::array<uint64_t, kReorderWindow / 64> answered_bits_{};

  // Cold: requests, the interval, gaps in the making, the rarer counters.
  alignas(64) uint64_t interval_ns_ = 0;
  // First probe seen (request or reply): anchor for measuring the interval.
  uint64_t anchor_tx_ = 0;
  // First and newest probe seen sent.
  uint64_t first_req_tx_ = 0;
  uint64_t last_req_tx_ = 0;
  uint32_t anchor_seq_ = 0;
  uint32_t first_req_seq_ = 0;
  uint32_t last_req_seq_ = 0;
  uint32_t flow_id_ = 0;
  std::vector<PendingGap> pending_;
  uint64_t sent_ = 0;
  uint64_t lost_ = 0;
  uint64_t late_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t reordered_ = 0;
  uint64_t first_tx_ns_ = 0;
  bool requests_seen_ = false;
};

}  // namespace migprobe::analysis
