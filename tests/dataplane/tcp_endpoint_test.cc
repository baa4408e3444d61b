// The probe's TCP endpoint against a simulated peer on a simulated wire, event by event:
// the handshake and its options, a paced echo stream checked byte for byte, an outage healed
// by timeouts (its stall within the outage plus the RTO in force), fast retransmit after one
// lost segment, a zero window, a reset and the reconnection, a refused port, a corrupted
// echo, and crafted segments that must not move it (an ACK of unsent data, a reset at the
// wrong sequence), each dropped for its reason (out of the windows, no connection) without
// wedging the stream.

#include "dataplane/tcp_endpoint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <vector>

#include "analysis/probe_trailer.h"

namespace migprobe::dataplane {
namespace {

namespace an = migprobe::analysis;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kOneWayNs = 100'000;  // 0.1 ms each way
constexpr uint32_t kPeerIss = 7'000'000;

// A segment on the wire, either way.
struct Wire {
  uint64_t at_ns = 0;
  bool to_peer = true;
  uint8_t flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;
  bool syn_options = false;
  uint16_t mss = 0;
  int8_t wscale = -1;
  bool has_ts = false;
  uint32_t ts_val = 0;
  std::vector<uint8_t> payload;
};

// The endpoint's surroundings: the wire with its outages, and a peer that is a small but
// honest TCP: it answers the handshake, keeps out-of-order data until the hole is filled
// (sending a duplicate ACK for each), reads into a 64 KiB buffer that an application
// drains (echoing what it reads, or discarding it) unless told to stop reading, offers the
// buffer's free room as its window, resends its own unacknowledged echo after 200 ms, and
// can reset or refuse the port.
class Sim : public TcpSink {
 public:
  static constexpr uint32_t kPeerBuffer = 65535;

  explicit Sim(TcpEndpointConfig c = {}) {
    c.flow_id = 42;
    c.generation = 3;
    c.local_port = 40000;
    ep = TcpEndpoint(c);
    echo = c.echo;
  }

  TcpEndpoint ep;
  bool echo = true;
  bool refuse = false;
  bool reading = true;  // the peer's application reads what arrives
  // Drops a segment sent at t towards the peer (to_peer) or back.
  std::function<bool(uint64_t t, bool to_peer, const Wire& w)> drop =
      [](uint64_t, bool, const Wire&) { return false; };
  std::function<void(Wire&)> mangle_echo = [](Wire&) {};
  std::vector<TcpEndpointEvent> events;
  std::vector<TcpTx> sent;
  uint64_t now = 0;

  // TcpSink: the endpoint sends.
  void send(const TcpTx& t) override {
    sent.push_back(t);
    Wire w;
    w.at_ns = now + kOneWayNs;
    w.to_peer = true;
    w.flags = t.flags;
    w.seq = t.seq;
    w.ack = t.ack;
    w.window = t.window;
    w.payload.resize(t.payload_len);
    if (t.payload_len != 0) {
      EXPECT_TRUE(ep.write_payload(t.payload_offset, t.payload_len, w.payload.data()));
    }
    if (!drop(now, true, w)) wire_.push_back(std::move(w));
  }
  void event(const TcpEndpointEvent& e) override { events.push_back(e); }

  // The peer sends.
  void peer_send(uint8_t flags, uint32_t seq, const std::vector<uint8_t>& payload = {}) {
    Wire w;
    w.at_ns = now + kOneWayNs;
    w.to_peer = false;
    w.flags = flags;
    w.seq = seq;
    w.ack = rcv_nxt_;
    w.window = static_cast<uint16_t>(kPeerBuffer - buffered_.size());
    w.payload = payload;
    if ((flags & an::kTcpSyn) != 0) {
      w.syn_options = true;
      w.mss = 1460;
      w.wscale = 0;
      w.has_ts = true;
      w.ts_val = 1;
    }
    if (!payload.empty()) mangle_echo(w);
    if (!drop(now, false, w)) wire_.push_back(std::move(w));
  }
  void peer_reset() { peer_send(an::kTcpRst | an::kTcpAck, snd_nxt_); }

  void start() { ep.start(now, 1234, *this); }

  // Runs until t_ns.
  void run_until(uint64_t t_ns) {
    while (true) {
      std::stable_sort(wire_.begin(), wire_.end(),
                       [](const Wire& a, const Wire& b) { return a.at_ns < b.at_ns; });
      const uint64_t next_wire = wire_.empty() ? UINT64_MAX : wire_.front().at_ns;
      const uint64_t next_ep = ep.next_deadline_ns();
      const uint64_t next_peer = peer_rto_at_;
      const uint64_t next = std::min({next_wire, next_ep, next_peer});
      if (next > t_ns) break;
      now = std::max(now, next);
      if (next == next_wire) {
        Wire w = std::move(wire_.front());
        wire_.pop_front();
        if (w.to_peer) {
          at_peer(w);
        } else {
          at_endpoint(w);
        }
      } else if (next == next_ep) {
        ep.on_timer(now, *this);
      } else {
        peer_rto();
      }
    }
    now = t_ns;
  }

  uint64_t peer_received() const { return received_; }

