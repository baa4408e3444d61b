#pragma once
// The one grammar of durations and probe rates, for every binary and option:
//   DURATION := NUMBER UNIT       UNIT := ns | us | ms | s | m | min    ("250us", "1ms", "2s")
//   RATE     := NUMBER [pps] | NUMBER (k | kpps) | NUMBER (M | Mpps) | DURATION
// A RATE given as a duration is the interval between probes ("1ms" = 1000 pps).

#include <cstdint>
#include <optional>
#include <string>

namespace migprobe::base {

// A DURATION in ns; nullopt when it does not parse (a bare number has no unit: it does not).
std::optional<uint64_t> parse_duration_ns(const std::string& text);
// A RATE as the interval between probes, in ns; nullopt when it does not parse.
std::optional<uint64_t> parse_interval_ns(const std::string& text);
// A duration as the shortest text that reads back the same: "250us", "1ms", "1.5s".
std::string duration_text(uint64_t ns);

}  // namespace migprobe::base
