#include "dataplane/flow_registry.h"

#include <algorithm>
#include <unordered_set>

#include "base/ipv4.h"

namespace migprobe::dataplane {

FlowRegistry::FlowRegistry(uint32_t max_flows) : flows_(max_flows) {
  for (uint32_t id = 0; id < max_flows; ++id) free_ids_.push_back(id);
}

base::Status FlowRegistry::check(const std::vector<TargetParams>& targets, bool replacing) const {
  auto invalid = [](const std::string& why) {
    return base::make_error(base::ErrorKind::kInvalid, why);
  };
  size_t wanted = 0;
  std::unordered_set<std::string> names;
  for (const auto& t : targets) {
    wanted += t.flows.size();
    for (const auto& f : t.flows) {
      if (base::Status ok = base::validate_flow(f); !ok) {
        return invalid("target " + t.name + ": " + ok.error().message);
      }
    }
    if (!names.insert(t.name).second) return invalid("target " + t.name + " is given twice");
    if (!replacing && by_name_.count(t.name) != 0) {
      return invalid("target " + t.name + " is already probed (remove it first, or replace all)");
    }
  }
  const size_t free = replacing ? flows_.size() : free_ids_.size();
  if (wanted > free) {
    return base::make_error(base::ErrorKind::kExhausted,
                            "not enough flow ids: " + std::to_string(wanted) + " wanted, " +
                                std::to_string(free) + " free (--max-flows)");
  }
  return base::Done{};
}

base::Status FlowRegistry::add(const std::vector<TargetParams>& targets,
                               std::vector<uint32_t>* added) {
  if (base::Status ok = check(targets, false); !ok) return ok;
  for (const auto& tp : targets) {
    uint32_t index = 0;
    if (!free_targets_.empty()) {
      index = free_targets_.back();
      free_targets_.pop_back();
    } else {
      index = static_cast<uint32_t>(targets_.size());
      targets_.emplace_back();
    }
    Target& t = targets_[index];
    t.used = true;
    t.params = tp;
    t.flow_ids.clear();
    for (const auto& fp : tp.flows) {
      const uint32_t id = free_ids_.front();
      free_ids_.pop_front();
      flows_[id] = Flow{true, index, fp};
      t.flow_ids.push_back(id);
    }
    by_name_.emplace(tp.name, index);
    by_ip_.emplace(tp.ip, index);
    if (added != nullptr) added->push_back(index);
  }
  return base::Done{};
}

void FlowRegistry::remove_target(uint32_t index, std::vector<uint32_t>* freed) {
  Target& t = targets_[index];
  for (uint32_t id : t.flow_ids) {
    flows_[id] = Flow{};
    free_ids_.push_back(id);
    if (freed != nullptr) freed->push_back(id);
  }
  by_name_.erase(t.params.name);
  auto [first, last] = by_ip_.equal_range(t.params.ip);
  for (auto it = first; it != last; ++it) {
    if (it->second == index) {
      by_ip_.erase(it);
      break;
    }
  }
  t = Target{};
  free_targets_.push_back(index);
}

std::vector<uint32_t> FlowRegistry::find(const std::vector<std::string>& names_or_ips) const {
  std::vector<uint32_t> out;
  for (const std::string& n : names_or_ips) {
    if (auto it = by_name_.find(n); it != by_name_.end()) out.push_back(it->second);
    if (const auto ip = base::parse_ipv4(n)) {
      for (uint32_t index : targets_at(*ip)) out.push_back(index);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());  // named and addressed both
  return out;
}

uint32_t FlowRegistry::remove(const std::vector<std::string>& names_or_ips,
                              std::vector<uint32_t>* freed, std::vector<uint32_t>* ips) {
  const std::vector<uint32_t> matches = find(names_or_ips);
  for (uint32_t index : matches) {
    if (ips != nullptr) ips->push_back(targets_[index].params.ip);
    remove_target(index, freed);
  }
  return static_cast<uint32_t>(matches.size());
}

std::vector<std::string> FlowRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& t : targets_) {
    if (t.used) out.push_back(t.params.name);
  }
  return out;
}

std::vector<uint32_t> FlowRegistry::targets_at(uint32_t ip) const {
  std::vector<uint32_t> out;
  auto [first, last] = by_ip_.equal_range(ip);
  for (auto it = first; it != last; ++it) out.push_back(it->second);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint32_t> FlowRegistry::used_flow_ids() const {
  std::vector<uint32_t> out;
  for (const auto& t : targets_) {
    if (t.used) out.insert(out.end(), t.flow_ids.begin(), t.flow_ids.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace migprobe::dataplane
