#pragma once
// Frames of a small probe scenario for the report tests: one ICMP probe flow per target
// every millisecond, outages where replies are missing, a RARP per outage; and journal
// records of migrations.

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/byte_order.h"
#include "analysis/probe_trailer.h"
#include "migprobe/v1/journal.pb.h"

namespace migprobe::analysis::report_scenario {

constexpr uint64_t kStart = 1'700'000'000'000'000'000ULL;
constexpr uint64_t kInterval = 1'000'000;  // 1 ms
constexpr uint64_t kRtt = 200'000;

// An ICMP echo probe frame over IPv4 with valid checksums.
inline std::vector<uint8_t> echo(bool request, uint32_t target, uint32_t flow, uint32_t seq,
                                 uint64_t tx_ns) {
  std::vector<uint8_t> f(14 + 20 + 8 + kTrailerSize, 0);
  const uint8_t probe_mac[6] = {2, 0, 0, 0x77, 0, 2};
  uint8_t vm_mac[6] = {0x52, 0x54, 0, 0x77, 0, static_cast<uint8_t>(target)};
  std::memcpy(f.data(), request ? vm_mac : probe_mac, 6);
  std::memcpy(f.data() + 6, request ? probe_mac : vm_mac, 6);
  store_be16(f.data() + 12, 0x0800);
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(20 + 8 + kTrailerSize));
  ip[8] = 64;
  ip[9] = 1;
  const uint32_t probe_ip = 0x0a4d0002;
  const uint32_t vm_ip = 0x0a4d0000 + target;
  store_be32(ip + 12, request ? probe_ip : vm_ip);
  store_be32(ip + 16, request ? vm_ip : probe_ip);
  store_be16(ip + 10, checksum_fold(checksum_add(0, ip, 20)));
  uint8_t* icmp = ip + 20;
  icmp[0] = request ? 8 : 0;
  store_be16(icmp + 4, static_cast<uint16_t>(flow));
  store_be16(icmp + 6, static_cast<uint16_t>(seq));
  ProbeTrailer t;
  t.generation = 3;
  t.flow_id = flow;
  t.seq = seq;
  t.tx_ns = tx_ns;
  encode_trailer(t, icmp + 8);
  store_be16(icmp + 2, checksum_fold(checksum_add(0, icmp, 8 + kTrailerSize)));
  return f;
}

inline std::vector<uint8_t> rarp(uint32_t target) {
  std::vector<uint8_t> f(60, 0);
  const uint8_t mac[6] = {0x52, 0x54, 0, 0x77, 0, static_cast<uint8_t>(target)};
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, mac, 6);
  store_be16(f.data() + 12, 0x8035);
  uint8_t* a = f.data() + 14;
  store_be16(a, 1);
  store_be16(a + 2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, 3);
  std::memcpy(a + 8, mac, 6);
  std::memcpy(a + 18, mac, 6);
  return f;
}

// One flow per target; probes lost in [lose_from, lose_to) per target; a RARP per outage.
struct Scenario {
  struct Outage {
    uint32_t target;
    uint32_t first_lost;
    uint32_t last_lost;
    uint64_t announce_after_first_ns;
  };
  std::vector<Outage> outages;
  uint32_t probes = 3000;
  uint32_t targets = 2;
};

inline void feed(Analyzer* a, const Scenario& s) {
  struct Timed {
    uint64_t ts;
    std::vector<uint8_t> frame;
  };
  std::vector<Timed> frames;
  for (uint32_t t = 1; t <= s.targets; ++t) {
    for (uint32_t seq = 0; seq < s.probes; ++seq) {
      const uint64_t tx = kStart + seq * kInterval + t * 1000;
      frames.push_back({tx, echo(true, 10 + t, t, seq, tx)});
      bool lost = false;
      for (const auto& o : s.outages) {
        lost |= o.target == t && seq >= o.first_lost && seq <= o.last_lost;
      }
      if (!lost) frames.push_back({tx + kRtt, echo(false, 10 + t, t, seq, tx)});
    }
  }
  for (const auto& o : s.outages) {
    frames.push_back(
        {kStart + o.first_lost * kInterval + o.target * 1000 + o.announce_after_first_ns,
         rarp(10 + o.target)});
  }
  std::stable_sort(frames.begin(), frames.end(),
                   [](const Timed& x, const Timed& y) { return x.ts < y.ts; });
  for (const auto& f : frames) {
    a->on_frame(f.ts, f.frame.data(), static_cast<uint32_t>(f.frame.size()),
                static_cast<uint32_t>(f.frame.size()));
  }
  a->finish();
}

inline v1::JournalRecord migration(const std::string& name, const std::string& ip,
                                   uint32_t iteration, uint64_t requested, uint64_t completed) {
  v1::JournalRecord r;
  auto* m = r.mutable_migration();
  m->set_instance_name(name);
  m->set_ip(ip);
  m->set_iteration(iteration);
  m->set_source_host("hostA");
  m->set_dest_host("hostB");
  m->set_requested_ns(requested);
  m->set_completed_ns(completed);
  m->set_outcome(v1::MIGRATION_OUTCOME_COMPLETED);
  return r;
}

}  // namespace migprobe::analysis::report_scenario
