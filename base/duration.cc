#include "base/duration.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace migprobe::base {

namespace {

// The number at the start of text and the unit after it; false when there is no number.
bool split_number(const std::string& text, double* value, std::string* unit) {
  if (text.empty() || text[0] == '-' || text[0] == '+') return false;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(*value) || *value < 0) return false;
  *unit = end;
  return true;
}

std::optional<uint64_t> scaled(double value, double scale) {
  const double ns = std::round(value * scale);
  if (ns > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(ns);
}

double unit_scale(const std::string& unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m" || unit == "min") return 60e9;
  return 0;
}

}  // namespace

std::optional<uint64_t> parse_duration_ns(const std::string& text) {
  double value = 0;
  std::string unit;
  if (!split_number(text, &value, &unit)) return std::nullopt;
  const double scale = unit_scale(unit);
  if (scale == 0) return std::nullopt;
  return scaled(value, scale);
}

std::optional<uint64_t> parse_interval_ns(const std::string& text) {
  double value = 0;
  std::string unit;
  if (!split_number(text, &value, &unit)) return std::nullopt;
  if (unit.empty() || unit == "pps" || unit == "k" || unit == "kpps" || unit == "M" ||
      unit == "Mpps") {
    if (!(value > 0)) return std::nullopt;
    const double per_s = unit.empty() || unit == "pps" ? value
                         : unit[0] == 'k'              ? value * 1e3
                                                       : value * 1e6;
    return scaled(1.0 / per_s, 1e9);
  }
  const double scale = unit_scale(unit);
  if (scale == 0 || !(value > 0)) return std::nullopt;
  return scaled(value, scale);
}

std::string duration_text(uint64_t ns) {
  struct Unit {
    uint64_t ns;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}};
  for (const Unit& u : kUnits) {
    if (ns >= u.ns) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g%s", static_cast<double>(ns) / static_cast<double>(u.ns),
                    u.name);
      return buf;
    }
  }
  return std::to_string(ns) + "ns";
}

}  // namespace migprobe::base
