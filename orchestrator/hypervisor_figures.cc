#include "orchestrator/hypervisor_figures.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

namespace migprobe::orchestrator {

bool HypervisorFigures::read_once(const std::string& uuid, v1::MigrationEvent* event) const {
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || j.value("migration_id", std::string()) != uuid) continue;
    auto number = [&](const char* key) -> double {
      const auto it = j.find(key);
      return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
    };
    auto ns = [&](const char* key) -> uint64_t {
      const auto it = j.find(key);
      return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
    };
    event->set_hypervisor_downtime_ms(number("downtime_ms"));
    event->set_hypervisor_stop_ns(ns("stop_ns"));
    event->set_hypervisor_resume_ns(ns("resume_ns"));
    return true;
  }
  return false;
}

bool HypervisorFigures::fill(const std::string& uuid, v1::MigrationEvent* event,
                             std::chrono::milliseconds wait) const {
  if (uuid.empty()) return false;
  const auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (read_once(uuid, event)) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace migprobe::orchestrator
