#pragma once
// The probe's end of one TCP flow (DESIGN.md "The probe packet", TCP): a real connection to
// an echo or discard service in the guest, driven by the dataplane.
//   - Active open with MSS, window scaling and timestamps; reconnection after a reset, a
//     refusal or the peer's close, after a back-off that doubles up to a bound.
//   - Payload paced at a rate in bytes per second, in segments of a size; each byte is a
//     function of its offset in the stream, and every segment-size chunk starts with the
//     probe trailer (flow id, generation, the chunk's number as sequence, its first send
//     time), so a retransmission carries the same bytes and a capture tells the flow apart.
//   - The peer's window respected (window probes at zero); retransmission as a stack does
//     it: RTO from SRTT and RTTVAR (RFC 6298) with a floor and exponential back-off, then
//     go-back-N in slow start (one segment, one more per segment acknowledged), no new data
//     until it is done; fast retransmit on the third duplicate ACK and NewReno partial ACKs
//     (RFC 6582).
//   - Echo mode: what comes back is read in order, acknowledged and compared with what was
//     sent, byte for byte; out-of-order data is dropped and acknowledged (the peer resends).
// Every segment it sends or takes goes through its TcpMeter (analysis/tcp_meter.h), the one
// migprobe-analyze runs on a capture: the figures it reports are the meter's. No
// allocation, no locks, no DPDK: the owner (the TX core's TcpFlows, tcp_flows.h) calls it
// with each segment of the connection and when next_deadline_ns() has passed, and puts the
// segments it emits on the wire.

#include <array>
#include <cstdint>

#include "analysis/drop_reason.h"
#include "analysis/packet.h"
#include "analysis/sequence.h"
#include "analysis/tcp_meter.h"

namespace migprobe::dataplane {

// migprobe-dp's TCP ports (a flow's local port): kTcpPortBase + slot, for up to kMaxTcpSlots flows.
inline constexpr uint16_t kTcpPortBase = 49152;
inline constexpr uint32_t kMaxTcpSlots = 65536 - kTcpPortBase;

// The slot of a local port; kMaxTcpSlots when the port is not one of ours.
inline uint32_t tcp_slot_of_port(uint16_t port) {
  return port >= kTcpPortBase ? port - kTcpPortBase : kMaxTcpSlots;
}

// How a TCP flow runs.
struct TcpEndpointConfig {
  uint32_t flow_id = 0;
  uint8_t generation = 0;
  uint64_t rate_bytes_per_s = 1'000'000;
  uint32_t segment_bytes = 1000;  // payload per segment, trailer included (>= 18)
  bool echo = true;               // the peer echoes (check it); false: it discards
  uint16_t local_port = 0;
  uint16_t peer_port = 7;
  uint64_t rto_min_ns = 200'000'000;  // as Linux
  uint64_t rto_initial_ns = 1'000'000'000;
  uint64_t rto_max_ns = 60'000'000'000;
  uint64_t reconnect_min_ns = 1'000'000'000;
  uint64_t reconnect_max_ns = 30'000'000'000;
  uint32_t syn_retries = 3;  // then the attempt has failed (1 + 2 + 4 + 8 s at the initial RTO)
};

// A segment to put on the wire. Its payload is payload_len bytes of the stream from
// payload_offset on, written by TcpEndpoint::write_payload.
struct TcpTx {
  uint8_t flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;       // the field as sent (scaled)
  bool syn_options = false;  // MSS, window scale, SACK not permitted, timestamps
  bool has_ts = false;
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
  uint16_t mss = 0;
  uint8_t wscale = 0;
  uint64_t payload_offset = 0;
  uint32_t payload_len = 0;
};

// What happened to the connection, for the control thread.
struct TcpEndpointEvent {
  enum Kind : uint8_t {
    kEstablished,  // a handshake completed (the first, or a reconnection)
    kRefused,      // the peer answered the SYN with a reset (no service on the port)
    kUnanswered,   // the SYN got no answer after its retries
    kReset,        // an established connection was reset
    kPeerClosed,   // the peer closed (FIN)
  };
  Kind kind = kEstablished;
  uint64_t ts_ns = 0;
  bool by_peer = true;          // kReset: who sent the RST
  uint64_t unacked_bytes = 0;   // kReset, kPeerClosed: sent, never acknowledged
  uint64_t unechoed_bytes = 0;  // acknowledged, never echoed back (echo mode)
  uint64_t reconnect_at_ns = 0;
};

// Where an endpoint's output goes.
class TcpSink {
 public:
  virtual void send(const TcpTx& segment) = 0;
  virtual void event(const TcpEndpointEvent& event) = 0;

