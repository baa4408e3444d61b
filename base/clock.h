#pragma once
// The system clocks as ns: CLOCK_REALTIME for every timestamp that leaves a process
// (DESIGN.md "Time"), CLOCK_MONOTONIC for schedules a step of the wall clock must not move.

#include <cstdint>

namespace migprobe::base {

// CLOCK_REALTIME in ns since the Unix epoch.
uint64_t realtime_ns();
// CLOCK_MONOTONIC in ns.
uint64_t monotonic_ns();
// CLOCK_MONOTONIC_RAW in ns: the oscillator without NTP's corrections.
uint64_t monotonic_raw_ns();

}  // namespace migprobe::base
