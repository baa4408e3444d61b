#pragma once
// IPv4 neighbours of the probe (owned by the control thread, never by an lcore): ARP
// resolution with retries, aging and re-probing, learning from gratuitous ARP, and the
// switchover announces (RARP, GARP), newest first out. A known MAC is kept while it is being
// re-probed, so the TX core never waits on this table.

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "analysis/announce.h"
#include "analysis/packet.h"

namespace migprobe::dataplane {

// Resolution timing.
struct NeighbourConfig {
  uint64_t retry_ns = 200'000'000;  // between two requests for an unresolved address
  uint32_t fast_tries = 5;          // then back off to slow_retry_ns
  uint64_t slow_retry_ns = 2'000'000'000;
  uint64_t max_age_ns = 60'000'000'000;  // a resolved entry is re-probed after this
};

// What happened to a neighbour when an ARP frame was seen.
enum class NeighbourChange : uint8_t { kNone, kResolved, kMoved };

// One neighbour.
struct Neighbour {
  uint32_t ip = 0;  // host order
  analysis::MacAddress mac{};
  bool resolved = false;
  uint64_t confirmed_ns = 0;  // last ARP seen from it
  uint64_t next_request_ns = 0;
  uint32_t tries = 0;  // requests since it was last confirmed
};

// The table.
class NeighbourTable {
 public:
  explicit NeighbourTable(NeighbourConfig cfg = {}) : cfg_(cfg) {}

  // Starts resolving ip (idempotent). A first request is due at once.
  void want(uint32_t ip, uint64_t now_ns);
  // Stops resolving ip.
  void forget(uint32_t ip);
  // Pins ip to mac (configured by the operator): never re-probed.
  void set_static(uint32_t ip, const analysis::MacAddress& mac, uint64_t now_ns);

  // An ARP frame (request or reply) from sender ip/mac, or a gratuitous ARP. Learns only
  // addresses the table wants, so a flood of ARP cannot grow it.
  NeighbourChange on_arp(uint32_t sender_ip, const analysis::MacAddress& sender_mac,
                         uint64_t now_ns);
  // Records a switchover announce (RARP, or a gratuitous ARP). The newest kMaxAnnounces
  // are kept, in time order, whatever MACs they come from.
  void on_announce(const analysis::Announce& a);

  // Addresses to send an ARP request for now; schedules the next try of each.
  void due_requests(uint64_t now_ns, std::vector<uint32_t>* out);

  const Neighbour* find(uint32_t ip) const;
  // The first announce from the target (its MAC when mac is not null, or a gratuitous ARP
  // for ipv4) seen in [from_ns, to_ns], or nullptr: analysis::first_announce.
  const analysis::Announce* first_announce(const analysis::MacAddress* mac, uint32_t ipv4,
                                           uint64_t from_ns, uint64_t to_ns) const;
  size_t size() const { return table_.size(); }

  static constexpr size_t kMaxAnnounces = 4096;

 private:
  NeighbourConfig cfg_;
  std::unordered_map<uint32_t, Neighbour> table_;
  std::unordered_map<uint32_t, bool> static_;
  std::deque<analysis::Announce> announces_;
};

}  // namespace migprobe::dataplane