 protected:
  ~TcpSink() = default;
};

// Figures the meter does not keep: the echo and the endpoint's own doings.
struct TcpEchoStats {
  uint64_t bytes_echoed = 0;           // received back in order
  uint64_t bytes_mismatched = 0;       // of those, not what was sent at that offset
  uint64_t out_of_order_segments = 0;  // dropped, acknowledged, resent by the peer
  uint64_t echo_samples = 0;           // chunks whose trailer came back: send to echo time
  uint64_t echo_sum_ns = 0;
  uint64_t echo_max_ns = 0;
  uint64_t unexpected_bytes = 0;  // data from a discard peer
  uint32_t refused = 0;
  uint32_t unanswered = 0;
  uint32_t peer_closed = 0;
};

class TcpEndpoint {
 public:
  static constexpr uint32_t kChunkRing = 256;  // chunks in flight or awaiting their echo
  static constexpr uint8_t kWindowScale = 4;
  static constexpr uint32_t kReceiveWindow = 65535U << kWindowScale;  // about 1 MiB

  TcpEndpoint() = default;
  explicit TcpEndpoint(const TcpEndpointConfig& c) : c_(c) {}

  // Opens the connection now (a SYN); isn_seed varies the initial sequence numbers.
  void start(uint64_t now_ns, uint32_t isn_seed, TcpSink& out);
  // Stops sending: a FIN after what is outstanding. Timers stop once it is acknowledged.
  void stop(uint64_t now_ns, TcpSink& out);
  // A segment of this connection (ports and addresses checked by the owner). Returns why it
  // was not taken: kTCP_OUT_OF_WINDOW (a sequence or acknowledgement outside the windows,
  // or no answer to our SYN), kTCP_NO_CONNECTION (the connection is gone: answered with a
  // reset, as a stack does, so the peer forgets it too); kNone when taken.
  analysis::DropReason on_segment(const analysis::ParsedPacket& p, uint64_t now_ns, TcpSink& out);
  // Runs the timers due at now_ns (pacing, retransmission, window probe, reconnection).
  void on_timer(uint64_t now_ns, TcpSink& out);
  // When on_timer is next due; UINT64_MAX when nothing is.
  uint64_t next_deadline_ns() const;

  // Writes len bytes of the stream from offset into out, as this flow sends them: the
  // trailer at every chunk start, the pattern elsewhere. False when a chunk's send time is
  // no longer kept (it was acknowledged and echoed long ago).
  bool write_payload(uint64_t offset, uint32_t len, uint8_t* out) const;

  // Ends the measurement at now_ns (the meter's finish).
  void finish(uint64_t now_ns);

  const analysis::TcpMeter& meter() const { return meter_; }
  const TcpEchoStats& echo() const { return echo_; }
  bool established() const { return state_ == State::kEstablished; }
  uint64_t rto_ns() const { return rto_ns_; }
  const TcpEndpointConfig& config() const { return c_; }

 private:
  enum class State : uint8_t {
    kClosed,  // not started, or stopped and done
    kSynSent,
    kEstablished,
    kFinWait,  // our FIN sent (stop), waiting for it to be acknowledged
    kWaitReconnect,
  };

