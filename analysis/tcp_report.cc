#include "analysis/tcp_report.h"

namespace migprobe::analysis {

namespace {

// A meter's timestamp moved by offset (0, "none", stays 0).
uint64_t at(uint64_t t, int64_t offset) {
  return t != 0 ? static_cast<uint64_t>(static_cast<int64_t>(t) + offset) : 0;
}

void set_direction(const TcpDirectionStats& d, const std::vector<TcpEpisode>& episodes,
                   const std::string& sender, int64_t offset, v1::TcpDirectionReport* out) {
  out->set_sender(sender);
  out->set_segments(d.segments);
  out->set_bytes_sent(d.bytes_sent);
  out->set_bytes_acked(d.bytes_acked);
  out->set_retransmitted_segments(d.retransmitted_segments);
  out->set_retransmitted_bytes(d.retransmitted_bytes);
  out->set_timeout_retransmits(d.timeout_retransmits);
  out->set_fast_retransmits(d.fast_retransmits);
  out->set_dup_acks(d.dup_acks);
  out->set_longest_stall_ns(d.longest_stall_ns);
  out->set_longest_stall_start_ns(at(d.longest_stall_start_ns, offset));
  out->set_zero_window_ns(d.zero_window_ns);
  out->set_zero_windows(d.zero_windows);
  out->set_rtt_min_ns(d.rtt_min_ns);
  out->set_rtt_mean_ns(d.rtt_samples != 0 ? d.rtt_sum_ns / d.rtt_samples : 0);
  out->set_rtt_max_ns(d.rtt_max_ns);
  out->set_unacked_bytes(d.unacked_bytes);
  out->set_resets(d.resets);
  for (const TcpEpisode& e : episodes) {
    v1::TcpEpisode* p = out->add_episodes();
    p->set_start_ns(at(e.start_ns, offset));
    p->set_first_retransmit_ns(at(e.first_retransmit_ns, offset));
    p->set_end_ns(at(e.end_ns, offset));
    p->set_stall_ns(e.stall_ns);
    p->set_timeout_retransmits(e.timeout_retransmits);
    p->set_fast_retransmits(e.fast_retransmits);
    p->set_retransmitted_bytes(e.retransmitted_bytes);
    p->set_reset(e.reset);
    p->set_open(e.open);
  }
}

}  // namespace

std::string endpoint_text(const IpAddress& ip, uint16_t port) {
  const std::string addr = ip.to_string();
  return (ip.family == 6 ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
}

v1::TcpStreamReport to_tcp_stream_report(const TcpMeter& meter, const std::string& opener,
                                         const std::string& peer, int64_t time_offset_ns) {
  const int64_t off = time_offset_ns;
  v1::TcpStreamReport r;
  const TcpConnectionStats& c = meter.connection();
  r.set_opener(opener);
  r.set_peer(peer);
  r.set_connections(c.connections);
  r.set_established(c.established);
  r.set_first_established_ns(at(c.first_established_ns, off));
  r.set_mid_stream(c.mid_stream);
  r.set_open_at_end(c.open_at_end);
  r.set_first_ns(at(c.first_ns, off));
  r.set_last_ns(at(c.last_ns, off));
  set_direction(meter.opener(), meter.episodes(true), opener, off, r.mutable_from_opener());
  set_direction(meter.peer(), meter.episodes(false), peer, off, r.mutable_from_peer());
  for (const TcpReset& x : meter.resets()) {
    v1::TcpResetReport* p = r.add_resets();
    p->set_ts_ns(at(x.ts_ns, off));
    p->set_sender(x.from_opener ? opener : peer);
    p->set_unacked_opener_bytes(x.unacked_opener);
    p->set_unacked_peer_bytes(x.unacked_peer);
    p->set_established(x.established);
  }
  r.set_overflowed(meter.overflowed());
  return r;
}

}  // namespace migprobe::analysis
