#pragma once
// Switchover announces (DESIGN.md "Downtime"): QEMU announces a VM's MAC with RARP right
// after it resumes at the destination, a guest may send a gratuitous ARP. An announce
// inside a gap splits it into "before the announce" (VM paused, state transfer) and
// "after" (network convergence). The live dataplane and the offline analysis find and
// split with these same functions, so both give the same split.

#include <algorithm>
#include <cstdint>

#include "analysis/gap.h"
#include "analysis/packet.h"

namespace migprobe::analysis {

// A switchover marker seen on the wire.
struct Announce {
  uint64_t seen_ns = 0;
  bool rarp = false;
  MacAddress mac{};
  // Announced IPv4 address (host order), for gratuitous ARP.
  uint32_t ip = 0;
  uint16_t vlan = 0;
};

// True when a comes from the target with MAC mac (null when not known) and IPv4 address
// ipv4 (host order, 0 when none): its MAC, or a gratuitous ARP for its address.
inline bool announce_is_from(const Announce& a, const MacAddress* mac, uint32_t ipv4) {
  return (mac != nullptr && a.mac == *mac) || (!a.rarp && ipv4 != 0 && a.ip == ipv4);
}

// The first announce from the target seen in [from_ns, to_ns], or last; [first, last) is
// sorted by seen_ns.
template <class It>
It first_announce(It first, It last, const MacAddress* mac, uint32_t ipv4, uint64_t from_ns,
                  uint64_t to_ns) {
  auto it = std::lower_bound(first, last, from_ns,
                             [](const Announce& a, uint64_t ts) { return a.seen_ns < ts; });
  for (; it != last && it->seen_ns <= to_ns; ++it) {
    if (announce_is_from(*it, mac, ipv4)) return it;
  }
  return last;
}

// Where the switchover announce of a gap can be: from the send of the last answered probe
// before it to the reply that closed it (whichever of that reply and its probe's send is
// later); a gap still open at the end has no end.
struct AnnounceWindow {
  uint64_t from_ns = 0;
  uint64_t to_ns = 0;
};
inline AnnounceWindow announce_window(const Gap& g) {
  return {g.tx_before_ns, g.open_end ? UINT64_MAX : std::max(g.rx_after_ns, g.tx_after_ns)};
}

// A gap's estimate split at an announce seen at seen_ns: the part before it from the gap's
// estimated start, the rest after; before_ns + after_ns == the estimate.
struct AnnounceSplit {
  uint64_t before_ns = 0;
  uint64_t after_ns = 0;
};
inline AnnounceSplit split_at_announce(const Gap& g, uint64_t seen_ns) {
  const uint64_t start = g.start_ns();
  const uint64_t before = std::min(seen_ns > start ? seen_ns - start : 0, g.estimate_ns);
  return {before, g.estimate_ns - before};
}

}  // namespace migprobe::analysis
