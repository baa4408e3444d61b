#include "dataplane/neighbour_table.h"

#include <iterator>

namespace migprobe::dataplane {

void NeighbourTable::want(uint32_t ip, uint64_t now_ns) {
  auto [it, inserted] = table_.try_emplace(ip);
  if (inserted) {
    it->second.ip = ip;
    it->second.next_request_ns = now_ns;
  }
}

void NeighbourTable::forget(uint32_t ip) {
  table_.erase(ip);
  static_.erase(ip);
}

void NeighbourTable::set_static(uint32_t ip, const analysis::MacAddress& mac, uint64_t now_ns) {
  Neighbour& n = table_[ip];
  n.ip = ip;
  n.mac = mac;
  n.resolved = true;
  n.confirmed_ns = now_ns;
  n.tries = 0;
  static_[ip] = true;
}

NeighbourChange NeighbourTable::on_arp(uint32_t sender_ip, const analysis::MacAddress& sender_mac,
                                       uint64_t now_ns) {
  auto it = table_.find(sender_ip);
  if (it == table_.end() || static_.count(sender_ip) != 0) return NeighbourChange::kNone;
  Neighbour& n = it->second;
  NeighbourChange change = NeighbourChange::kNone;
  if (!n.resolved) {
    change = NeighbourChange::kResolved;
  } else if (n.mac != sender_mac) {
    change = NeighbourChange::kMoved;
  }
  n.mac = sender_mac;
  n.resolved = true;
  n.confirmed_ns = now_ns;
  n.tries = 0;
  n.next_request_ns = now_ns + cfg_.max_age_ns;
  return change;
}

void NeighbourTable::on_announce(const analysis::Announce& a) {
  // In time order (an announce stamped earlier than the newest goes in its place), bounded:
  // a flood of announces from many MACs costs the oldest ones, never memory.
  auto at = announces_.end();
  while (at != announces_.begin() && std::prev(at)->seen_ns > a.seen_ns) --at;
  announces_.insert(at, a);
  if (announces_.size() > kMaxAnnounces) announces_.pop_front();
}

void NeighbourTable::due_requests(uint64_t now_ns, std::vector<uint32_t>* out) {
  for (auto& [ip, n] : table_) {
    if (static_.count(ip) != 0 || now_ns < n.next_request_ns) continue;
    out->push_back(ip);
    ++n.tries;
    // Unresolved (or aged and not answering): fast retries first, then slow ones; the
    // old MAC stays in use meanwhile.
    n.next_request_ns = now_ns + (n.tries < cfg_.fast_tries ? cfg_.retry_ns : cfg_.slow_retry_ns);
  }
}

const Neighbour* NeighbourTable::find(uint32_t ip) const {
  auto it = table_.find(ip);
  return it == table_.end() ? nullptr : &it->second;
}

const analysis::Announce* NeighbourTable::first_announce(const analysis::MacAddress* mac,
                                                         uint32_t ipv4, uint64_t from_ns,
                                                         uint64_t to_ns) const {
  const auto it =
      analysis::first_announce(announces_.begin(), announces_.end(), mac, ipv4, from_ns, to_ns);
  return it == announces_.end() ? nullptr : &*it;
}

}  // namespace migprobe::dataplane
