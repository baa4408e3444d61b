#pragma once
// One TCP connection measured from the segments it carries, both directions: what each side
// sent, what the other acknowledged, what was retransmitted (after a timeout, or fast after
// duplicate ACKs), how long data waited with no ACK progress (a stall), how long the
// receiver's window was zero, the round trips, resets and reconnections. migprobe-analyze
// feeds it the segments of every TCP stream in a capture; migprobe-dp's TCP flows feed it
// every segment they send and receive: live and offline measure one way, here (DESIGN.md
// "Downtime: the definitions"). No allocation per segment: the episode and reset lists grow
// once per loss episode or reset, up to a bound.
//
// Definitions, per direction (the data one side sends, the ACKs the other returns):
// - ACK progress: an ACK above the highest acknowledged so far.
// - A stall: data outstanding and no ACK progress; it starts at the last progress (or at
//   the send that made data outstanding again) and ends at the next progress or reset.
// - A retransmission: a segment that carries bytes sent before and not yet acknowledged.
// - A loss episode: from the first retransmission after the last full recovery until an ACK
//   covers every byte outstanding when it began (recovered), or a reset (reset). It is entered
//   fast when three duplicate ACKs came first, by timeout otherwise; a retransmission of the
//   first unacknowledged byte again with no progress since is a timeout (the RTO expired
//   again); the others count as the episode's mode.
// - A duplicate ACK: a pure ACK that repeats the highest acknowledgement while data is
//   outstanding, with the same window.
// - Zero window: from an ACK advertising a zero window to the next with a non-zero one.
// - What a receiving stack would not take is not measured, so segments crafted or misrouted
//   into a stream do not bend its figures: a reset counts only where the receiver takes it
//   (a peer's answer to the SYN; otherwise a sequence between what the receiver last
//   acknowledged and what the sender sent, as RFC 5961 narrows it, and never once the
//   connection is over), and new data only inside the window the receiver offered (scaled
//   as the SYNs agreed; with no handshake seen, at the largest scale).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "analysis/packet.h"

namespace migprobe::analysis {

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

// What the meter reads of one segment.
struct TcpSegmentInfo {
  uint64_t ts_ns = 0;
  // Sent by the side that opened the connection (the SYN's sender; for a stream seen
  // mid-way, the side of the first segment seen).
  bool from_opener = true;
  uint8_t flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint32_t len = 0;     // payload bytes
  uint16_t window = 0;  // the raw field (a zero is zero at any scale)
  int8_t wscale = -1;   // a SYN's window scale option; -1: none (or not a SYN)
};

// What the meter reads of a parsed TCP segment seen at ts_ns: its length on the wire (when a
// capture kept only the headers) and a SYN's window scale. One reading for every user.
TcpSegmentInfo tcp_segment_info(const ParsedPacket& p, uint64_t ts_ns, bool from_opener);

// A loss episode of one direction (see above).
struct TcpEpisode {
  uint64_t start_ns = 0;  // the stall's start: the last progress before it
  uint64_t first_retransmit_ns = 0;
  uint64_t end_ns = 0;    // the covering ACK, the reset, or the end of input when open
  uint64_t stall_ns = 0;  // the longest stall inside it
  uint32_t timeout_retransmits = 0;
  uint32_t fast_retransmits = 0;
  uint64_t retransmitted_bytes = 0;
  bool reset = false;  // ended by a reset
  bool open = false;   // still under way when the input ended
};

// A reset, and what it left unacknowledged.
struct TcpReset {
  uint64_t ts_ns = 0;
  bool from_opener = false;     // who sent the RST
  uint64_t unacked_opener = 0;  // bytes the opener sent that were never acknowledged
  uint64_t unacked_peer = 0;    // and the other side's
  bool established = false;     // the connection it ended had been established
};

// The figures of the data one side sent.
struct TcpDirectionStats {
  uint64_t segments = 0;     // every segment this side sent
  uint64_t bytes_sent = 0;   // new payload bytes (retransmissions not counted again)
  uint64_t bytes_acked = 0;  // of those, acknowledged by the other side
  uint64_t retransmitted_segments = 0;
  uint64_t retransmitted_bytes = 0;
  uint64_t timeout_retransmits = 0;
  uint64_t fast_retransmits = 0;
  uint64_t dup_acks = 0;  // duplicate ACKs the other side returned
  uint64_t longest_stall_ns = 0;
  uint64_t longest_stall_start_ns = 0;
  uint64_t zero_window_ns = 0;  // time the other side's window was zero
  uint32_t zero_windows = 0;
  uint64_t rtt_samples = 0;
  uint64_t rtt_sum_ns = 0;
  uint64_t rtt_min_ns = 0;
  uint64_t rtt_max_ns = 0;
  uint64_t unacked_bytes = 0;  // outstanding at the end of input (or at the last reset)
  uint32_t syns = 0;           // SYNs (or SYN-ACKs) sent, retransmissions included
  uint32_t fins = 0;
  uint32_t resets = 0;  // RSTs this side sent
};

// Connection-level figures.
struct TcpConnectionStats {
  uint32_t connections = 0;  // handshakes started (SYNs with a new sequence)
  uint32_t established = 0;  // handshakes completed
  uint64_t first_established_ns = 0;
  uint64_t last_established_ns = 0;
  bool mid_stream = false;   // the first segment seen was not a SYN
  bool open_at_end = false;  // established and neither reset nor closed at the end
  uint64_t first_ns = 0;
  uint64_t last_ns = 0;
};

class TcpMeter {
 public:
  static constexpr size_t kMaxEpisodes = 100'000;
  static constexpr size_t kMaxResets = 10'000;