 private:
  void at_endpoint(const Wire& w) {
    an::ParsedPacket p;
    p.kind = an::PacketKind::kTcp;
    p.tcp_flags = w.flags;
    p.tcp_seq = w.seq;
    p.tcp_ack = w.ack;
    p.tcp_window = w.window;
    p.tcp_mss = w.mss;
    p.tcp_wscale = w.wscale;
    p.tcp_has_ts = w.has_ts;
    p.tcp_ts_val = w.ts_val;
    p.payload = w.payload.data();
    p.payload_len = static_cast<uint32_t>(w.payload.size());
    p.tcp_len = p.payload_len;
    ep.on_segment(p, now, *this);
  }

  void at_peer(const Wire& w) {
    if ((w.flags & an::kTcpSyn) != 0) {
      rcv_nxt_ = w.seq + 1;
      if (refuse) {
        peer_send(an::kTcpRst | an::kTcpAck, 0);
        return;
      }
      // A new connection each SYN (a reconnection starts afresh).
      snd_una_ = kPeerIss + 1;
      snd_nxt_ = kPeerIss + 1;
      unacked_.clear();
      buffered_.clear();
      out_of_order_.clear();
      peer_send(an::kTcpSyn | an::kTcpAck, kPeerIss);
      return;
    }
    if ((w.flags & an::kTcpAck) != 0 && an::seq_after(w.ack, snd_una_) &&
        !an::seq_after(w.ack, snd_nxt_)) {
      const uint32_t n = w.ack - snd_una_;
      unacked_.erase(unacked_.begin(), unacked_.begin() + std::min<size_t>(n, unacked_.size()));
      snd_una_ = w.ack;
      peer_rto_at_ = unacked_.empty() ? UINT64_MAX : now + 200 * kMs;
    }
    const uint32_t len = static_cast<uint32_t>(w.payload.size());
    const bool fin = (w.flags & an::kTcpFin) != 0;
    if (len == 0 && !fin) return;
    if (an::seq_after(w.seq, rcv_nxt_)) {
      out_of_order_[w.seq] = w.payload;  // kept until the hole is filled
      peer_send(an::kTcpAck, snd_nxt_);  // a duplicate ACK
      return;
    }
    take(w.seq, w.payload, fin);
    while (!out_of_order_.empty() && !an::seq_after(out_of_order_.begin()->first, rcv_nxt_)) {
      const auto it = out_of_order_.begin();
      take(it->first, it->second, false);
      out_of_order_.erase(it);
    }
    read();
    peer_send(an::kTcpAck, snd_nxt_);
  }

 public:
  // The application reads what is buffered (echoing it, or not).
  void read() {
    if (!reading || buffered_.empty()) return;
    if (echo) {
      for (size_t i = 0; i < buffered_.size(); i += 1000) {
        const size_t n = std::min<size_t>(1000, buffered_.size() - i);
        std::vector<uint8_t> piece(buffered_.begin() + i, buffered_.begin() + i + n);
        unacked_.insert(unacked_.end(), piece.begin(), piece.end());
        peer_send(an::kTcpAck | an::kTcpPsh, snd_nxt_, piece);
        snd_nxt_ += static_cast<uint32_t>(n);
      }
      if (peer_rto_at_ == UINT64_MAX) peer_rto_at_ = now + 200 * kMs;
    }
    buffered_.clear();
  }
  // The application starts reading again: the window opens (an update).
  void resume_reading() {
    reading = true;
    read();
    peer_send(an::kTcpAck, snd_nxt_);
  }

 private:
  // In-order data from seq: what is new goes into the buffer, as far as it has room.
  void take(uint32_t seq, const std::vector<uint8_t>& data, bool fin) {
    const uint32_t skip = rcv_nxt_ - seq;
    if (skip > data.size()) return;
    const size_t room = kPeerBuffer - buffered_.size();
    const size_t n = std::min(data.size() - skip, room);
    buffered_.insert(buffered_.end(), data.begin() + skip, data.begin() + skip + n);
    rcv_nxt_ += static_cast<uint32_t>(n);
    received_ += n;
    if (fin && n == data.size() - skip) rcv_nxt_ += 1;
  }

  void peer_rto() {
    peer_rto_at_ = unacked_.empty() ? UINT64_MAX : now + 200 * kMs;
    if (unacked_.empty()) return;
    const size_t n = std::min<size_t>(unacked_.size(), 1000);
    peer_send(an::kTcpAck | an::kTcpPsh, snd_una_,
              std::vector<uint8_t>(unacked_.begin(), unacked_.begin() + n));
  }

