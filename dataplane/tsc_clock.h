#pragma once
// The probe's clock: TSC ticks to ns since the Unix epoch (DESIGN.md "Time").
//
// The fast path reads the TSC and converts with a TscCalibration, one linear piece of the
// mapping, which each lcore holds its own copy of. The control thread's ProbeClock owns the
// mapping: it measures the TSC rate at start against CLOCK_MONOTONIC_RAW (DPDK's estimate
// is rounded to 10 MHz: 0.15% off on a 2596.148 MHz TSC), then refreshes it, often at first
// and then every few seconds. A refresh never steps the mapping: the new piece starts where
// the old one stands at that instant, with a slope that removes the offset found over the
// time to the next refresh (a slew), so timestamps stay continuous and monotonic and no gap
// straddles a jump.
//
// The mapping tracks CLOCK_MONOTONIC plus the wall-clock offset at start: CLOCK_REALTIME
// with its NTP frequency corrections but without its steps. A step of CLOCK_REALTIME (an
// administrator's settimeofday) is measured at the next refresh as a change of the
// realtime offset; timestamps that leave the process carry it (to_realtime), durations
// measured inside never do.

#include <cstdint>
#include <string>

#include "base/clock.h"

namespace migprobe::dataplane {

using base::monotonic_ns;
using base::realtime_ns;

// 128-bit products for exact tick arithmetic (a GCC/Clang extension).
__extension__ typedef unsigned __int128 u128;

// One piece of the mapping: ns = ns0 + (tsc - tsc0) * mult / 2^32.
struct TscCalibration {
  uint64_t tsc0 = 0;
  uint64_t ns0 = 0;
  // Ticks per second as measured (against CLOCK_MONOTONIC once refreshed): pacing, spans.
  uint64_t hz = 0;
  // ns per tick, 32.32 fixed point: 1e9 / hz, slewed while an offset is being removed.
  uint64_t mult = 0;
  // Half the width of the rdtsc window around the clock reads when tsc0/ns0 were taken.
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

// One reading of the clocks the probe's clock is built from, taken in the narrowest of a
// few rdtsc windows around the reads; tsc is that window's middle.
struct ClockSample {
  uint64_t tsc = 0;
  uint64_t raw_ns = 0;   // CLOCK_MONOTONIC_RAW: the oscillator without NTP: the TSC's rate
  uint64_t mono_ns = 0;  // CLOCK_MONOTONIC: NTP's rate, never steps: what the mapping tracks
  uint64_t real_ns = 0;  // CLOCK_REALTIME: CLOCK_MONOTONIC plus an offset that can step
  uint64_t window_ticks = 0;
};
ClockSample take_clock_sample();

struct ClockSettings {
  // The first refresh comes this long after start; the gaps between refreshes then double
  // up to refresh_interval_ns.
  uint64_t first_refresh_ns = 100'000'000;
  uint64_t refresh_interval_ns = 5'000'000'000;
  // DPDK's estimate of the rate, kept for the record only.
  uint64_t eal_hz = 0;
  // A test of the slewing: start from the measured rate this many ppm off.
  double skew_ppm = 0;
};

// What one refresh found and did.
struct ClockRefresh {
  // The mapping minus the clock it tracks, just before this refresh: the residual drift.
  int64_t offset_ns = 0;
  // A step of CLOCK_REALTIME since the last refresh (0: none).
  int64_t realtime_step_ns = 0;
  // The new piece's slope against the measured rate, in ppm: the slew under way.
  double slew_ppm = 0;
};

// The mapping from TSC to the probe's time and its refreshes. Pure arithmetic on samples
// (the caller takes them), so it is tested with made-up clocks.
class ProbeClock {
 public:
  // Starts from the TSC rate measured between first and last (taken at least 50 ms apart:
  // migprobe-dp takes them around the EAL's initialisation).
  ProbeClock(const ClockSample& first, const ClockSample& last, const ClockSettings& settings);

  const TscCalibration& calibration() const { return calibration_; }
  // The next piece of the mapping, continuous with the current one at now.tsc.
  ClockRefresh refresh(const ClockSample& now);
  // When (CLOCK_MONOTONIC) the next refresh is due.
  uint64_t refresh_due_mono_ns() const { return due_mono_ns_; }

  // CLOCK_REALTIME steps seen so far (ns, signed): added to every timestamp that leaves
  // the process, so it compares with other processes' CLOCK_REALTIME.
  int64_t realtime_offset_ns() const { return realtime_offset_ns_; }
  uint64_t to_realtime(uint64_t probe_ns) const {
    return probe_ns + static_cast<uint64_t>(realtime_offset_ns_);
  }

  // The TSC rate against CLOCK_MONOTONIC_RAW over everything measured so far.
  uint64_t tsc_hz() const { return raw_hz_; }
  uint64_t eal_hz() const { return settings_.eal_hz; }
  // Where the rate came from, in words (the clock record carries it).
  std::string rate_source() const;
  uint32_t refreshes() const { return refreshes_; }

 private:
  static constexpr int kKeep = 16;

  ClockSettings settings_;
  TscCalibration calibration_;
  ClockSample first_;
  // The last kKeep refresh samples, oldest first in ring order: the rate against
  // CLOCK_MONOTONIC is measured from the oldest (a long base, still following NTP).
  ClockSample kept_[kKeep];
  int kept_count_ = 0;
  int kept_next_ = 0;
  // CLOCK_REALTIME - CLOCK_MONOTONIC at start: the mapping tracks CLOCK_MONOTONIC + this.
  int64_t wall_at_start_ns_ = 0;
  int64_t realtime_offset_ns_ = 0;
  uint64_t raw_hz_ = 0;
  uint64_t measured_over_ns_ = 0;
  uint64_t next_gap_ns_ = 0;
  uint64_t due_mono_ns_ = 0;
  uint32_t refreshes_ = 0;
};

}  // namespace migprobe::dataplane
