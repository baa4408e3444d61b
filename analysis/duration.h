#pragma once
// Durations as people type them on command lines: "500us", "12.5ms", "2s", "100ns".

#include <cstdint>
#include <optional>
#include <string>

namespace migprobe::analysis {

// Parses a number with a unit (ns, us, ms, s, m). nullopt when it does not parse.
std::optional<uint64_t> parse_duration_ns(const std::string& text);

}  // namespace migprobe::analysis