  std::deque<Wire> wire_;
  uint32_t rcv_nxt_ = 0;
  uint32_t snd_una_ = kPeerIss + 1;
  uint32_t snd_nxt_ = kPeerIss + 1;
  std::vector<uint8_t> unacked_;
  std::vector<uint8_t> buffered_;
  std::map<uint32_t, std::vector<uint8_t>, bool (*)(uint32_t, uint32_t)> out_of_order_{
      [](uint32_t a, uint32_t b) { return an::seq_after(b, a); }};
  uint64_t peer_rto_at_ = UINT64_MAX;
  uint64_t received_ = 0;
};

int count(const std::vector<TcpEndpointEvent>& ev, TcpEndpointEvent::Kind k) {
  return static_cast<int>(
      std::count_if(ev.begin(), ev.end(), [k](const auto& e) { return e.kind == k; }));
}

TEST(TcpEndpoint, HandshakeOffersItsOptionsAndEstablishes) {
  Sim s;
  s.start();
  ASSERT_EQ(s.sent.size(), 1U);
  const TcpTx& syn = s.sent[0];
  EXPECT_EQ(syn.flags, an::kTcpSyn);
  EXPECT_TRUE(syn.syn_options);
  EXPECT_EQ(syn.mss, 1460);
  EXPECT_EQ(syn.wscale, TcpEndpoint::kWindowScale);
  EXPECT_TRUE(syn.has_ts);
  s.run_until(1 * kMs);
  EXPECT_TRUE(s.ep.established());
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kEstablished), 1);
  EXPECT_EQ(s.ep.meter().connection().established, 1U);
  // The handshake's round trip (0.2 ms) gave the first RTO: the floor.
  EXPECT_EQ(s.ep.rto_ns(), 200 * kMs);
}

TEST(TcpEndpoint, PacedEchoStreamComesBackIntact) {
  TcpEndpointConfig c;
  c.rate_bytes_per_s = 1'000'000;
  c.segment_bytes = 1000;
  Sim s(c);
  s.start();
  s.run_until(2000 * kMs);
  s.ep.finish(s.now);
  const an::TcpDirectionStats& d = s.ep.meter().opener();
  // About 2 s at 1 MB/s.
  EXPECT_GE(d.bytes_sent, 1'990'000U);
  EXPECT_LE(d.bytes_sent, 2'001'000U);
  EXPECT_GE(d.bytes_acked, d.bytes_sent - 2000);
  EXPECT_EQ(d.retransmitted_segments, 0U);
  EXPECT_EQ(d.dup_acks, 0U);
  EXPECT_GE(s.ep.echo().bytes_echoed, d.bytes_sent - 2000);
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 0U);
  EXPECT_EQ(s.ep.echo().out_of_order_segments, 0U);
  EXPECT_GE(s.ep.echo().echo_samples, 1990U);
  // Each chunk's send-to-echo time: two one-way delays.
  EXPECT_EQ(s.ep.echo().echo_max_ns, 2 * kOneWayNs);
  EXPECT_EQ(s.ep.meter().connection().established, 1U);
  // Chunks start with the trailer: flow 42, generation 3, chunk number as sequence.
  std::vector<uint8_t> bytes(1000);
  const uint64_t last_chunk = d.bytes_sent / 1000 - 1;
  ASSERT_TRUE(s.ep.write_payload(last_chunk * 1000, 1000, bytes.data()));
  an::ProbeTrailer t;
  ASSERT_EQ(an::decode_trailer(bytes.data(), bytes.size(), &t), an::TrailerError::kNone);
  EXPECT_EQ(t.flow_id, 42U);
  EXPECT_EQ(t.generation, 3);
  EXPECT_EQ(t.seq, last_chunk);
  // What left long ago is no longer kept: the ring holds the recent chunks.
  EXPECT_FALSE(s.ep.write_payload(0, 1000, bytes.data()));
}

TEST(TcpEndpoint, OutageHealsByTimeoutsWithinTheRtoInForce) {
  Sim s;
  const uint64_t from = 500 * kMs;
  const uint64_t to = 1300 * kMs;
  s.drop = [&](uint64_t t, bool, const Wire&) { return t >= from && t < to; };
  s.start();
  s.run_until(4000 * kMs);
  s.ep.finish(s.now);
  const an::TcpDirectionStats& d = s.ep.meter().opener();
  EXPECT_GE(d.timeout_retransmits, 1U);
  EXPECT_EQ(d.fast_retransmits, 0U);
  ASSERT_EQ(s.ep.meter().episodes(true).size(), 1U);
  const an::TcpEpisode& e = s.ep.meter().episodes(true)[0];
  EXPECT_FALSE(e.reset);
  EXPECT_FALSE(e.open);
  // Retransmissions at +200, +600, +1400 ms of the last progress (RTO 200 ms, doubling):
  // the one at +1400 ms gets through; the RTO in force when the path came back was 800 ms.
  const uint64_t outage = to - from;
  EXPECT_GE(e.stall_ns, outage);
  EXPECT_LE(e.stall_ns, outage + 800 * kMs + 1 * kMs);
  EXPECT_EQ(d.longest_stall_ns, e.stall_ns);
  // Nothing lost: everything sent was acknowledged and came back intact.
  EXPECT_GE(d.bytes_acked, d.bytes_sent - 2000);
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 0U);
  EXPECT_GE(s.ep.echo().bytes_echoed, d.bytes_sent - 3000);
  EXPECT_TRUE(s.ep.meter().resets().empty());
}

