#pragma once
// A simulated probe flow for the gap arithmetic tests: probes on a fixed grid, outages in
// send time, reordered and duplicated replies, fed through FlowTracker in arrival order;
// and the check of every reported gap against the outages that made it (DESIGN.md
// "Downtime": same probes, bounds that contain the true outage, estimate within one
// interval; open gaps at the ends of a capture give floors only).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "analysis/flow_tracker.h"

namespace migprobe::analysis::flow_sim {

inline constexpr uint64_t kBase = 1'767'225'600'000'000'000ULL;
inline constexpr uint64_t kUs = 1000;
inline constexpr uint64_t kMs = 1'000'000;

// An interval of send times in which probes are lost.
struct Outage {
  uint64_t start_ns;
  uint64_t end_ns;
  // Lost after the reflector counted the probe (reply lost), else before it.
  bool return_only = false;
};

// A flow to simulate.
struct FlowSim {
  uint64_t interval_ns = 100 * kUs;
  uint32_t first_seq = 0;
  uint32_t count = 1000;
  std::vector<Outage> outages;
  bool requests_visible = true;
  bool reflector = false;
  // Pass the interval to the tracker, or let it measure it.
  bool configure_interval = false;
  // Probability (per mille) that a reply is delayed by up to max_extra_ns, or duplicated.
  int reorder_permille = 0;
  uint64_t max_extra_ns = 0;
  int dup_permille = 0;
  uint64_t max_dup_after_ns = 0;
  uint64_t reply_timeout_ns = 1'000 * kMs;
};

// A run of lost probes the outages caused.
struct LostRun {
  uint32_t first;  // probe index
  uint32_t last;
  const Outage* outage;
};

struct SimResult {
  std::vector<Gap> gaps;
  FlowCounters counters;
  std::vector<LostRun> runs;
  uint64_t end_ns = 0;
  uint64_t duplicates_sent = 0;
  uint64_t delivered = 0;
};

inline uint64_t tx_of(const FlowSim& s, uint32_t i) {
  return kBase + uint64_t{i} * s.interval_ns;
}

inline const Outage* outage_at(const FlowSim& s, uint64_t tx) {
  for (const Outage& o : s.outages) {
    if (tx >= o.start_ns && tx < o.end_ns) return &o;
  }
  return nullptr;
}

inline SimResult simulate(const FlowSim& s, std::mt19937_64& rng) {
  struct Event {
    uint64_t t;
    uint64_t order;
    bool request;
    uint32_t seq;
    uint64_t tx;
    uint32_t count;
  };
  std::vector<Event> events;
  SimResult r;
  uint32_t reflector_count = 0;
  uint64_t order = 0;
  for (uint32_t i = 0; i < s.count; ++i) {
    const uint64_t tx = tx_of(s, i);
    const uint32_t seq = s.first_seq + i;
    if (s.requests_visible) events.push_back({tx, order++, true, seq, tx, 0});
    const Outage* o = outage_at(s, tx);
    if (o == nullptr || o->return_only) ++reflector_count;
    if (o != nullptr) {
      if (!r.runs.empty() && r.runs.back().last + 1 == i && r.runs.back().outage == o) {
        r.runs.back().last = i;
      } else {
        r.runs.push_back({i, i, o});
      }
      continue;
    }
    ++r.delivered;
    uint64_t rx = tx + 20 * kUs + rng() % (40 * kUs);
    if (s.reorder_permille && static_cast<int>(rng() % 1000) < s.reorder_permille) {
      rx += rng() % (s.max_extra_ns + 1);
    }
    events.push_back({rx, order++, false, seq, tx, reflector_count});
    if (s.dup_permille && static_cast<int>(rng() % 1000) < s.dup_permille) {
      events.push_back(
          {rx + 1 + rng() % s.max_dup_after_ns, order++, false, seq, tx, reflector_count});
      ++r.duplicates_sent;
    }
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.t != b.t ? a.t < b.t : a.order < b.order;
  });
  TrackerConfig cfg;
  cfg.reply_timeout_ns = s.reply_timeout_ns;
  cfg.outage_threshold_ns = 1 * kMs;
  FlowTracker tracker(7, s.configure_interval ? s.interval_ns : 0);
  for (const Event& e : events) {
    if (e.request) {
      tracker.on_request(e.seq, e.tx);
    } else {
      tracker.on_reply(cfg, e.seq, e.tx, e.t, s.reflector, e.count);
    }
    tracker.advance(cfg, e.t, &r.gaps);
  }
  r.end_ns = events.empty() ? 0 : events.back().t;
  tracker.finish(cfg, r.end_ns, &r.gaps);
  r.counters = tracker.counters();
  return r;
}

inline std::string describe(const FlowSim& s, uint64_t seed) {
  std::string d = "seed " + std::to_string(seed) + " interval " + std::to_string(s.interval_ns) +
                  " first_seq " + std::to_string(s.first_seq) + " count " +
                  std::to_string(s.count) + " requests " + std::to_string(s.requests_visible) +
                  " outages";
  for (const Outage& o : s.outages) {
    d += " [" + std::to_string(static_cast<int64_t>(o.start_ns - kBase)) + "," +
         std::to_string(static_cast<int64_t>(o.end_ns - kBase)) + ")";
  }
  return d;
}

inline const Gap* find_gap(const std::vector<Gap>& gaps, uint32_t seq_before) {
  for (const Gap& g : gaps) {
    if (g.seq_before == seq_before) return &g;
  }
  return nullptr;
}

// How many gaps of each kind were checked, so that a property test cannot pass vacuously.
struct Checked {
  size_t closed = 0;
  size_t open_start = 0;
  size_t open_end = 0;
};