  void on_segment(const TcpSegmentInfo& s);
  // End of input at now_ns: open stalls, windows and episodes are closed there (open).
  void finish(uint64_t now_ns);

  const TcpDirectionStats& opener() const { return dir_[0].stats; }
  const TcpDirectionStats& peer() const { return dir_[1].stats; }
  const TcpConnectionStats& connection() const { return conn_; }
  // Loss episodes of the opener's data, then of the peer's, each in time order.
  const std::vector<TcpEpisode>& episodes(bool opener) const {
    return dir_[opener ? 0 : 1].episodes;
  }
  const std::vector<TcpReset>& resets() const { return resets_; }
  // Episodes or resets not kept because a list was full.
  uint64_t overflowed() const { return overflowed_; }
  // Established and not reset or closed since.
  bool established() const { return state_ == State::kEstablished; }

 private:
  enum class State : uint8_t { kNone, kSynSent, kSynReceived, kEstablished, kClosing, kClosed };

  struct Direction {
    TcpDirectionStats stats;
    std::vector<TcpEpisode> episodes;
    bool started = false;  // una/max are known
    bool syn_unacked = false;
    bool fin_sent = false;
    uint32_t isn = 0;
    uint32_t una = 0;  // the lowest unacknowledged sequence
    uint32_t max = 0;  // one past the highest sequence sent
    uint32_t fin_seq = 0;
    uint64_t progress_ns = 0;  // the last ACK progress, or the send that made data outstanding
    uint32_t dupacks = 0;      // duplicate ACKs since the last progress
    uint16_t last_window = 0;
    bool window_seen = false;
    int8_t wscale = -1;  // its SYN's window scale option
    bool window_zero = false;
    uint64_t window_zero_since_ns = 0;
    bool timing = false;  // an RTT sample under way (Karn: none across retransmissions)
    uint32_t timed_end = 0;
    uint64_t timed_ns = 0;
    bool in_episode = false;
    bool episode_fast = false;
    uint32_t recovery_point = 0;
    uint32_t last_retransmit_seq = 0;
    bool retransmitted_since_progress = false;
  };

  void on_send(Direction& d, const TcpSegmentInfo& s);
  void on_ack(Direction& d, const TcpSegmentInfo& s);
  void on_reset(const TcpSegmentInfo& s);
  // Whether the receiving side would take the reset s.
  bool reset_taken(const TcpSegmentInfo& s) const;
  // The window (bytes) the receiver of d's data last offered; UINT64_MAX when none seen.
  uint64_t offered_window(const Direction& d, const Direction& receiver) const;
  void start_direction(Direction& d, uint32_t isn, bool syn, uint64_t ts_ns);
  void end_stall(Direction& d, uint64_t ts_ns);
  void close_episode(Direction& d, uint64_t ts_ns, bool reset, bool open);
  static uint64_t outstanding(const Direction& d);

  Direction dir_[2];  // [0]: the opener's data, [1]: the peer's
  TcpConnectionStats conn_;
  std::vector<TcpReset> resets_;
  State state_ = State::kNone;
  uint64_t overflowed_ = 0;
};

}  // namespace migprobe::analysis