TEST(TcpEndpoint, OneLostSegmentIsRetransmittedFast) {
  Sim s;
  bool dropped = false;
  s.drop = [&](uint64_t t, bool to_peer, const Wire& w) {
    if (dropped || !to_peer || t < 300 * kMs || w.payload.empty()) return false;
    dropped = true;
    return true;
  };
  s.start();
  s.run_until(1000 * kMs);
  s.ep.finish(s.now);
  const an::TcpDirectionStats& d = s.ep.meter().opener();
  EXPECT_EQ(d.fast_retransmits, 1U);
  EXPECT_EQ(d.timeout_retransmits, 0U);
  EXPECT_GE(d.dup_acks, 3U);
  ASSERT_EQ(s.ep.meter().episodes(true).size(), 1U);
  // Recovered a few segments later: far below the 200 ms RTO.
  EXPECT_LT(s.ep.meter().episodes(true)[0].stall_ns, 10 * kMs);
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 0U);
}

TEST(TcpEndpoint, ZeroWindowWaitsWithoutLossThenResumes) {
  Sim s;
  s.start();
  s.run_until(200 * kMs);
  s.reading = false;  // the peer's buffer fills, its window closes
  s.run_until(900 * kMs);
  const uint64_t sent_closed = s.ep.meter().opener().bytes_sent;
  s.resume_reading();
  s.run_until(2000 * kMs);
  s.ep.finish(s.now);
  const an::TcpDirectionStats& d = s.ep.meter().opener();
  EXPECT_EQ(d.zero_windows, 1U);
  // Closed from about 265 ms (64 KiB later) to 900 ms.
  EXPECT_GE(d.zero_window_ns, 600 * kMs);
  EXPECT_LE(d.zero_window_ns, 640 * kMs);
  EXPECT_EQ(d.retransmitted_segments, 0U);
  EXPECT_TRUE(s.ep.meter().episodes(true).empty());
  EXPECT_GT(d.bytes_sent, sent_closed + 1'000'000);  // it resumed
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 0U);
  EXPECT_GE(s.ep.echo().bytes_echoed, d.bytes_sent - 2000);
}

TEST(TcpEndpoint, ResetCountsTheLossAndReconnects) {
  Sim s;
  s.start();
  s.run_until(500 * kMs);
  // The path back fails, then the peer resets: data in flight is lost.
  s.drop = [&](uint64_t, bool to_peer, const Wire&) { return to_peer; };
  s.run_until(550 * kMs);
  s.drop = [](uint64_t, bool, const Wire&) { return false; };
  s.peer_reset();
  s.run_until(560 * kMs);
  ASSERT_EQ(count(s.events, TcpEndpointEvent::kReset), 1);
  const auto reset = *std::find_if(s.events.begin(), s.events.end(), [](const auto& e) {
    return e.kind == TcpEndpointEvent::kReset;
  });
  EXPECT_GT(reset.unacked_bytes, 30'000U);  // 50 ms at 1 MB/s, never acknowledged
  EXPECT_EQ(reset.reconnect_at_ns, reset.ts_ns + 1000 * kMs);
  EXPECT_FALSE(s.ep.established());
  ASSERT_EQ(s.ep.meter().resets().size(), 1U);
  EXPECT_EQ(s.ep.meter().resets()[0].unacked_opener, reset.unacked_bytes);
  s.run_until(2000 * kMs);
  EXPECT_TRUE(s.ep.established());
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kEstablished), 2);
  EXPECT_EQ(s.ep.meter().connection().connections, 2U);
  EXPECT_EQ(s.ep.meter().connection().established, 2U);
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 0U);
}

TEST(TcpEndpoint, RefusedPortIsNeverEstablishedAndBacksOff) {
  Sim s;
  s.refuse = true;
  s.start();
  s.run_until(10'000 * kMs);
  s.ep.finish(s.now);
  // Refused at 0 s, then tried again at 1, 3 and 7 s (the back-off doubles).
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kRefused), 4);
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kEstablished), 0);
  EXPECT_EQ(s.ep.meter().connection().established, 0U);
  EXPECT_EQ(s.ep.meter().connection().connections, 4U);
  EXPECT_EQ(s.ep.meter().opener().bytes_sent, 0U);
  EXPECT_EQ(s.ep.echo().refused, 4U);
}

TEST(TcpEndpoint, UnansweredSynGivesUpAfterItsRetries) {
  Sim s;
  s.drop = [](uint64_t, bool to_peer, const Wire&) { return to_peer; };
  s.start();
  s.run_until(15'500 * kMs);
  // SYN at 0, then at 1, 3 and 7 s; given up at 15 s.
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kUnanswered), 1);
  EXPECT_EQ(s.ep.meter().opener().syns, 4U);
  EXPECT_EQ(s.ep.meter().connection().established, 0U);
}

TEST(TcpEndpoint, CorruptedEchoIsCounted) {
  Sim s;
  int corrupted = 0;
  s.mangle_echo = [&](Wire& w) {
    if (corrupted == 0 && s.now > 300 * kMs) {
      w.payload[w.payload.size() / 2] ^= 0x40;
      ++corrupted;
    }
  };
  s.start();
  s.run_until(600 * kMs);
  EXPECT_EQ(corrupted, 1);
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 1U);
}

