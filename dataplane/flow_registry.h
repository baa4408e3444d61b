#pragma once
// The targets the dataplane probes and their flows, as the control thread keeps them: flow
// ids (slots of the cores' flat tables) handed out and taken back, and lookups by flow id,
// by target name and by target address that never scan all targets. No DPDK.
//
// A freed flow id goes to the back of the free queue: it is handed out again only after
// every id never used, so a late reply to a removed flow is unlikely to find its id taken by
// a new one (the run generation tells runs apart, not flows within a run).

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/target_spec.h"

namespace migprobe::dataplane {

class FlowRegistry {
 public:
  struct Flow {
    bool used = false;
    uint32_t target = 0;
    FlowParams params;
  };
  struct Target {
    bool used = false;
    TargetParams params;
    std::vector<uint32_t> flow_ids;
  };

  explicit FlowRegistry(uint32_t max_flows);

  // Whether targets can be added: not with a flow out of range, a name given twice or
  // already probed (unless replacing every target), or more flows than free flow ids.
  // A full table is ErrorKind::kExhausted, the rest kInvalid.
  base::Status check(const std::vector<TargetParams>& targets, bool replacing) const;
  // Adds targets, all or none, their indices to *added; or what check() says.
  base::Status add(const std::vector<TargetParams>& targets, std::vector<uint32_t>* added);
  // Removes the targets named (by name or address text); their flow ids go to *freed and
  // their addresses to *ips. Returns how many targets went.
  uint32_t remove(const std::vector<std::string>& names_or_ips, std::vector<uint32_t>* freed,
                  std::vector<uint32_t>* ips);
  // Indices of the targets named (by name or address text), each once.
  std::vector<uint32_t> find(const std::vector<std::string>& names_or_ips) const;
  // Names of every target.
  std::vector<std::string> names() const;

  // nullptr when the id is out of range or not in use.
  const Flow* flow(uint32_t id) const {
    return id < flows_.size() && flows_[id].used ? &flows_[id] : nullptr;
  }
  const Target& target(uint32_t index) const { return targets_[index]; }
  // The target of a flow in use; nullptr otherwise.
  const Target* target_of(uint32_t flow_id) const {
    const Flow* f = flow(flow_id);
    return f != nullptr ? &targets_[f->target] : nullptr;
  }
  // Indices of the targets at an address (host order).
  std::vector<uint32_t> targets_at(uint32_t ip) const;
  // Flow ids in use, ascending.
  std::vector<uint32_t> used_flow_ids() const;
  uint32_t capacity() const { return static_cast<uint32_t>(flows_.size()); }
  size_t free_flows() const { return free_ids_.size(); }

 private:
  void remove_target(uint32_t index, std::vector<uint32_t>* freed);

  std::vector<Flow> flows_;
  std::vector<Target> targets_;
  std::deque<uint32_t> free_ids_;
  std::vector<uint32_t> free_targets_;
  std::unordered_map<std::string, uint32_t> by_name_;
  std::unordered_multimap<uint32_t, uint32_t> by_ip_;
};

}  // namespace migprobe::dataplane