  // A segment of the established connection: our ACK, window and timestamps filled in.
  TcpTx segment(uint8_t flags, uint32_t seq, uint64_t now_ns) const;
  void send_syn(uint64_t now_ns, TcpSink& out);
  void send_ack(uint64_t now_ns, TcpSink& out);
  // Sends [seq, seq+len) of the stream (new or again).
  void send_data(uint64_t now_ns, uint32_t seq, uint32_t len, TcpSink& out);
  void emit(const TcpTx& t, uint64_t now_ns, TcpSink& out);
  analysis::DropReason on_ack(const analysis::ParsedPacket& p, uint64_t now_ns, TcpSink& out);
  analysis::DropReason on_data(const analysis::ParsedPacket& p, uint64_t now_ns, TcpSink& out);
  // The reset a segment for no connection gets (RFC 793 3.4, "reset generation").
  void send_reset_for(const analysis::ParsedPacket& p, uint64_t now_ns, TcpSink& out);
  void paced_send(uint64_t now_ns, TcpSink& out);
  void on_rto(uint64_t now_ns, TcpSink& out);
  void rtt_sample(uint64_t rtt_ns);
  void connection_over(TcpEndpointEvent::Kind kind, bool by_peer, uint64_t now_ns, TcpSink& out);
  // The stream offset of seq (at or after the first data byte): 64 bits, so a stream may
  // pass 4 GiB (71 minutes at 1 MB/s).
  uint64_t stream_offset(uint32_t seq) const {
    const int64_t d = analysis::seq_distance(seq, base_seq_);
    return d >= 0 || static_cast<uint64_t>(-d) <= base_off_ ? base_off_ + d : 0;
  }
  uint32_t peer_window_bytes(uint16_t field) const {
    return static_cast<uint32_t>(field) << peer_wscale_;
  }
  uint32_t ts_now(uint64_t now_ns) const { return static_cast<uint32_t>(now_ns / 1'000'000); }
  uint64_t outstanding() const { return static_cast<uint32_t>(snd_max_ - snd_una_); }

  TcpEndpointConfig c_;
  analysis::TcpMeter meter_;
  TcpEchoStats echo_;
  State state_ = State::kClosed;
  bool stopping_ = false;
  uint32_t isn_seed_ = 0;
  uint32_t attempt_ = 0;  // connections started
  // Send side: sequences as on the wire; the stream offset of a byte is seq - iss_ - 1.
  uint32_t iss_ = 0;
  uint32_t snd_una_ = 0;
  uint32_t snd_nxt_ = 0;  // the next byte the pacer sends (below snd_max_ after a timeout)
  uint32_t snd_max_ = 0;
  uint32_t fin_seq_ = 0;
  // A sequence and its stream offset, moved along with snd_una_ (stream_offset).
  uint32_t base_seq_ = 0;
  uint64_t base_off_ = 0;
  bool fin_sent_ = false;
  uint32_t peer_window_ = 0;
  uint8_t peer_wscale_ = 0;
  bool ts_ok_ = false;
  uint32_t ts_recent_ = 0;
  uint16_t mss_ = 536;
  // Retransmission (RFC 6298): timing one segment at a time, Karn's rule.
  uint64_t srtt_ns_ = 0;
  uint64_t rttvar_ns_ = 0;
  uint64_t rto_ns_ = 0;
  uint64_t rto_deadline_ns_ = UINT64_MAX;
  uint32_t backoff_ = 0;
  bool timing_ = false;
  uint32_t timed_seq_ = 0;
  uint64_t timed_ns_ = 0;
  uint32_t syn_tries_ = 0;
  // After a timeout, what is sent again is sent as ACKs come (slow start from one segment,
  // RFC 5681 3.1): UINT32_MAX when no timeout recovery is under way.
  uint32_t cwnd_ = UINT32_MAX;
  // Fast recovery (NewReno).
  bool in_recovery_ = false;
  uint32_t recover_ = 0;
  uint32_t dupacks_ = 0;
  // Pacing.
  uint64_t next_send_ns_ = UINT64_MAX;
  uint64_t slot_ns_ = 0;
  // Window probes.
  uint64_t persist_deadline_ns_ = UINT64_MAX;
  uint32_t persist_backoff_ = 0;
  // Receive side (the echo).
  uint32_t irs_ = 0;
  uint32_t rcv_nxt_ = 0;
  uint64_t echoed_ = 0;  // stream offset of the next echoed byte expected
  // Send time of each chunk not yet acknowledged and echoed, by chunk number mod kChunkRing.
  std::array<uint64_t, kChunkRing> chunk_tx_ns_{};
  uint64_t reconnect_ns_ = 0;
  uint64_t reconnect_deadline_ns_ = UINT64_MAX;
};

}  // namespace migprobe::dataplane