TEST(TcpEndpoint, DiscardPeerIsAcknowledgedAndNotEchoed) {
  TcpEndpointConfig c;
  c.echo = false;
  Sim s(c);
  s.start();
  s.run_until(1000 * kMs);
  EXPECT_GE(s.ep.meter().opener().bytes_acked, 990'000U);
  EXPECT_EQ(s.ep.echo().bytes_echoed, 0U);
  EXPECT_EQ(s.ep.echo().unexpected_bytes, 0U);
}

TEST(TcpEndpoint, CraftedSegmentsDoNotMoveIt) {
  Sim s;
  s.start();
  s.run_until(100 * kMs);
  ASSERT_TRUE(s.ep.established());
  const size_t sent_before = s.sent.size();
  an::ParsedPacket p;
  p.kind = an::PacketKind::kTcp;
  // An ACK of data never sent: answered with an ACK, nothing acknowledged.
  p.tcp_flags = an::kTcpAck;
  p.tcp_seq = s.sent.back().ack;
  p.tcp_ack = s.sent.back().seq + 50'000'000;
  p.tcp_window = 65535;
  const uint64_t acked = s.ep.meter().opener().bytes_acked;
  s.ep.on_segment(p, s.now, s);
  EXPECT_EQ(s.ep.meter().opener().bytes_acked, acked);
  EXPECT_EQ(s.sent.size(), sent_before + 1);
  EXPECT_EQ(s.sent.back().flags, an::kTcpAck);
  // A reset inside the window but not at the expected sequence: a challenge ACK, no reset.
  p.tcp_flags = an::kTcpRst;
  p.tcp_seq = s.sent.back().ack + 1000;
  s.ep.on_segment(p, s.now, s);
  EXPECT_TRUE(s.ep.established());
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kReset), 0);
  EXPECT_EQ(s.sent.back().flags, an::kTcpAck);
  // Far outside the window: ignored.
  const size_t sent_now = s.sent.size();
  p.tcp_seq = s.sent.back().ack + 0x40000000;
  s.ep.on_segment(p, s.now, s);
  EXPECT_EQ(s.sent.size(), sent_now);
  s.run_until(1000 * kMs);
  EXPECT_TRUE(s.ep.established());
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 0U);
}

// A segment of the peer as a test crafts it; payload, when given, must outlive the call
// that reads it.
an::ParsedPacket crafted(uint8_t flags, uint32_t seq, uint32_t ack,
                         const std::vector<uint8_t>* payload = nullptr) {
  an::ParsedPacket p;
  p.kind = an::PacketKind::kTcp;
  p.tcp_flags = flags;
  p.tcp_seq = seq;
  p.tcp_ack = ack;
  p.tcp_window = 65535;
  if (payload != nullptr) {
    p.payload = payload->data();
    p.payload_len = static_cast<uint32_t>(payload->size());
    p.tcp_len = p.payload_len;
  }
  return p;
}

// Where an established stream stands when the wire is quiet (everything sent acknowledged
// and echoed): the endpoint's last segment is its ACK of the echo, at snd_max, acknowledging
// rcv_nxt.
struct Quiet {
  uint32_t snd_max = 0;
  uint32_t rcv_nxt = 0;
};
Quiet quiet(const Sim& s) {
  EXPECT_EQ(s.sent.back().flags, an::kTcpAck);
  EXPECT_EQ(s.sent.back().payload_len, 0U);
  return Quiet{s.sent.back().seq, s.sent.back().ack};
}

// Runs the stream on for ms and expects it to have kept moving at its 1 MB/s, by what the
// endpoint sent and what came back rather than by its meter (which segments the endpoint
// dropped can stop: DISABLED_MeterMeasuresOnlyWhatTheEndpointTakes): new data sent, none of
// it again, all of it received in order by the peer and echoed back intact, the connection
// neither reset nor opened again meanwhile.
void expect_keeps_moving(Sim& s, uint64_t ms) {
  const size_t from = s.sent.size();
  const uint64_t received = s.peer_received();
  const uint64_t echoed = s.ep.echo().bytes_echoed;
  const int connections = count(s.events, TcpEndpointEvent::kEstablished);
  const int resets = count(s.events, TcpEndpointEvent::kReset);
  s.run_until(s.now + ms * kMs);
  uint64_t new_bytes = 0;
  uint32_t again = 0;
  uint32_t end = 0;  // of the newest data sent
  for (size_t i = from; i < s.sent.size(); ++i) {
    const TcpTx& t = s.sent[i];
    if (t.payload_len == 0) continue;
    if (new_bytes != 0 && !an::seq_after(t.seq + t.payload_len, end)) {
      ++again;
      continue;
    }
    new_bytes += t.payload_len;
    end = t.seq + t.payload_len;
  }
  EXPECT_TRUE(s.ep.established());
  EXPECT_GE(new_bytes, (ms - 2) * 1000);
  EXPECT_EQ(again, 0U) << "segments sent again";
  EXPECT_GE(s.peer_received(), received + (ms - 2) * 1000);
  EXPECT_GE(s.ep.echo().bytes_echoed, echoed + (ms - 3) * 1000);
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 0U);
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kEstablished), connections);
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kReset), resets);
}

