#include "analysis/tcp_verdict.h"

#include <algorithm>
#include <string>

#include "analysis/report_tagging.h"

namespace migprobe::analysis {

namespace {

// How bad a verdict is, to keep the worst of several streams.
int severity(v1::TcpVerdictKind k) {
  switch (k) {
    case v1::TCP_VERDICT_RESET:
      return 6;
    case v1::TCP_VERDICT_STALLED:
      return 5;
    case v1::TCP_VERDICT_NOT_ESTABLISHED:
      return 4;
    case v1::TCP_VERDICT_RECOVERED:
      return 3;
    case v1::TCP_VERDICT_NOT_MEASURED:
      return 2;
    case v1::TCP_VERDICT_INTACT:
      return 1;
    default:
      return 0;
  }
}

bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) {
  return a0 <= b1 && b0 <= a1;
}

// The address of an "address:port" text.
std::string address_of(const std::string& endpoint) {
  const size_t colon = endpoint.rfind(':');
  std::string a = colon == std::string::npos ? endpoint : endpoint.substr(0, colon);
  if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  return a;
}

}  // namespace

v1::TcpVerdict tcp_verdict(const v1::TcpStreamReport& s, uint64_t from_ns, uint64_t to_ns) {
  v1::TcpVerdict v;
  v.set_stream_id(s.stream_id());
  uint64_t stall = 0;
  uint32_t retransmits = 0;
  bool episodes = false;
  bool open = false;
  uint64_t unacked = 0;
  for (const v1::TcpDirectionReport* d : {&s.from_opener(), &s.from_peer()}) {
    for (const v1::TcpEpisode& e : d->episodes()) {
      if (!overlaps(e.start_ns(), e.end_ns(), from_ns, to_ns)) continue;
      episodes = true;
      stall = std::max(stall, e.stall_ns());
      retransmits += e.timeout_retransmits() + e.fast_retransmits();
      if (e.open()) {
        open = true;
        unacked += d->unacked_bytes();
      }
    }
  }
  v.set_stall_ns(stall);
  v.set_retransmits(retransmits);
  for (const v1::TcpResetReport& r : s.resets()) {
    if (r.ts_ns() < from_ns || r.ts_ns() > to_ns || !r.established()) continue;
    v.set_verdict(v1::TCP_VERDICT_RESET);
    v.set_reset_ns(r.ts_ns());
    v.set_bytes_lost(r.unacked_opener_bytes() + r.unacked_peer_bytes());
    return v;
  }
  if (open) {
    v.set_verdict(v1::TCP_VERDICT_STALLED);
    v.set_bytes_lost(unacked);
    return v;
  }
  if (episodes) {
    v.set_verdict(v1::TCP_VERDICT_RECOVERED);
    return v;
  }
  const bool began_before = s.established() > 0 ? s.first_established_ns() <= from_ns
                                                : s.mid_stream() && s.first_ns() <= from_ns;
  const bool lasted = s.last_ns() >= to_ns || (s.open_at_end() && to_ns == UINT64_MAX);
  if (s.established() == 0 && !s.mid_stream() &&
      overlaps(s.first_ns(), s.last_ns(), from_ns, to_ns)) {
    v.set_verdict(v1::TCP_VERDICT_NOT_ESTABLISHED);
  } else if (began_before && lasted) {
    v.set_verdict(v1::TCP_VERDICT_INTACT);
  } else {
    v.set_verdict(v1::TCP_VERDICT_NOT_MEASURED);
  }
  return v;
}

void add_tcp_verdicts(uint64_t settle_ns, v1::Report* report) {
  if (report->tcp_streams_size() == 0) return;
  for (v1::TargetReport& t : *report->mutable_targets()) {
    for (v1::MigrationReport& m : *t.mutable_migrations()) {
      const uint64_t from = m.migration().requested_ns();
      const uint64_t to = window_end(m.migration(), settle_ns);
      bool any = false;
      v1::TcpVerdict worst;
      for (const v1::TcpStreamReport& s : report->tcp_streams()) {
        if (address_of(s.opener()) != t.ip() && address_of(s.peer()) != t.ip()) continue;
        const v1::TcpVerdict v = tcp_verdict(s, from, to);
        if (!any || severity(v.verdict()) > severity(worst.verdict())) worst = v;
        any = true;
      }
      if (any) *m.mutable_tcp() = worst;
    }
  }
}

}  // namespace migprobe::analysis
