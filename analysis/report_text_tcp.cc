// The text rendering's TCP streams section: per stream its ends and connections, per
// direction what was sent, acknowledged and retransmitted, its stalls and zero-window time,
// then its loss episodes and resets.

#include <cinttypes>
#include <string>

#include "analysis/report_text_parts.h"
#include "analysis/report_writers.h"

namespace migprobe::analysis::text {

namespace {

void render_direction(std::string* out, const v1::TcpDirectionReport& d, uint64_t origin) {
  if (d.segments() == 0) return;
  std::string rtt = "none";
  if (d.rtt_max_ns() != 0) {
    rtt = format_ms(d.rtt_min_ns()) + " / " + format_ms(d.rtt_mean_ns()) + " / " +
          format_ms(d.rtt_max_ns());
  }
  line(out,
       "    from %s: sent %s, acknowledged %s; retransmitted %" PRIu64 " segments (%" PRIu64
       " timeout, %" PRIu64 " fast), %" PRIu64 " duplicate ACKs",
       d.sender().c_str(), format_bytes(d.bytes_sent()).c_str(),
       format_bytes(d.bytes_acked()).c_str(), d.retransmitted_segments(), d.timeout_retransmits(),
       d.fast_retransmits(), d.dup_acks());
  std::string stall = "none";
  if (d.longest_stall_ns() != 0) {
    stall = format_ms(d.longest_stall_ns()) + " from " + rel(d.longest_stall_start_ns(), origin);
  }
  line(out, "      longest stall %s; zero window %s (%u times); rtt min/mean/max %s", stall.c_str(),
       format_ms(d.zero_window_ns()).c_str(), d.zero_windows(), rtt.c_str());
  if (d.unacked_bytes() != 0) {
    line(out, "      never acknowledged: %s", format_bytes(d.unacked_bytes()).c_str());
  }
  for (const auto& e : d.episodes()) {
    const char* end = e.reset() ? "reset" : e.open() ? "still open" : "recovered";
    line(out, "      loss episode %s .. %s (%s): stall %s, retransmitted %u timeout, %u fast",
         rel(e.start_ns(), origin).c_str(), rel(e.end_ns(), origin).c_str(), end,
         format_ms(e.stall_ns()).c_str(), e.timeout_retransmits(), e.fast_retransmits());
  }
}

}  // namespace

std::string tcp_verdict_text(const v1::TcpVerdict& v, uint64_t origin) {
  const std::string stream = " (stream " + std::to_string(v.stream_id()) + ")";
  const std::string stall = "stall " + format_ms(v.stall_ns()) + ", " +
                            std::to_string(v.retransmits()) + " retransmitted";
  switch (v.verdict()) {
    case v1::TCP_VERDICT_INTACT:
      return "intact, nothing retransmitted" + stream;
    case v1::TCP_VERDICT_RECOVERED:
      return "recovered, no byte lost: " + stall + stream;
    case v1::TCP_VERDICT_RESET:
      return "RESET at " + rel(v.reset_ns(), origin) + ", " + std::to_string(v.bytes_lost()) +
             " bytes never acknowledged" + (v.retransmits() != 0 ? "; " + stall : "") + stream;
    case v1::TCP_VERDICT_STALLED:
      return "STALLED, never recovered before the measurement ended: " + stall + ", " +
             std::to_string(v.bytes_lost()) + " bytes never acknowledged" + stream;
    case v1::TCP_VERDICT_NOT_ESTABLISHED:
      return "NOT ESTABLISHED: no handshake completed in the window" + stream;
    case v1::TCP_VERDICT_NOT_MEASURED:
      return "not measured: the stream began or ended inside the window" + stream;
    default:
      return "unknown";
  }
}

void render_tcp_streams(std::string* out, const v1::Report& r, uint64_t origin) {
  line(out, "tcp streams: %d", r.tcp_streams_size());
  for (const auto& s : r.tcp_streams()) {
    std::string state;
    if (s.mid_stream()) {
      state = "seen from mid-stream";
    } else {
      state = std::to_string(s.established()) + " of " + std::to_string(s.connections()) +
              " connections established";
    }
    if (s.open_at_end()) state += ", open at the end";
    const std::string flow = s.probe() ? "  migprobe flow " + std::to_string(s.flow_id()) : "";
    line(out, "  stream %u  %s -> %s  %s%s", s.stream_id(), s.opener().c_str(), s.peer().c_str(),
         state.c_str(), flow.c_str());
    render_direction(out, s.from_opener(), origin);
    render_direction(out, s.from_peer(), origin);
    for (const auto& x : s.resets()) {
      line(out,
           "    reset at %s by %s%s: never acknowledged %" PRIu64 " bytes from %s, %" PRIu64
           " from %s",
           rel(x.ts_ns(), origin).c_str(), x.sender().c_str(),
           x.established() ? "" : " (never established)", x.unacked_opener_bytes(),
           s.opener().c_str(), x.unacked_peer_bytes(), s.peer().c_str());
    }
    if (s.overflowed() != 0) {
      line(out, "    (%" PRIu64 " episodes or resets not listed: list full)", s.overflowed());
    }
  }
}

}  // namespace migprobe::analysis::text
