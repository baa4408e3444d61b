#include "analysis/flow_tracker.h"

#include <cstddef>

#include "analysis/sequence.h"

namespace migprobe::analysis {

void FlowTracker::on_request(uint32_t seq, uint64_t tx_ns) {
  ++sent_;
  if (!requests_seen_) {
    requests_seen_ = true;
    first_req_seq_ = last_req_seq_ = seq;
    first_req_tx_ = last_req_tx_ = tx_ns;
    if (!started_) {
      anchor_seq_ = seq;
      anchor_tx_ = tx_ns;
      first_tx_ns_ = tx_ns;
    }
  } else if (seq_after(seq, last_req_seq_)) {
    last_req_seq_ = seq;
    last_req_tx_ = tx_ns;
  }
  if (tx_ns > last_tx_ns_) last_tx_ns_ = tx_ns;
}

FlowCounters FlowTracker::counters() const {
  FlowCounters c;
  c.sent = sent_;
  c.answered = answered_;
  c.lost = lost_;
  c.late = late_;
  c.duplicates = duplicates_;
  c.reordered = reordered_;
  c.rtt_min_ns = rtt_min_ns_;
  c.rtt_max_ns = rtt_max_ns_;
  c.rtt_sum_ns = rtt_sum_ns_;
  c.rtt_samples = answered_;
  c.first_tx_ns = first_tx_ns_;
  c.last_tx_ns = last_tx_ns_;
  return c;
}

void FlowTracker::record_rtt(uint64_t tx_ns, uint64_t rx_ns) {
  const uint64_t rtt = rx_ns - tx_ns;
  // Called after answered_ was counted: the first sample sets the minimum.
  if (answered_ == 1 || rtt < rtt_min_ns_) rtt_min_ns_ = rtt;
  if (rtt > rtt_max_ns_) rtt_max_ns_ = rtt;
  rtt_sum_ns_ += rtt;
}

void FlowTracker::materialize_bits() {
  const uint32_t run = hi_seq_ - bits_hi_;
  if (run >= kReorderWindow) {
    answered_bits_.fill(~uint64_t{0});
  } else {
    for (uint32_t s = bits_hi_ + 1; s != hi_seq_ + 1; ++s) {
      answered_bits_[(s % kReorderWindow) / 64] |= uint64_t{1} << (s % 64);
    }
  }
  bits_hi_ = hi_seq_;
}

void FlowTracker::mark_answered(uint32_t seq) {
  if (seq_after(seq, bits_hi_)) return;  // in the in-order run: answered already
  answered_bits_[(seq % kReorderWindow) / 64] |= uint64_t{1} << (seq % 64);
}

bool FlowTracker::is_answered(uint32_t seq) const {
  if (seq_after(seq, bits_hi_)) return true;
  return (answered_bits_[(seq % kReorderWindow) / 64] >> (seq % 64)) & 1;
}

void FlowTracker::on_reply(const TrackerConfig& cfg, uint32_t seq, uint64_t tx_ns, uint64_t rx_ns,
                           bool has_count, uint32_t count) {
  if (rx_ns - tx_ns > cfg.reply_timeout_ns) {
    // Too late to count as an answer: the probe stays lost, as it would live.
    ++late_;
    return;
  }
  if (!started_) {
    started_ = true;
    hi_seq_ = bits_hi_ = seq;
    hi_tx_ = tx_ns;
    hi_has_count_ = has_count;
    hi_count_ = count;
    if (!requests_seen_) {
      anchor_seq_ = seq;
      anchor_tx_ = tx_ns;
      first_tx_ns_ = tx_ns;
    } else if (seq_after(seq, first_req_seq_)) {
      // Probes sent before the first answered one: a gap open at its start, unless
      // reordered replies still fill it.
      Edge a{first_req_seq_ - 1, first_req_tx_, 0, false, 0};
      pending_.push_back(PendingGap{a, Edge{seq, tx_ns, rx_ns, has_count, count}, true});
      record_pending();
    }
    mark_answered(seq);
    ++answered_;
    record_rtt(tx_ns, rx_ns);
    if (tx_ns > last_tx_ns_) last_tx_ns_ = tx_ns;
    return;
  }

  const int64_t d = seq_distance(seq, hi_seq_);
  if (d == 1) {
    // In order, the common case: line 0 only. The bitmap learns of this run when something
    // needs it; a run longer than the window is cut so that its length never wraps.
    hi_seq_ = seq;
    if (hi_seq_ - bits_hi_ >= 2 * kReorderWindow) bits_hi_ = hi_seq_ - kReorderWindow;
  } else if (d > 1) {
    materialize_bits();
    // The newest answered probe's rx time is never an edge's: only b's rx is reported.
    pending_.push_back(PendingGap{Edge{hi_seq_, hi_tx_, 0, hi_has_count_, hi_count_},
                                  Edge{seq, tx_ns, rx_ns, has_count, count}});
    record_pending();
    // Slide the window: seqs hi+1 .. seq enter it and must read as unanswered.
    if (d >= kReorderWindow) {
      answered_bits_.fill(0);
    } else {
      for (uint32_t s = hi_seq_ + 1; s != seq; ++s) {
        answered_bits_[(s % kReorderWindow) / 64] &= ~(uint64_t{1} << (s % 64));
      }
    }
    hi_seq_ = bits_hi_ = seq;
    mark_answered(seq);
  } else if (d == 0) {
    ++duplicates_;
    return;
  } else {
    // An older probe: it fills a hole of a pending gap, or it was answered already (a
    // duplicate). Else it is outside the window and no pending gap holds it: a reply to a
    // probe from before the first answered one, or a replayed one, which cannot change any
    // gap; it counts as reordered like the first kind.
    const bool filled = fill_pending(Edge{seq, tx_ns, rx_ns, has_count, count});
    if (!filled && -d < kReorderWindow && is_answered(seq)) {
      ++duplicates_;
      return;
    }
    ++reordered_;
    if (-d < kReorderWindow) mark_answered(seq);
    ++answered_;
    record_rtt(tx_ns, rx_ns);
    return;
  }
  hi_tx_ = tx_ns;
  hi_has_count_ = has_count;
  hi_count_ = count;
  if (tx_ns > last_tx_ns_) last_tx_ns_ = tx_ns;
  ++answered_;
  record_rtt(tx_ns, rx_ns);
}

bool FlowTracker::fill_pending(const Edge& e) {
  for (size_t i = 0; i < pending_.size(); ++i) {
    PendingGap& g = pending_[i];
    if (!seq_after(e.seq, g.a.seq) || !seq_after(g.b.seq, e.seq)) continue;
    // For an open start, a is the virtual probe before the first one sent: e touching it
    // is the first probe, answered late, and the gap now starts at a real answered probe.
    const bool touches_a = e.seq == g.a.seq + 1;
    const bool touches_b = e.seq + 1 == g.b.seq;
    if (touches_a && touches_b) {
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
      record_pending();
    } else if (touches_a) {
      g.a = e;
      g.open_start = false;
    } else if (touches_b) {
      g.b = e;
    } else {
      // Split: the left part keeps an open start, the right part is bounded by e.
      PendingGap right{e, g.b, false};
      g.b = e;
      pending_.insert(pending_.begin() + static_cast<std::ptrdiff_t>(i) + 1, right);
    }
    return true;
  }
  return false;
}

uint64_t FlowTracker::interval_ns() const {
  if (interval_ns_ != 0) return interval_ns_;
  // Probes are paced by absolute deadlines, so the mean spacing from the first probe seen
  // to the newest one is the interval, without drift.
  const uint32_t newest_seq =
      requests_seen_ && seq_after(last_req_seq_, hi_seq_) ? last_req_seq_ : hi_seq_;
  const uint64_t newest_tx = newest_seq == hi_seq_ && started_ ? hi_tx_ : last_req_tx_;
  const int64_t n = seq_distance(newest_seq, anchor_seq_);
  if (n <= 0 || newest_tx <= anchor_tx_) return 0;
  return (newest_tx - anchor_tx_) / static_cast<uint64_t>(n);
}

void FlowTracker::emit(const TrackerConfig& cfg, const PendingGap& g, std::vector<Gap>* out) {
  Gap gap;
  gap.flow_id = flow_id_;
  gap.seq_before = g.a.seq;
  gap.seq_after = g.b.seq;
  gap.lost = g.b.seq - g.a.seq - 1;
  gap.tx_before_ns = g.a.tx_ns;
  gap.tx_after_ns = g.b.tx_ns;
  gap.rx_after_ns = g.b.rx_ns;
  gap.interval_ns = interval_ns();
  const uint64_t span = g.b.tx_ns - g.a.tx_ns;
  const uint64_t delta = gap.interval_ns;
  if (g.open_start) {
    // a is virtual (the probe before the first one seen): the outage lasted at least from
    // the first unanswered probe to the last one, tx(b-1) - tx(first).
    gap.open_start = true;
    const uint64_t first_to_b = g.b.tx_ns - (g.a.tx_ns);
    gap.lower_ns = first_to_b > delta ? first_to_b - delta : 0;
    gap.estimate_ns = gap.lower_ns;
    gap.upper_ns = 0;
    gap.tx_before_ns = 0;
  } else {
    gap.upper_ns = span;
    gap.estimate_ns = span > delta ? span - delta : 0;
    gap.lower_ns = span > 2 * delta ? span - 2 * delta : 0;
  }
  gap.outage = gap.estimate_ns >= cfg.outage_threshold_ns;
  if (g.a.has_count && g.b.has_count) {
    // The reflector counted every probe it received: those of the gap reached the guest
    // and their replies were lost on the way back.
    const uint32_t delivered = g.b.count - g.a.count - 1;
    if (delivered <= gap.lost) {
      gap.has_direction = true;
      gap.return_lost = delivered;
      gap.forward_lost = gap.lost - delivered;
    }
  }
  lost_ += gap.lost;
  out->push_back(gap);
}

void FlowTracker::settle(const TrackerConfig& cfg, uint64_t now_ns, bool all,
                         std::vector<Gap>* out) {
  size_t done = 0;
  // Any reply to a probe inside a gap would have been sent before b, so it is late once
  // the reply timeout has passed since tx(b).
  for (; done < pending_.size(); ++done) {
    const uint64_t tx_b = pending_[done].b.tx_ns;
    if (!all && (now_ns < tx_b || now_ns - tx_b <= cfg.reply_timeout_ns)) break;
    emit(cfg, pending_[done], out);
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
  record_pending();
}

void FlowTracker::finish(const TrackerConfig& cfg, uint64_t end_ns, std::vector<Gap>* out) {
  settle(cfg, end_ns, true, out);
  if (!requests_seen_) return;
  // Probes sent within a reply timeout of the end may still have been answered after the
  // capture stopped: only older ones count.
  const uint64_t delta = interval_ns();
  uint32_t last = last_req_seq_;
  uint64_t last_tx = last_req_tx_;
  if (end_ns - last_tx < cfg.reply_timeout_ns || end_ns < last_tx) {
    if (delta == 0) return;
    const uint64_t horizon = end_ns > cfg.reply_timeout_ns ? end_ns - cfg.reply_timeout_ns : 0;
    if (horizon < first_req_tx_) return;
    const uint64_t back = (last_tx - horizon + delta - 1) / delta;
    last -= static_cast<uint32_t>(back);
    last_tx -= back * delta;
  }
  const bool any_answer = started_;
  const uint32_t from = any_answer ? hi_seq_ : first_req_seq_ - 1;
  if (!seq_after(last, from)) return;
  Gap gap;
  gap.flow_id = flow_id_;
  gap.seq_before = from;
  gap.seq_after = last + 1;
  gap.lost = last - from;
  gap.tx_before_ns = any_answer ? hi_tx_ : 0;
  gap.interval_ns = delta;
  gap.open_end = true;
  gap.open_start = !any_answer;
  // At least from the first unanswered probe to the last one that had time to be answered.
  const uint64_t first_unanswered_tx = any_answer ? hi_tx_ + delta : first_req_tx_;
  gap.lower_ns = last_tx > first_unanswered_tx ? last_tx - first_unanswered_tx : 0;
  gap.estimate_ns = gap.lower_ns;
  gap.outage = gap.estimate_ns >= cfg.outage_threshold_ns;
  lost_ += gap.lost;
  out->push_back(gap);
}

}  // namespace migprobe::analysis
