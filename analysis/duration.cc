#include "analysis/duration.h"

#include <cmath>
#include <cstdlib>

namespace migprobe::analysis {

std::optional<uint64_t> parse_duration_ns(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !(value >= 0) || !std::isfinite(value)) return std::nullopt;
  const std::string unit(end);
  double scale = 0;
  if (unit == "ns") {
    scale = 1;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "s") {
    scale = 1e9;
  } else if (unit == "m" || unit == "min") {
    scale = 60e9;
  } else {
    return std::nullopt;
  }
  const double ns = std::round(value * scale);
  if (ns > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(ns);
}

}  // namespace migprobe::analysis