TEST(TcpEndpoint, AckBeyondWhatWasSentIsOutOfWindow) {
  Sim s;
  s.start();
  s.run_until(100 * kMs);
  ASSERT_TRUE(s.ep.established());
  const Quiet q = quiet(s);
  const uint64_t acked = s.ep.meter().opener().bytes_acked;
  const size_t sent = s.sent.size();
  // One byte past the last one sent: answered with an ACK saying where we are, nothing taken.
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpAck, q.rcv_nxt, q.snd_max + 1), s.now, s),
            an::DropReason::kTCP_OUT_OF_WINDOW);
  ASSERT_EQ(s.sent.size(), sent + 1);
  EXPECT_EQ(s.sent.back().flags, an::kTcpAck);
  EXPECT_EQ(s.sent.back().seq, q.snd_max);
  EXPECT_EQ(s.sent.back().ack, q.rcv_nxt);
  EXPECT_EQ(s.ep.meter().opener().bytes_acked, acked);
  // Data riding on such an ACK is not taken either.
  const std::vector<uint8_t> data(100, 0x55);
  EXPECT_EQ(
      s.ep.on_segment(crafted(an::kTcpAck | an::kTcpPsh, q.rcv_nxt, q.snd_max + 100'000, &data),
                      s.now, s),
      an::DropReason::kTCP_OUT_OF_WINDOW);
  EXPECT_EQ(s.sent.back().ack, q.rcv_nxt);
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 0U);
  // The ACK of exactly what was sent is a valid (duplicate) one.
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpAck, q.rcv_nxt, q.snd_max), s.now, s),
            an::DropReason::kNone);
  expect_keeps_moving(s, 500);
}

TEST(TcpEndpoint, DataPastTheReceiveWindowIsOutOfWindow) {
  Sim s;
  s.start();
  s.run_until(100 * kMs);
  ASSERT_TRUE(s.ep.established());
  const Quiet q = quiet(s);
  const std::vector<uint8_t> data(1000, 0xaa);
  const size_t sent = s.sent.size();
  const TcpEchoStats before = s.ep.echo();
  // From the window's end on: not data of this connection; our ACK says what we expect.
  for (const uint32_t past :
       {TcpEndpoint::kReceiveWindow, TcpEndpoint::kReceiveWindow + 1'000U, 0x40000000U}) {
    EXPECT_EQ(s.ep.on_segment(
                  crafted(an::kTcpAck | an::kTcpPsh, q.rcv_nxt + past, q.snd_max, &data), s.now, s),
              an::DropReason::kTCP_OUT_OF_WINDOW)
        << past << " bytes past the next expected";
    EXPECT_EQ(s.sent.back().flags, an::kTcpAck);
    EXPECT_EQ(s.sent.back().ack, q.rcv_nxt);
  }
  EXPECT_EQ(s.sent.size(), sent + 3);
  // None of it read.
  EXPECT_EQ(s.ep.echo().out_of_order_segments, before.out_of_order_segments);
  EXPECT_EQ(s.ep.echo().bytes_echoed, before.bytes_echoed);
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 0U);
  // Inside the window, after a hole: out of order, dropped and acknowledged (the peer sends
  // it again), not an error.
  EXPECT_EQ(
      s.ep.on_segment(crafted(an::kTcpAck | an::kTcpPsh,
                              q.rcv_nxt + TcpEndpoint::kReceiveWindow - 1000, q.snd_max, &data),
                      s.now, s),
      an::DropReason::kNone);
  EXPECT_EQ(s.ep.echo().out_of_order_segments, 1U);
  EXPECT_EQ(s.sent.back().ack, q.rcv_nxt);
  expect_keeps_moving(s, 500);
}

TEST(TcpEndpoint, ResetOutsideTheWindowIsOutOfWindowInsideItIsChallenged) {
  Sim s;
  s.start();
  s.run_until(100 * kMs);
  ASSERT_TRUE(s.ep.established());
  const Quiet q = quiet(s);
  const size_t sent = s.sent.size();
  // Before the next expected sequence, and from the window's end on: ignored, no answer.
  for (const uint32_t seq : {q.rcv_nxt - 1, q.rcv_nxt - 100'000,
                             q.rcv_nxt + TcpEndpoint::kReceiveWindow, q.rcv_nxt + 0x40000000U}) {
    for (const uint8_t flags : {an::kTcpRst, static_cast<uint8_t>(an::kTcpRst | an::kTcpAck)}) {
      EXPECT_EQ(s.ep.on_segment(crafted(flags, seq, q.snd_max), s.now, s),
                an::DropReason::kTCP_OUT_OF_WINDOW)
          << "a reset at rcv_nxt + " << static_cast<int32_t>(seq - q.rcv_nxt);
    }
  }
  EXPECT_EQ(s.sent.size(), sent);
  EXPECT_TRUE(s.ep.established());
  // Inside the window but not at the next expected sequence: taken as a question (RFC 5961
  // 3.2), answered with a challenge ACK of where we are; the connection stays.
  for (const uint32_t off : {1U, 1000U, TcpEndpoint::kReceiveWindow - 1}) {
    EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpRst, q.rcv_nxt + off, 0), s.now, s),
              an::DropReason::kNone);
    EXPECT_EQ(s.sent.back().flags, an::kTcpAck);
    EXPECT_EQ(s.sent.back().seq, q.snd_max);
    EXPECT_EQ(s.sent.back().ack, q.rcv_nxt);
  }
  EXPECT_EQ(s.sent.size(), sent + 3);
  EXPECT_TRUE(s.ep.established());
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kReset), 0);
  expect_keeps_moving(s, 500);
}

