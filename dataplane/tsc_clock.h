#pragma once
// TSC to CLOCK_REALTIME conversion. The fast path reads the TSC; every timestamp that
// leaves the process is ns since the Unix epoch (DESIGN.md "Time"). The calibration is a
// (tsc, ns) pair plus a rate, taken at start and refreshed by the control thread, which
// hands each lcore its own copy through the command rings.

#include <cstdint>

namespace migprobe::dataplane {

// 128-bit products for exact tick arithmetic (a GCC/Clang extension).
__extension__ typedef unsigned __int128 u128;

// One calibration: ns = ns0 + (tsc - tsc0) * mult / 2^32.
struct TscCalibration {
  uint64_t tsc0 = 0;
  uint64_t ns0 = 0;
  uint64_t hz = 0;
  uint64_t mult = 0;  // ns per tick, 32.32 fixed point
  // Half the width of the rdtsc window around clock_gettime when tsc0/ns0 were taken.
  uint64_t uncertainty_ns = 0;

  uint64_t to_ns(uint64_t tsc) const {
    const int64_t d = static_cast<int64_t>(tsc - tsc0);
    if (d >= 0) {
      return ns0 + static_cast<uint64_t>((static_cast<u128>(d) * mult) >> 32);
    }
    return ns0 - static_cast<uint64_t>((static_cast<u128>(-d) * mult) >> 32);
  }
  // Ticks in ns nanoseconds.
  uint64_t ticks(uint64_t ns) const {
    return static_cast<uint64_t>(static_cast<u128>(ns) * hz / 1'000'000'000U);
  }
  // Nanoseconds in a span of ticks (the inverse of ticks()).
  uint64_t span_ns(uint64_t ticks) const {
    return static_cast<uint64_t>(static_cast<u128>(ticks) * 1'000'000'000U / hz);
  }
};

// Reads the TSC (the fast path uses rte_rdtsc, which is the same instruction).
uint64_t read_tsc();
// CLOCK_REALTIME in ns.
uint64_t realtime_ns();

// Takes a (tsc, realtime) pair: the narrowest of a few rdtsc/clock_gettime/rdtsc windows.
void sample_clock(uint64_t* tsc, uint64_t* ns, uint64_t* window_ns_out, uint64_t hz_hint);

// A calibration from a nominal rate (the EAL's estimate) and a fresh sample.
TscCalibration calibrate_initial(uint64_t hz_hint);
// A refreshed calibration: the rate measured between prev's pair and a fresh one.
// *offset_ns_out receives what prev predicted minus the clock now (its drift).
TscCalibration calibrate_refresh(const TscCalibration& prev, int64_t* offset_ns_out);

}  // namespace migprobe::dataplane
