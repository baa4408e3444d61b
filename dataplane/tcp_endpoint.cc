#include "dataplane/tcp_endpoint.h"

#include <algorithm>

#include "analysis/probe_trailer.h"
#include "analysis/sequence.h"

namespace migprobe::dataplane {

namespace an = migprobe::analysis;

namespace {

constexpr uint16_t kOurMss = 1460;  // what we take: one Ethernet frame of echo
constexpr uint16_t kSynWindow = 65535;

bool after(uint32_t a, uint32_t b) {
  return an::seq_after(a, b);
}

// What the meter reads of a segment.
an::TcpSegmentInfo segment_info(uint64_t now_ns, bool ours, uint8_t flags, uint32_t seq,
                                uint32_t ack, uint32_t len, uint16_t window, int8_t wscale) {
  an::TcpSegmentInfo m;
  m.wscale = wscale;
  m.ts_ns = now_ns;
  m.from_opener = ours;
  m.flags = flags;
  m.seq = seq;
  m.ack = ack;
  m.len = len;
  m.window = window;
  return m;
}

// The stream's byte at offset o outside a trailer.
uint8_t pattern_byte(uint64_t o) {
  return static_cast<uint8_t>(o * 31 + (o >> 8) + (o >> 16));
}

}  // namespace

bool TcpEndpoint::write_payload(uint64_t offset, uint32_t len, uint8_t* out) const {
  const uint64_t s = c_.segment_bytes;
  const uint64_t newest = snd_max_ == iss_ ? 0 : stream_offset(snd_max_ - 1) / s;
  uint64_t o = offset;
  const uint64_t end = offset + len;
  while (o < end) {
    const uint64_t chunk = o / s;
    const uint64_t chunk_end = std::min(end, (chunk + 1) * s);
    uint64_t pos = o - chunk * s;
    if (pos < an::kTrailerSize) {
      if (chunk + kChunkRing <= newest) return false;
      an::ProbeTrailer t;
      t.generation = c_.generation;
      t.flow_id = c_.flow_id;
      t.seq = static_cast<uint32_t>(chunk);
      t.tx_ns = chunk_tx_ns_[chunk % kChunkRing];
      uint8_t trailer[an::kTrailerSize];
      an::encode_trailer(t, trailer);
      for (; pos < an::kTrailerSize && o < chunk_end; ++pos, ++o) *out++ = trailer[pos];
    }
    for (; o < chunk_end; ++o) *out++ = pattern_byte(o);
  }
  return true;
}

void TcpEndpoint::emit(const TcpTx& t, uint64_t now_ns, TcpSink& out) {
  meter_.on_segment(segment_info(now_ns, true, t.flags, t.seq, t.ack, t.payload_len, t.window,
                                 t.syn_options ? static_cast<int8_t>(t.wscale) : int8_t{-1}));
  out.send(t);
}

void TcpEndpoint::start(uint64_t now_ns, uint32_t isn_seed, TcpSink& out) {
  isn_seed_ = isn_seed;
  stopping_ = false;
  slot_ns_ = c_.rate_bytes_per_s != 0 ? c_.segment_bytes * 1'000'000'000ULL / c_.rate_bytes_per_s
                                      : 1'000'000'000ULL;
  reconnect_ns_ = c_.reconnect_min_ns;
  ++attempt_;
  send_syn(now_ns, out);
}

void TcpEndpoint::send_syn(uint64_t now_ns, TcpSink& out) {
  if (state_ != State::kSynSent) {
    // A new connection: everything of the last one starts again.
    iss_ = (isn_seed_ * 2654435761U) ^ (c_.flow_id << 12) ^ (attempt_ * 0x9e3779b9U) ^
           static_cast<uint32_t>(now_ns >> 10);
    snd_una_ = iss_;
    snd_nxt_ = iss_ + 1;
    snd_max_ = iss_ + 1;
    base_seq_ = iss_ + 1;
    base_off_ = 0;
    fin_sent_ = false;
    in_recovery_ = false;
    cwnd_ = UINT32_MAX;
    dupacks_ = 0;
    timing_ = false;
    backoff_ = 0;
    syn_tries_ = 0;
    srtt_ns_ = 0;
    rttvar_ns_ = 0;
    rto_ns_ = c_.rto_initial_ns;
    echoed_ = 0;
    next_send_ns_ = UINT64_MAX;
    persist_deadline_ns_ = UINT64_MAX;
    reconnect_deadline_ns_ = UINT64_MAX;
    state_ = State::kSynSent;
  }
  TcpTx t;
  t.flags = an::kTcpSyn;
  t.seq = iss_;
  t.window = kSynWindow;
  t.syn_options = true;
  t.mss = kOurMss;
  t.wscale = kWindowScale;
  t.has_ts = true;
  t.ts_val = ts_now(now_ns);
  // Karn: only a SYN sent once times the handshake.
  timing_ = syn_tries_ == 0;
  timed_seq_ = iss_ + 1;
  timed_ns_ = now_ns;
  ++syn_tries_;
  emit(t, now_ns, out);
  rto_deadline_ns_ = now_ns + rto_ns_;
}

TcpTx TcpEndpoint::segment(uint8_t flags, uint32_t seq, uint64_t now_ns) const {
  TcpTx t;
  t.flags = flags;
  t.seq = seq;
  t.ack = rcv_nxt_;
  t.window = static_cast<uint16_t>(kReceiveWindow >> kWindowScale);
  t.has_ts = ts_ok_;
  t.ts_val = ts_now(now_ns);
  t.ts_ecr = ts_recent_;
  return t;
}

void TcpEndpoint::send_ack(uint64_t now_ns, TcpSink& out) {
  TcpTx t = segment(an::kTcpAck, snd_nxt_ == snd_max_ ? snd_max_ : snd_nxt_, now_ns);
  emit(t, now_ns, out);
}

void TcpEndpoint::send_data(uint64_t now_ns, uint32_t seq, uint32_t len, TcpSink& out) {
  TcpTx t = segment(an::kTcpAck | an::kTcpPsh, seq, now_ns);
  t.payload_offset = stream_offset(seq);
  t.payload_len = len;
  if (fin_sent_ && seq + len == fin_seq_) t.flags |= an::kTcpFin;
  emit(t, now_ns, out);
  if (rto_deadline_ns_ == UINT64_MAX) rto_deadline_ns_ = now_ns + rto_ns_;
}

void TcpEndpoint::rtt_sample(uint64_t rtt) {
  // RFC 6298 2.2 and 2.3, alpha 1/8, beta 1/4.
  if (srtt_ns_ == 0) {
    srtt_ns_ = std::max<uint64_t>(rtt, 1);
    rttvar_ns_ = rtt / 2;
  } else {
    const uint64_t diff = srtt_ns_ > rtt ? srtt_ns_ - rtt : rtt - srtt_ns_;
    rttvar_ns_ = (3 * rttvar_ns_ + diff) / 4;
    srtt_ns_ = (7 * srtt_ns_ + rtt) / 8;
  }
  constexpr uint64_t kClockGranularityNs = 1'000'000;
  rto_ns_ = std::clamp(srtt_ns_ + std::max(kClockGranularityNs, 4 * rttvar_ns_), c_.rto_min_ns,
                       c_.rto_max_ns);
}

an::DropReason TcpEndpoint::on_segment(const an::ParsedPacket& p, uint64_t now_ns, TcpSink& out) {
  // Read as migprobe-analyze reads it from a capture.
  meter_.on_segment(an::tcp_segment_info(p, now_ns, false));
  const bool rst = (p.tcp_flags & an::kTcpRst) != 0;
  const bool syn = (p.tcp_flags & an::kTcpSyn) != 0;
  const bool ack = (p.tcp_flags & an::kTcpAck) != 0;
  switch (state_) {
    case State::kSynSent: {
      // Not an answer to our SYN (RFC 793: an unacceptable ACK gets a reset).
      if (!ack || p.tcp_ack != iss_ + 1) {
        if (!rst) send_reset_for(p, now_ns, out);
        return an::DropReason::kTCP_OUT_OF_WINDOW;
      }
      if (rst) {
        ++echo_.refused;
        connection_over(TcpEndpointEvent::kRefused, true, now_ns, out);
        return an::DropReason::kNone;
      }
      if (!syn) return an::DropReason::kTCP_OUT_OF_WINDOW;
      irs_ = p.tcp_seq;
      rcv_nxt_ = irs_ + 1;
      peer_wscale_ = p.tcp_wscale >= 0 ? static_cast<uint8_t>(p.tcp_wscale) : 0;
      ts_ok_ = p.tcp_has_ts;
      ts_recent_ = p.tcp_ts_val;
      mss_ = static_cast<uint16_t>(
          std::min<uint32_t>(c_.segment_bytes, p.tcp_mss != 0 ? p.tcp_mss : 536));
      peer_window_ = p.tcp_window;  // a SYN's window is never scaled
      snd_una_ = iss_ + 1;
      if (timing_) rtt_sample(now_ns - timed_ns_);
      timing_ = false;
      backoff_ = 0;
      rto_deadline_ns_ = UINT64_MAX;
      state_ = State::kEstablished;
      send_ack(now_ns, out);
      next_send_ns_ = now_ns;
      reconnect_ns_ = c_.reconnect_min_ns;
      TcpEndpointEvent e;
      e.kind = TcpEndpointEvent::kEstablished;
      e.ts_ns = now_ns;
      out.event(e);
      return an::DropReason::kNone;
    }
    case State::kEstablished:
    case State::kFinWait: {
      if (rst) {
        // RFC 5961 3.2: a reset is taken only at the expected sequence; anywhere else in
        // the window it asks for an ACK (a challenge) and is otherwise ignored.
        if (p.tcp_seq == rcv_nxt_) {
          connection_over(TcpEndpointEvent::kReset, true, now_ns, out);
          return an::DropReason::kNone;
        }
        if (!after(rcv_nxt_, p.tcp_seq) && after(rcv_nxt_ + kReceiveWindow, p.tcp_seq)) {
          send_ack(now_ns, out);
          return an::DropReason::kNone;
        }
        return an::DropReason::kTCP_OUT_OF_WINDOW;
      }
      if (syn) {
        send_ack(now_ns, out);  // a SYN-ACK again: our ACK of it was lost
        return an::DropReason::kNone;
      }
      if (ts_ok_ && p.tcp_has_ts && !after(p.tcp_seq, rcv_nxt_)) ts_recent_ = p.tcp_ts_val;
      if (ack) {
        const an::DropReason why = on_ack(p, now_ns, out);
        if (why != an::DropReason::kNone) return why;
      }
      if (state_ != State::kEstablished && state_ != State::kFinWait) {
        return an::DropReason::kNone;
      }
      if (p.payload_len != 0 || (p.tcp_flags & an::kTcpFin) != 0) return on_data(p, now_ns, out);
      return an::DropReason::kNone;
    }
    case State::kClosed:
      // Stopped: the peer's FIN after ours still gets its ACK.
      if (stopping_ && (p.tcp_flags & an::kTcpFin) != 0 && !rst) {
        rcv_nxt_ = p.tcp_seq + p.payload_len + 1;
        send_ack(now_ns, out);
        return an::DropReason::kNone;
      }
      return an::DropReason::kTCP_NO_CONNECTION;
    case State::kWaitReconnect:
      // Data or a handshake of a connection that is over gets a reset; a bare ACK (of the
      // FIN we sent when the peer closed) does not.
      if (!rst && (p.payload_len != 0 || syn)) send_reset_for(p, now_ns, out);
      return an::DropReason::kTCP_NO_CONNECTION;
  }
  return an::DropReason::kNone;
}

void TcpEndpoint::send_reset_for(const an::ParsedPacket& p, uint64_t now_ns, TcpSink& out) {
  TcpTx t;
  if ((p.tcp_flags & an::kTcpAck) != 0) {
    t.flags = an::kTcpRst;
    t.seq = p.tcp_ack;
  } else {
    const uint32_t len = p.payload_len + ((p.tcp_flags & an::kTcpSyn) != 0 ? 1 : 0) +
                         ((p.tcp_flags & an::kTcpFin) != 0 ? 1 : 0);
    t.flags = an::kTcpRst | an::kTcpAck;
    t.ack = p.tcp_seq + len;
  }
  emit(t, now_ns, out);
}

an::DropReason TcpEndpoint::on_ack(const an::ParsedPacket& p, uint64_t now_ns, TcpSink& out) {
  const uint32_t ack = p.tcp_ack;
  const uint32_t window = peer_window_bytes(p.tcp_window);
  if (after(ack, snd_max_)) {
    send_ack(now_ns, out);  // acknowledges what was never sent: say where we are
    return an::DropReason::kTCP_OUT_OF_WINDOW;
  }
  if (after(ack, snd_una_)) {
    if (timing_ && !after(timed_seq_, ack)) {
      timing_ = false;
      rtt_sample(now_ns - timed_ns_);
    }
    const uint32_t acked = ack - snd_una_;
    snd_una_ = ack;
    if (after(snd_una_, snd_nxt_)) snd_nxt_ = snd_una_;
    if (cwnd_ != UINT32_MAX) {
      // Slow start while what a timeout left is sent again; done once it has all gone.
      cwnd_ = !after(snd_max_ - (fin_sent_ ? 1 : 0), snd_nxt_) ? UINT32_MAX : cwnd_ + acked;
    }
    if (after(ack, base_seq_)) {
      base_off_ += static_cast<uint32_t>(ack - base_seq_);
      base_seq_ = ack;
    }
    backoff_ = 0;
    dupacks_ = 0;
    peer_window_ = window;
    if (in_recovery_) {
      if (!after(recover_, ack)) {
        in_recovery_ = false;
      } else {
        // NewReno: a partial ACK, the next hole is sent at once.
        const uint32_t len = std::min<uint32_t>(mss_, snd_max_ - snd_una_ - (fin_sent_ ? 1 : 0));
        if (len != 0) send_data(now_ns, snd_una_, len, out);
      }
    }
    rto_deadline_ns_ = outstanding() != 0 ? now_ns + rto_ns_ : UINT64_MAX;
    if (state_ == State::kFinWait && fin_sent_ && after(ack, fin_seq_)) {
      // Our side is closed; the peer's echo may still come until its own FIN.
      rto_deadline_ns_ = UINT64_MAX;
      next_send_ns_ = UINT64_MAX;
      persist_deadline_ns_ = UINT64_MAX;
      return an::DropReason::kNone;
    }
  } else if (ack == snd_una_) {
    const bool pure = p.payload_len == 0 && (p.tcp_flags & (an::kTcpSyn | an::kTcpFin)) == 0;
    if (pure && outstanding() != 0 && window == peer_window_) {
      // RFC 5681 2: a duplicate ACK; the third starts fast retransmit (RFC 6582 3.2).
      if (++dupacks_ == 3 && !in_recovery_) {
        in_recovery_ = true;
        recover_ = snd_max_;
        timing_ = false;
        const uint32_t len = std::min<uint32_t>(mss_, snd_max_ - snd_una_ - (fin_sent_ ? 1 : 0));
        if (len != 0) send_data(now_ns, snd_una_, len, out);
        rto_deadline_ns_ = now_ns + rto_ns_;
      }
    }
    peer_window_ = window;
  }
  if (peer_window_ == 0 && outstanding() == 0 && !stopping_) {
    if (persist_deadline_ns_ == UINT64_MAX) {
      persist_backoff_ = 0;
      persist_deadline_ns_ = now_ns + rto_ns_;
    }
  } else {
    persist_deadline_ns_ = UINT64_MAX;
  }
  return an::DropReason::kNone;
}

an::DropReason TcpEndpoint::on_data(const an::ParsedPacket& p, uint64_t now_ns, TcpSink& out) {
  const uint32_t seq = p.tcp_seq;
  const uint32_t len = p.payload_len;
  const bool fin = (p.tcp_flags & an::kTcpFin) != 0;
  if (after(seq, rcv_nxt_)) {
    send_ack(now_ns, out);
    // Past our window: not data of this connection as we know it.
    if (!after(rcv_nxt_ + kReceiveWindow, seq)) return an::DropReason::kTCP_OUT_OF_WINDOW;
    ++echo_.out_of_order_segments;  // a hole before it: the peer sends it again
    return an::DropReason::kNone;
  }
  const uint32_t skip = rcv_nxt_ - seq;  // bytes of it taken already
  if (skip > len || (skip == len && !fin)) {
    send_ack(now_ns, out);  // all old: our ACK was lost
    return an::DropReason::kNone;
  }
  const uint8_t* data = p.payload + skip;
  const uint32_t n = len - skip;
  if (!c_.echo) {
    echo_.unexpected_bytes += n;
  } else {
    // Compare with what was sent at those offsets, a piece at a time.
    const uint64_t sent = stream_offset(fin_sent_ ? fin_seq_ : snd_max_);
    uint8_t expect[512];
    uint32_t done = 0;
    while (done < n) {
      const uint32_t piece = std::min<uint32_t>(n - done, sizeof expect);
      const uint64_t o = echoed_ + done;
      const uint64_t valid = o >= sent ? 0 : std::min<uint64_t>(piece, sent - o);
      if (valid != 0 && write_payload(o, static_cast<uint32_t>(valid), expect)) {
        for (uint32_t i = 0; i < valid; ++i) echo_.bytes_mismatched += expect[i] != data[done + i];
      } else {
        echo_.bytes_mismatched += valid;
      }
      echo_.bytes_mismatched += piece - valid;  // more than was ever sent
      done += piece;
    }
    // Chunks whose trailer is now whole: their send-to-echo time.
    const uint64_t s = c_.segment_bytes;
    const uint64_t from = echoed_;
    const uint64_t to = echoed_ + n;
    for (uint64_t k = (from + s - an::kTrailerSize) / s; k * s + an::kTrailerSize <= to; ++k) {
      if (k * s + an::kTrailerSize <= from || k * s >= sent) continue;
      const uint64_t tx = chunk_tx_ns_[k % kChunkRing];
      if (tx == 0 || tx > now_ns) continue;
      ++echo_.echo_samples;
      echo_.echo_sum_ns += now_ns - tx;
      echo_.echo_max_ns = std::max(echo_.echo_max_ns, now_ns - tx);
    }
    echo_.bytes_echoed += n;
  }
  echoed_ += n;
  rcv_nxt_ += n;
  if (fin) {
    rcv_nxt_ += 1;
    send_ack(now_ns, out);
    if (state_ == State::kEstablished) {
      ++echo_.peer_closed;
      connection_over(TcpEndpointEvent::kPeerClosed, true, now_ns, out);
    } else if (state_ == State::kFinWait && !after(snd_max_, snd_una_)) {
      state_ = State::kClosed;  // both sides closed
    }
    return an::DropReason::kNone;
  }
  send_ack(now_ns, out);
  return an::DropReason::kNone;
}

void TcpEndpoint::paced_send(uint64_t now_ns, TcpSink& out) {
  const uint64_t s = c_.segment_bytes;
  uint32_t len = 0;
  if (after(snd_max_ - (fin_sent_ ? 1 : 0), snd_nxt_)) {
    // Go-back-N after a timeout: what was sent before, again, inside the window.
    const uint32_t left = snd_max_ - (fin_sent_ ? 1 : 0) - snd_nxt_;
    len = std::min<uint32_t>(mss_, left);
    const uint32_t in_flight = snd_nxt_ - snd_una_;
    if (in_flight == 0 || (in_flight + len <= peer_window_ && in_flight + len <= cwnd_)) {
      send_data(now_ns, snd_nxt_, len, out);
      snd_nxt_ += len;
    }
  } else if (!stopping_ && !fin_sent_) {
    const uint64_t offset = stream_offset(snd_max_);
    const uint64_t chunk = offset / s;
    const uint64_t oldest =
        std::min(stream_offset(snd_una_), c_.echo ? echoed_ : stream_offset(snd_una_)) / s;
    const uint32_t usable =
        after(snd_una_ + peer_window_, snd_max_) ? snd_una_ + peer_window_ - snd_max_ : 0;
    len = static_cast<uint32_t>(std::min<uint64_t>({mss_, s - offset % s, usable}));
    const bool room =
        chunk + 1 - oldest <= kChunkRing && (cwnd_ == UINT32_MAX || outstanding() + len <= cwnd_);
    // Silly window avoidance: a full segment, or whatever fits when nothing is in flight.
    const bool worth = len == std::min<uint64_t>(mss_, s - offset % s) || outstanding() == 0;
    if (len != 0 && room && worth) {
      if (offset % s == 0) chunk_tx_ns_[chunk % kChunkRing] = now_ns;
      if (!timing_) {
        timing_ = true;
        timed_seq_ = snd_max_ + len;
        timed_ns_ = now_ns;
      }
      const uint32_t seq = snd_max_;
      snd_max_ += len;
      snd_nxt_ = snd_max_;
      send_data(now_ns, seq, len, out);
    } else {
      len = 0;
    }
  }
  // The next slot: a chunk's worth of time per chunk sent; when nothing went, try again a
  // slot later. Behind by more than a few slots (blocked), start again from now.
  const uint64_t step = len != 0 ? slot_ns_ * len / s : slot_ns_;
  next_send_ns_ = std::max(next_send_ns_ + std::max<uint64_t>(step, 1),
                           now_ns - std::min(now_ns, 4 * slot_ns_));
}

void TcpEndpoint::on_rto(uint64_t now_ns, TcpSink& out) {
  rto_ns_ = std::min(rto_ns_ * 2, c_.rto_max_ns);  // RFC 6298 5.5
  ++backoff_;
  if (state_ == State::kSynSent) {
    if (syn_tries_ > c_.syn_retries) {
      ++echo_.unanswered;
      connection_over(TcpEndpointEvent::kUnanswered, false, now_ns, out);
      return;
    }
    send_syn(now_ns, out);
    return;
  }
  if (outstanding() == 0) {
    rto_deadline_ns_ = UINT64_MAX;
    return;
  }
  // RFC 6298 5.4: the earliest segment not acknowledged, again; the rest follows at the
  // pacing rate (go-back-N), and a fast recovery under way is over.
  in_recovery_ = false;
  dupacks_ = 0;
  timing_ = false;
  rto_deadline_ns_ = UINT64_MAX;
  cwnd_ = mss_;
  const uint32_t data_left = snd_max_ - snd_una_ - (fin_sent_ ? 1 : 0);
  if (data_left == 0) {
    // Only our FIN is outstanding: send it again.
    TcpTx t = segment(an::kTcpFin | an::kTcpAck, fin_seq_, now_ns);
    emit(t, now_ns, out);
    rto_deadline_ns_ = now_ns + rto_ns_;
    return;
  }
  const uint32_t len = std::min<uint32_t>(mss_, data_left);
  send_data(now_ns, snd_una_, len, out);
  snd_nxt_ = snd_una_ + len;
  rto_deadline_ns_ = now_ns + rto_ns_;
}

void TcpEndpoint::connection_over(TcpEndpointEvent::Kind kind, bool by_peer, uint64_t now_ns,
                                  TcpSink& out) {
  TcpEndpointEvent e;
  e.kind = kind;
  e.ts_ns = now_ns;
  e.by_peer = by_peer;
  if (kind == TcpEndpointEvent::kReset || kind == TcpEndpointEvent::kPeerClosed) {
    e.unacked_bytes = snd_max_ - snd_una_ - (fin_sent_ ? 1 : 0);
    if (c_.echo)
      e.unechoed_bytes = stream_offset(snd_una_) - std::min(echoed_, stream_offset(snd_una_));
  }
  if (kind == TcpEndpointEvent::kPeerClosed) {
    // Close our side too, without waiting for it: the next connection is a new one.
    TcpTx t = segment(an::kTcpFin | an::kTcpAck, snd_max_, now_ns);
    emit(t, now_ns, out);
  }
  rto_deadline_ns_ = UINT64_MAX;
  next_send_ns_ = UINT64_MAX;
  persist_deadline_ns_ = UINT64_MAX;
  timing_ = false;
  if (stopping_) {
    state_ = State::kClosed;
  } else {
    state_ = State::kWaitReconnect;
    reconnect_deadline_ns_ = now_ns + reconnect_ns_;
    e.reconnect_at_ns = reconnect_deadline_ns_;
    reconnect_ns_ = std::min(reconnect_ns_ * 2, c_.reconnect_max_ns);
  }
  out.event(e);
}

void TcpEndpoint::stop(uint64_t now_ns, TcpSink& out) {
  stopping_ = true;
  if (state_ != State::kEstablished) {
    state_ = State::kClosed;
    rto_deadline_ns_ = UINT64_MAX;
    next_send_ns_ = UINT64_MAX;
    persist_deadline_ns_ = UINT64_MAX;
    reconnect_deadline_ns_ = UINT64_MAX;
    return;
  }
  fin_seq_ = snd_max_;
  fin_sent_ = true;
  const bool caught_up = snd_nxt_ == snd_max_;
  ++snd_max_;
  if (caught_up) snd_nxt_ = snd_max_;
  state_ = State::kFinWait;
  persist_deadline_ns_ = UINT64_MAX;
  TcpTx t = segment(an::kTcpFin | an::kTcpAck, fin_seq_, now_ns);
  emit(t, now_ns, out);
  if (rto_deadline_ns_ == UINT64_MAX) rto_deadline_ns_ = now_ns + rto_ns_;
}

void TcpEndpoint::on_timer(uint64_t now_ns, TcpSink& out) {
  if (reconnect_deadline_ns_ <= now_ns) {
    reconnect_deadline_ns_ = UINT64_MAX;
    state_ = State::kClosed;
    ++attempt_;
    send_syn(now_ns, out);
    return;
  }
  if (rto_deadline_ns_ <= now_ns) on_rto(now_ns, out);
  if (persist_deadline_ns_ <= now_ns && state_ == State::kEstablished) {
    // A window probe as Linux sends it: no data, the sequence one below the next.
    TcpTx t = segment(an::kTcpAck, snd_una_ - 1, now_ns);
    emit(t, now_ns, out);
    ++persist_backoff_;
    persist_deadline_ns_ =
        now_ns + std::min(rto_ns_ << std::min<uint32_t>(persist_backoff_, 16), c_.rto_max_ns);
  }
  if (next_send_ns_ <= now_ns && (state_ == State::kEstablished || state_ == State::kFinWait)) {
    paced_send(now_ns, out);
  }
}

uint64_t TcpEndpoint::next_deadline_ns() const {
  uint64_t d = std::min({rto_deadline_ns_, persist_deadline_ns_, reconnect_deadline_ns_});
  if (state_ == State::kEstablished || state_ == State::kFinWait) {
    // The pacer matters while it has something to send.
    const bool resend = after(snd_max_ - (fin_sent_ ? 1 : 0), snd_nxt_);
    if (resend || (!stopping_ && !fin_sent_)) d = std::min(d, next_send_ns_);
  }
  return d;
}

void TcpEndpoint::finish(uint64_t now_ns) {
  meter_.finish(now_ns);
}

}  // namespace migprobe::dataplane