// Checks every reported gap against the runs of lost probes; returns the gaps expected.
inline size_t check_against_truth(const FlowSim& s, const SimResult& r, const std::string& what,
                                  Checked* checked = nullptr) {
  Checked local;
  if (checked == nullptr) checked = &local;
  size_t expected = 0;
  const uint64_t delta = s.interval_ns;
  for (const LostRun& run : r.runs) {
    const uint64_t true_ns = run.outage->end_ns - run.outage->start_ns;
    const uint32_t before = s.first_seq + run.first - 1;
    const uint32_t lost = run.last - run.first + 1;
    const bool at_start = run.first == 0;
    const bool at_end = run.last == s.count - 1;
    if (!at_start && !at_end) {
      ++expected;
      ++checked->closed;
      const Gap* g = find_gap(r.gaps, before);
      if (g == nullptr) {
        ADD_FAILURE() << what << ": no gap after seq " << before;
        continue;
      }
      EXPECT_EQ(g->seq_after, s.first_seq + run.last + 1) << what;
      EXPECT_EQ(g->lost, lost) << what;
      EXPECT_FALSE(g->open_start || g->open_end) << what;
      EXPECT_EQ(g->interval_ns, delta) << what;
      // DESIGN.md: the outage lies within [tx(b-1) - tx(a+1), tx(b) - tx(a)] ...
      EXPECT_LE(g->lower_ns, true_ns) << what;
      EXPECT_GE(g->upper_ns, true_ns) << what;
      EXPECT_EQ(g->upper_ns, uint64_t{lost + 1} * delta) << what;
      EXPECT_EQ(g->lower_ns, uint64_t{lost - 1} * delta) << what;
      // ... and the estimate, the midpoint, is within one interval of the truth.
      const uint64_t err =
          g->estimate_ns > true_ns ? g->estimate_ns - true_ns : true_ns - g->estimate_ns;
      EXPECT_LE(err, delta) << what;
      EXPECT_EQ(g->outage, g->estimate_ns >= 1 * kMs) << what;
      if (s.reflector) {
        EXPECT_TRUE(g->has_direction) << what;
        EXPECT_EQ(g->return_lost, run.outage->return_only ? lost : 0) << what;
        EXPECT_EQ(g->forward_lost, run.outage->return_only ? 0 : lost) << what;
      } else {
        EXPECT_FALSE(g->has_direction) << what;
      }
    } else if (!s.requests_visible) {
      // Without the requests, nothing tells the tracker that probes were sent before the
      // first reply or after the last one.
    } else if (at_start && !at_end) {
      ++expected;
      ++checked->open_start;
      const Gap* g = find_gap(r.gaps, s.first_seq - 1);
      if (g == nullptr) {
        ADD_FAILURE() << what << ": no gap at the start";
        continue;
      }
      EXPECT_TRUE(g->open_start) << what;
      EXPECT_FALSE(g->open_end) << what;
      EXPECT_EQ(g->seq_after, s.first_seq + run.last + 1) << what;
      EXPECT_EQ(g->lost, lost) << what;
      // The outage began before the capture: only a floor is known, and it must hold.
      EXPECT_LE(g->lower_ns, true_ns) << what;
      EXPECT_EQ(g->lower_ns, uint64_t{lost - 1} * delta) << what;
    } else if (at_end && !at_start) {
      // Probes sent less than a reply timeout before the end may still be answered.
      const uint64_t horizon = r.end_ns - s.reply_timeout_ns;
      uint32_t counted = 0;
      for (uint32_t i = run.first; i <= run.last; ++i) counted += tx_of(s, i) <= horizon;
      if (counted == 0) continue;
      ++expected;
      ++checked->open_end;
      const Gap* g = find_gap(r.gaps, before);
      if (g == nullptr) {
        ADD_FAILURE() << what << ": no gap at the end";
        continue;
      }
      EXPECT_TRUE(g->open_end) << what;
      EXPECT_FALSE(g->open_start) << what;
      EXPECT_EQ(g->lost, counted) << what;
      EXPECT_LE(g->lower_ns, true_ns) << what;
      EXPECT_EQ(g->lower_ns, uint64_t{counted - 1} * delta) << what;
    }
  }
  return expected;
}

// Random outages: up to three inside the flow, sometimes one over each end, always
// separated by answered probes so each makes its own gap.
inline std::vector<Outage> random_outages(const FlowSim& s, std::mt19937_64& rng, bool edges) {
  std::vector<Outage> out;
  const uint64_t first = tx_of(s, 0);
  const uint64_t last = tx_of(s, s.count - 1);
  const uint64_t d = s.interval_ns;
  uint64_t t = first;
  if (edges && rng() % 3 == 0) {
    const uint64_t len = d / 2 + rng() % (40 * d);
    const uint64_t start = first - rng() % (10 * d) - 1;
    out.push_back({start, first + len, rng() % 2 == 0});
    t = first + len;
  }
  const int inner = static_cast<int>(rng() % 4);
  for (int k = 0; k < inner; ++k) {
    t += 2 * d + rng() % (s.count / 4 * d);
    const uint64_t len = d / 2 + rng() % (120 * d);
    if (t + len + 2 * d >= last) break;
    out.push_back({t, t + len, rng() % 2 == 0});
    t += len;
  }
  if (edges && rng() % 3 == 0) {
    const uint64_t start = std::max(t + 2 * d, last - rng() % (150 * d));
    if (start + d < last) out.push_back({start, last + 1 + rng() % (10 * d), rng() % 2 == 0});
  }
  return out;
}

}  // namespace migprobe::analysis::flow_sim