TEST(TcpEndpoint, SegmentThatDoesNotAnswerTheSynIsResetAndOutOfWindow) {
  Sim s;
  s.start();  // the SYN is on the wire; the peer's SYN-ACK comes at 0.2 ms
  ASSERT_EQ(s.sent.size(), 1U);
  const uint32_t iss = s.sent[0].seq;
  // An ACK of something else: a reset from that acknowledgement (RFC 793 3.4).
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpAck, 1000, iss + 2), s.now, s),
            an::DropReason::kTCP_OUT_OF_WINDOW);
  ASSERT_EQ(s.sent.size(), 2U);
  EXPECT_EQ(s.sent.back().flags, an::kTcpRst);
  EXPECT_EQ(s.sent.back().seq, iss + 2);
  // A SYN-ACK of another SYN (an old connection's): the same.
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpSyn | an::kTcpAck, 2000, iss - 5), s.now, s),
            an::DropReason::kTCP_OUT_OF_WINDOW);
  ASSERT_EQ(s.sent.size(), 3U);
  EXPECT_EQ(s.sent.back().flags, an::kTcpRst);
  EXPECT_EQ(s.sent.back().seq, iss - 5);
  // A SYN without an ACK (a simultaneous open, which it does not do): a reset acknowledging it.
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpSyn, kPeerIss - 10'000, 0), s.now, s),
            an::DropReason::kTCP_OUT_OF_WINDOW);
  ASSERT_EQ(s.sent.size(), 4U);
  EXPECT_EQ(s.sent.back().flags, an::kTcpRst | an::kTcpAck);
  EXPECT_EQ(s.sent.back().ack, kPeerIss - 10'000 + 1);
  // A reset that does not acknowledge our SYN: not a refusal, and never answered.
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpRst | an::kTcpAck, 0, iss + 7), s.now, s),
            an::DropReason::kTCP_OUT_OF_WINDOW);
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpRst, 0, 0), s.now, s),
            an::DropReason::kTCP_OUT_OF_WINDOW);
  // Our SYN acknowledged without the peer's SYN: nothing to synchronise to, dropped quietly.
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpAck, 3000, iss + 1), s.now, s),
            an::DropReason::kTCP_OUT_OF_WINDOW);
  EXPECT_EQ(s.sent.size(), 4U);
  EXPECT_FALSE(s.ep.established());
  EXPECT_TRUE(s.events.empty());
  EXPECT_EQ(s.ep.echo().refused, 0U);
  // The real SYN-ACK still completes the handshake, and the stream runs.
  s.run_until(1 * kMs);
  ASSERT_TRUE(s.ep.established());
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kEstablished), 1);
  expect_keeps_moving(s, 500);
}

TEST(TcpEndpoint, SegmentsAfterTheConnectionIsOverAreForNoConnection) {
  Sim s;
  s.start();
  s.run_until(100 * kMs);
  ASSERT_TRUE(s.ep.established());
  const Quiet q = quiet(s);
  s.peer_reset();
  s.run_until(101 * kMs);
  ASSERT_EQ(count(s.events, TcpEndpointEvent::kReset), 1);
  ASSERT_FALSE(s.ep.established());  // waiting to reconnect, 1 s after the reset
  const std::vector<uint8_t> data(500, 0x33);
  size_t sent = s.sent.size();
  // Data of the connection that is over: a reset from its acknowledgement, so the peer
  // forgets the connection too.
  EXPECT_EQ(
      s.ep.on_segment(crafted(an::kTcpAck | an::kTcpPsh, q.rcv_nxt, q.snd_max, &data), s.now, s),
      an::DropReason::kTCP_NO_CONNECTION);
  ASSERT_EQ(s.sent.size(), ++sent);
  EXPECT_EQ(s.sent.back().flags, an::kTcpRst);
  EXPECT_EQ(s.sent.back().seq, q.snd_max);
  // Without an ACK: a reset acknowledging it.
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpPsh, q.rcv_nxt, 0, &data), s.now, s),
            an::DropReason::kTCP_NO_CONNECTION);
  ASSERT_EQ(s.sent.size(), ++sent);
  EXPECT_EQ(s.sent.back().flags, an::kTcpRst | an::kTcpAck);
  EXPECT_EQ(s.sent.back().ack, q.rcv_nxt + 500);
  // A bare ACK (of a FIN we sent, say), a FIN and a reset: no connection, no answer.
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpAck, q.rcv_nxt, q.snd_max), s.now, s),
            an::DropReason::kTCP_NO_CONNECTION);
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpFin | an::kTcpAck, q.rcv_nxt, q.snd_max), s.now, s),
            an::DropReason::kTCP_NO_CONNECTION);
  EXPECT_EQ(s.ep.on_segment(crafted(an::kTcpRst | an::kTcpAck, q.rcv_nxt, q.snd_max), s.now, s),
            an::DropReason::kTCP_NO_CONNECTION);
  EXPECT_EQ(s.sent.size(), sent);
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kReset), 1);
  EXPECT_EQ(s.ep.echo().bytes_mismatched, 0U);
  // The reconnection is not held up: a new connection 1 s after the reset, and it streams.
  s.run_until(1200 * kMs);
  ASSERT_TRUE(s.ep.established());
  EXPECT_EQ(count(s.events, TcpEndpointEvent::kEstablished), 2);
  expect_keeps_moving(s, 500);
}

