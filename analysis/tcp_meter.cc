#include "analysis/tcp_meter.h"

#include <algorithm>

#include "analysis/sequence.h"

namespace migprobe::analysis {

namespace {

// b - a for sequences with b not before a; 0 otherwise.
uint64_t seq_span(uint32_t a, uint32_t b) {
  const int64_t d = seq_distance(b, a);
  return d > 0 ? static_cast<uint64_t>(d) : 0;
}

}  // namespace

TcpSegmentInfo tcp_segment_info(const ParsedPacket& p, uint64_t ts_ns, bool from_opener) {
  TcpSegmentInfo s;
  s.ts_ns = ts_ns;
  s.from_opener = from_opener;
  s.flags = p.tcp_flags;
  s.seq = p.tcp_seq;
  s.ack = p.tcp_ack;
  s.len = p.tcp_len;
  s.window = p.tcp_window;
  if ((p.tcp_flags & kTcpSyn) != 0) s.wscale = p.tcp_wscale;
  return s;
}

uint64_t TcpMeter::outstanding(const Direction& d) {
  return d.started ? seq_span(d.una, d.max) : 0;
}

void TcpMeter::start_direction(Direction& d, uint32_t isn, bool syn, uint64_t ts_ns) {
  d.started = true;
  d.isn = isn;
  d.una = isn;
  d.max = isn;
  d.syn_unacked = syn;
  d.fin_sent = false;
  d.dupacks = 0;
  d.progress_ns = ts_ns;
  d.timing = false;
  d.in_episode = false;
  d.retransmitted_since_progress = false;
  d.window_zero = false;
}

void TcpMeter::on_segment(const TcpSegmentInfo& s) {
  if (conn_.first_ns == 0) conn_.first_ns = s.ts_ns;
  conn_.last_ns = std::max(conn_.last_ns, s.ts_ns);
  Direction& self = dir_[s.from_opener ? 0 : 1];
  Direction& other = dir_[s.from_opener ? 1 : 0];
  ++self.stats.segments;
  if ((s.flags & kTcpRst) != 0) {
    if (!reset_taken(s)) return;
    ++self.stats.resets;
    on_reset(s);
    return;
  }
  if ((s.flags & kTcpSyn) != 0) {
    ++self.stats.syns;
    self.wscale = s.wscale;
    const bool again = self.started && self.isn == s.seq && state_ != State::kClosed;
    if (!again) {
      if (s.from_opener) {
        // A new handshake: a first connection, or a reconnection after a reset or a close.
        ++conn_.connections;
        start_direction(dir_[1], 0, false, s.ts_ns);
        dir_[1].started = false;
        state_ = State::kSynSent;
      } else if (state_ == State::kSynSent) {
        state_ = State::kSynReceived;
      }
      start_direction(self, s.seq, true, s.ts_ns);
    }
  } else if (state_ == State::kClosed) {
    return;  // after a reset, until the next handshake: nothing to measure
  } else if (!self.started) {
    // A stream seen mid-way: its first segment sets the sequence base of its side.
    if (state_ == State::kNone) {
      conn_.mid_stream = true;
      state_ = State::kEstablished;
    }
    start_direction(self, s.seq, false, s.ts_ns);
  }
  // New data past the window its receiver offered: no stack would take it.
  if (s.len != 0 && self.started && self.window_seen && seq_after(s.seq, self.max) &&
      seq_span(self.una, s.seq) > offered_window(self, other)) {
    return;
  }
  if ((s.flags & kTcpAck) != 0 && other.started) on_ack(other, s);
  if (state_ == State::kSynReceived && s.from_opener && (s.flags & kTcpAck) != 0 &&
      (s.flags & kTcpSyn) == 0 && !dir_[1].syn_unacked) {
    state_ = State::kEstablished;
    ++conn_.established;
    if (conn_.first_established_ns == 0) conn_.first_established_ns = s.ts_ns;
    conn_.last_established_ns = s.ts_ns;
  }
  on_send(self, s);
}

bool TcpMeter::reset_taken(const TcpSegmentInfo& s) const {
  const Direction& self = dir_[s.from_opener ? 0 : 1];
  switch (state_) {
    case State::kNone:
      return true;  // the first segment seen: nothing to judge it by
    case State::kClosed:
      return false;  // reset or refused already: nothing left to reset
    case State::kSynSent:
      // The peer refuses the SYN by acknowledging it; the opener aborts at its next byte.
      if (!s.from_opener) return (s.flags & kTcpAck) != 0 && s.ack == dir_[0].isn + 1;
      return s.seq == dir_[0].max;
    default:
      if (!self.started) return true;
      return !seq_after(self.una, s.seq) && !seq_after(s.seq, self.max);
  }
}

uint64_t TcpMeter::offered_window(const Direction& d, const Direction& receiver) const {
  if (!d.window_seen) return UINT64_MAX;
  unsigned shift = 14;  // no handshake seen: the largest scale there is
  if (dir_[0].started && dir_[1].started && !conn_.mid_stream) {
    shift = dir_[0].wscale >= 0 && dir_[1].wscale >= 0 ? static_cast<unsigned>(receiver.wscale) : 0;
  }
  return static_cast<uint64_t>(d.last_window) << std::min(shift, 14U);
}

void TcpMeter::on_send(Direction& d, const TcpSegmentInfo& s) {
  const bool syn = (s.flags & kTcpSyn) != 0;
  const bool fin = (s.flags & kTcpFin) != 0;
  const uint32_t start = s.seq + (syn ? 1 : 0);
  const uint32_t data_end = start + s.len;
  const uint32_t end = data_end + (fin ? 1 : 0);
  if (fin && !d.fin_sent) {
    d.fin_sent = true;
    d.fin_seq = data_end;
    ++d.stats.fins;
    if (state_ == State::kEstablished) state_ = State::kClosing;
  }
  if (end == s.seq) return;  // a pure ACK: it sends nothing
  const bool was_idle = outstanding(d) == 0;
  // Bytes beyond the highest sent so far are new; those between the first unacknowledged
  // and the highest are sent again.
  if (seq_after(data_end, d.max)) {
    d.stats.bytes_sent += seq_span(seq_after(start, d.max) ? start : d.max, data_end);
  }
  const bool resends = s.len != 0 && seq_after(d.max, start) && seq_after(data_end, d.una);
  const bool new_bytes = seq_after(end, d.max);
  if (new_bytes) {
    d.max = end;
    if (was_idle) d.progress_ns = s.ts_ns;  // a stall can only start from here
    if (!d.timing && !resends) {
      d.timing = true;
      d.timed_end = end;
      d.timed_ns = s.ts_ns;
    }
  }
  if (!resends) {
    if (syn && !new_bytes) d.timing = false;  // a SYN sent again: Karn
    return;
  }
  const uint32_t first = seq_after(start, d.una) ? start : d.una;
  const uint32_t last = seq_after(data_end, d.max) ? d.max : data_end;
  const uint64_t bytes = seq_span(first, last);
  ++d.stats.retransmitted_segments;
  d.stats.retransmitted_bytes += bytes;
  d.timing = false;  // Karn: no sample across a retransmission
  bool fast = false;
  if (!d.in_episode) {
    d.in_episode = true;
    d.episode_fast = d.dupacks >= 3;
    d.recovery_point = d.max;
    if (d.episodes.size() < kMaxEpisodes) {
      TcpEpisode e;
      e.start_ns = d.progress_ns;
      e.first_retransmit_ns = s.ts_ns;
      e.end_ns = s.ts_ns;
      d.episodes.push_back(e);
    } else {
      ++overflowed_;
    }
    fast = d.episode_fast;
  } else if (d.retransmitted_since_progress && first == d.una && d.last_retransmit_seq == d.una) {
    fast = false;  // the first unacknowledged byte again, no progress since: the RTO expired
    d.episode_fast = false;
  } else {
    fast = d.episode_fast;
  }
  d.retransmitted_since_progress = true;
  d.last_retransmit_seq = first;
  if (fast) {
    ++d.stats.fast_retransmits;
  } else {
    ++d.stats.timeout_retransmits;
  }
  if (!d.episodes.empty() && d.in_episode) {
    TcpEpisode& e = d.episodes.back();
    if (fast) {
      ++e.fast_retransmits;
    } else {
      ++e.timeout_retransmits;
    }
    e.retransmitted_bytes += bytes;
  }
}

void TcpMeter::end_stall(Direction& d, uint64_t ts_ns) {
  if (outstanding(d) == 0 || ts_ns < d.progress_ns) return;
  const uint64_t stall = ts_ns - d.progress_ns;
  if (stall > d.stats.longest_stall_ns) {
    d.stats.longest_stall_ns = stall;
    d.stats.longest_stall_start_ns = d.progress_ns;
  }
  if (d.in_episode && !d.episodes.empty()) {
    TcpEpisode& e = d.episodes.back();
    e.stall_ns = std::max(e.stall_ns, stall);
  }
}

void TcpMeter::close_episode(Direction& d, uint64_t ts_ns, bool reset, bool open) {
  if (!d.in_episode) return;
  d.in_episode = false;
  if (d.episodes.empty()) return;
  TcpEpisode& e = d.episodes.back();
  e.end_ns = ts_ns;
  e.reset = reset;
  e.open = open;
}

void TcpMeter::on_ack(Direction& d, const TcpSegmentInfo& s) {
  // The window the acknowledging side offers d's sender.
  if (s.window == 0 && (s.flags & kTcpSyn) == 0) {
    if (!d.window_zero) {
      d.window_zero = true;
      d.window_zero_since_ns = s.ts_ns;
      ++d.stats.zero_windows;
    }
  } else if (d.window_zero) {
    d.window_zero = false;
    d.stats.zero_window_ns += s.ts_ns - std::min(s.ts_ns, d.window_zero_since_ns);
  }
  const uint16_t previous_window = d.last_window;
  d.last_window = s.window;
  d.window_seen = (s.flags & kTcpSyn) == 0 || d.window_seen;
  if (seq_after(s.ack, d.una) && !seq_after(s.ack, d.max)) {
    end_stall(d, s.ts_ns);
    uint64_t acked = seq_span(d.una, s.ack);
    if (d.syn_unacked) {
      d.syn_unacked = false;
      --acked;
    }
    // The FIN's sequence number is not a byte: taken out when this ACK is the first over it.
    if (d.fin_sent && !seq_after(d.una, d.fin_seq) && seq_after(s.ack, d.fin_seq)) --acked;
    d.stats.bytes_acked += acked;
    d.una = s.ack;
    d.progress_ns = s.ts_ns;
    d.dupacks = 0;
    d.retransmitted_since_progress = false;
    if (d.timing && !seq_after(d.timed_end, s.ack)) {
      d.timing = false;
      const uint64_t rtt = s.ts_ns - std::min(s.ts_ns, d.timed_ns);
      ++d.stats.rtt_samples;
      d.stats.rtt_sum_ns += rtt;
      d.stats.rtt_max_ns = std::max(d.stats.rtt_max_ns, rtt);
      d.stats.rtt_min_ns = d.stats.rtt_samples == 1 ? rtt : std::min(d.stats.rtt_min_ns, rtt);
    }
    if (d.in_episode && !seq_after(d.recovery_point, s.ack))
      close_episode(d, s.ts_ns, false, false);
    return;
  }
  const bool pure = s.len == 0 && (s.flags & (kTcpSyn | kTcpFin)) == 0;
  if (s.ack == d.una && pure && outstanding(d) != 0 && s.window == previous_window) {
    ++d.dupacks;
    ++d.stats.dup_acks;
  }
}

void TcpMeter::on_reset(const TcpSegmentInfo& s) {
  const uint64_t ts = s.ts_ns;
  TcpReset r;
  r.ts_ns = ts;
  r.from_opener = s.from_opener;
  r.established = state_ == State::kEstablished || state_ == State::kClosing;
  for (int i = 0; i < 2; ++i) {
    Direction& d = dir_[i];
    end_stall(d, ts);
    close_episode(d, ts, true, false);
    if (d.window_zero) {
      d.window_zero = false;
      d.stats.zero_window_ns += ts - std::min(ts, d.window_zero_since_ns);
    }
    // Only data bytes: the SYN and FIN are not the application's.
    uint64_t unacked = outstanding(d);
    if (d.syn_unacked && unacked != 0) --unacked;
    if (d.fin_sent && seq_after(d.max, d.fin_seq) && !seq_after(d.una, d.fin_seq) && unacked != 0) {
      --unacked;
    }
    d.stats.unacked_bytes = unacked;
    (i == 0 ? r.unacked_opener : r.unacked_peer) = unacked;
    d.started = false;
  }
  state_ = State::kClosed;
  if (resets_.size() < kMaxResets) {
    resets_.push_back(r);
  } else {
    ++overflowed_;
  }
}

void TcpMeter::finish(uint64_t now_ns) {
  conn_.open_at_end = state_ == State::kEstablished;
  for (Direction& d : dir_) {
    end_stall(d, now_ns);
    close_episode(d, now_ns, false, true);
    if (d.window_zero) {
      d.window_zero = false;
      d.stats.zero_window_ns += now_ns - std::min(now_ns, d.window_zero_since_ns);
    }
    if (d.started) {
      uint64_t unacked = outstanding(d);
      if (d.syn_unacked && unacked != 0) --unacked;
      if (d.fin_sent && !seq_after(d.una, d.fin_seq) && unacked != 0) --unacked;
      d.stats.unacked_bytes = unacked;
    }
  }
}

}  // namespace migprobe::analysis
