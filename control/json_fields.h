#pragma once
// Reading fields of OpenStack JSON answers leniently: what every client's parser shares.

#include <nlohmann/json.hpp>
#include <string>

namespace migprobe::control {

// A string field; "" when absent, null or not a string.
inline std::string json_text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace migprobe::control