// A product flaw the tests above show: TcpEndpoint::on_segment hands every segment to its
// meter before judging it, and emit() hands it the resets the endpoint sends for segments of
// no connection, so segments the endpoint drops move the figures migprobe-dp reports
// (TcpStreamReport, the TCP verdicts), while the connection itself streams on:
//   - a reset outside the window, or inside it and challenged, is recorded as a reset, and
//     the meter measures nothing more until the next handshake (which never comes);
//   - data far past the receive window counts as the peer's, and the peer's real data after
//     it counts as retransmissions, not as data (its highest sequence jumped ahead);
//   - in SYN-SENT, the reset answering a stray ACK is recorded as ours, and the connection
//     established right after is never measured (established 0, no bytes);
//   - after a reset, the reset answering the old connection's data is a second reset.
// Each case here expects the figures of the same run without the crafted segment. Enable
// once tcp_endpoint.cc feeds the meter only the segments it takes (and not its resets for
// segments of no connection).
TEST(TcpEndpoint, MeterMeasuresOnlyWhatTheEndpointTakes) {
  const std::vector<uint8_t> data(1000, 0xaa);
  const auto run = [&](const char* what, const std::function<void(Sim&, const Quiet&)>& craft) {
    SCOPED_TRACE(what);
    Sim s;
    s.start();
    s.run_until(100 * kMs);
    craft(s, quiet(s));
    s.run_until(s.now + 1000 * kMs);
    const an::TcpDirectionStats& o = s.ep.meter().opener();
    EXPECT_EQ(s.ep.meter().connection().established,
              static_cast<uint64_t>(count(s.events, TcpEndpointEvent::kEstablished)));
    EXPECT_EQ(s.ep.meter().resets().size(),
              static_cast<size_t>(count(s.events, TcpEndpointEvent::kReset)));
    // What was measured matches what moved.
    EXPECT_GE(o.bytes_sent + 1000, s.peer_received());
    EXPECT_GE(o.bytes_acked + 2000, s.peer_received());
    EXPECT_GE(s.ep.meter().peer().bytes_sent + 2000, s.ep.echo().bytes_echoed);
    EXPECT_LE(s.ep.meter().peer().bytes_sent, s.ep.echo().bytes_echoed + 1000);
    EXPECT_EQ(s.ep.meter().peer().retransmitted_segments, 0U);
  };
  run("nothing crafted (the expectations hold)", [](Sim&, const Quiet&) {});
  run("a reset outside the window", [](Sim& s, const Quiet& q) {
    s.ep.on_segment(crafted(an::kTcpRst, q.rcv_nxt + 0x40000000, 0), s.now, s);
  });
  run("a reset inside the window, challenged", [](Sim& s, const Quiet& q) {
    s.ep.on_segment(crafted(an::kTcpRst, q.rcv_nxt + 1000, 0), s.now, s);
  });
  run("data past the receive window", [&](Sim& s, const Quiet& q) {
    s.ep.on_segment(crafted(an::kTcpAck | an::kTcpPsh, q.rcv_nxt + 0x40000000, q.snd_max, &data),
                    s.now, s);
  });
  run("data after a reset", [&](Sim& s, const Quiet& q) {
    s.peer_reset();
    s.run_until(s.now + 1 * kMs);
    s.ep.on_segment(crafted(an::kTcpAck | an::kTcpPsh, q.rcv_nxt, q.snd_max, &data), s.now, s);
  });
  {
    SCOPED_TRACE("a stray ACK in SYN-SENT");
    Sim s;
    s.start();
    s.ep.on_segment(crafted(an::kTcpAck, 1000, s.sent[0].seq + 2), s.now, s);
    s.run_until(1000 * kMs);
    EXPECT_EQ(s.ep.meter().connection().established, 1U);
    EXPECT_TRUE(s.ep.meter().resets().empty());
    EXPECT_GE(s.ep.meter().opener().bytes_sent + 1000, s.peer_received());
  }
}

TEST(TcpEndpoint, StopSendsFinAfterTheData) {
  Sim s;
  s.start();
  s.run_until(300 * kMs);
  s.ep.stop(s.now, s);
  EXPECT_EQ(s.sent.back().flags & an::kTcpFin, an::kTcpFin);
  s.run_until(1000 * kMs);
  s.ep.finish(s.now);
  EXPECT_EQ(s.ep.next_deadline_ns(), UINT64_MAX);
  EXPECT_EQ(s.ep.meter().opener().unacked_bytes, 0U);
  EXPECT_EQ(s.ep.meter().opener().fins, 1U);
}

}  // namespace
}  // namespace migprobe::dataplane
