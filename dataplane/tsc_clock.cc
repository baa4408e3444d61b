#include "dataplane/tsc_clock.h"

#include <x86intrin.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace migprobe::dataplane {

namespace {

// A slew removes the offset found over the time to the next refresh, at most this fast
// (1%): enough for a start rate 0.5% off, and the slope always stays positive.
constexpr long double kMaxSlew = 0.01L;
// A change of CLOCK_REALTIME - CLOCK_MONOTONIC smaller than this is the reads' own jitter.
constexpr int64_t kStepMinNs = 10'000;
// Below this base a rate is not measured again (a refresh right after another).
constexpr uint64_t kMinBaseNs = 10'000'000;

// Ticks per ns between two samples, against one of their clocks.
long double ticks_per_ns(const ClockSample& a, const ClockSample& b, uint64_t ClockSample::*ns) {
  const uint64_t dns = b.*ns - a.*ns;
  if (dns == 0) return 0;
  return static_cast<long double>(b.tsc - a.tsc) / static_cast<long double>(dns);
}

uint64_t mult_for_ns_per_tick(long double ns_per_tick) {
  return static_cast<uint64_t>(std::llround(std::ldexp(ns_per_tick, 32)));
}

}  // namespace

uint64_t read_tsc() {
  return __rdtsc();
}

ClockSample take_clock_sample() {
  ClockSample best;
  best.window_ticks = ~uint64_t{0};
  for (int i = 0; i < 16; ++i) {
    ClockSample s;
    const uint64_t t0 = read_tsc();
    s.raw_ns = base::monotonic_raw_ns();
    s.mono_ns = base::monotonic_ns();
    s.real_ns = base::realtime_ns();
    const uint64_t t1 = read_tsc();
    s.window_ticks = t1 - t0;
    s.tsc = t0 + s.window_ticks / 2;
    if (s.window_ticks < best.window_ticks) best = s;
  }
  return best;
}

ProbeClock::ProbeClock(const ClockSample& first, const ClockSample& last,
                       const ClockSettings& settings)
    : settings_(settings), first_(first) {
  const long double raw_rate = ticks_per_ns(first, last, &ClockSample::raw_ns);
  const long double mono_rate = ticks_per_ns(first, last, &ClockSample::mono_ns);
  // A base too short to measure (never from migprobe-dp, which waits for 50 ms): the
  // EAL's figure, the only one there is.
  const long double fallback = static_cast<long double>(settings.eal_hz) / 1e9L;
  const long double start_rate =
      (mono_rate > 0 ? mono_rate : fallback) * (1.0L + settings.skew_ppm / 1e6L);
  raw_hz_ = static_cast<uint64_t>(std::llround((raw_rate > 0 ? raw_rate : fallback) * 1e9L));
  measured_over_ns_ = last.raw_ns - first.raw_ns;
  wall_at_start_ns_ = static_cast<int64_t>(last.real_ns) - static_cast<int64_t>(last.mono_ns);
  calibration_.tsc0 = last.tsc;
  calibration_.ns0 = last.real_ns;
  calibration_.hz = static_cast<uint64_t>(std::llround(start_rate * 1e9L));
  calibration_.mult = mult_for_ns_per_tick(1.0L / start_rate);
  calibration_.uncertainty_ns = calibration_.span_ns(last.window_ticks) / 2;
  kept_[0] = first;
  kept_count_ = 1;
  kept_next_ = 1;
  next_gap_ns_ = settings.first_refresh_ns;
  due_mono_ns_ = last.mono_ns + next_gap_ns_;
}

ClockRefresh ProbeClock::refresh(const ClockSample& now) {
  ClockRefresh r;
  const uint64_t here_ns = calibration_.to_ns(now.tsc);
  const int64_t tracked_ns = static_cast<int64_t>(now.mono_ns) + wall_at_start_ns_;
  r.offset_ns = static_cast<int64_t>(here_ns) - tracked_ns;

  const int64_t wall_offset =
      static_cast<int64_t>(now.real_ns) - static_cast<int64_t>(now.mono_ns) - wall_at_start_ns_;
  if (std::llabs(wall_offset - realtime_offset_ns_) >= kStepMinNs) {
    r.realtime_step_ns = wall_offset - realtime_offset_ns_;
    realtime_offset_ns_ = wall_offset;
  }

  // The rate against CLOCK_MONOTONIC from the oldest kept sample: a long base, and still
  // one that follows a change of NTP's frequency within kKeep refreshes.
  const int oldest = kept_count_ < kKeep ? 0 : kept_next_;
  const ClockSample& base = kept_[oldest];
  long double ns_per_tick = 1e9L / static_cast<long double>(calibration_.hz);
  if (now.mono_ns - base.mono_ns >= kMinBaseNs && now.tsc > base.tsc) {
    ns_per_tick = 1.0L / ticks_per_ns(base, now, &ClockSample::mono_ns);
  }
  if (now.raw_ns - first_.raw_ns >= kMinBaseNs && now.tsc > first_.tsc) {
    raw_hz_ =
        static_cast<uint64_t>(std::llround(ticks_per_ns(first_, now, &ClockSample::raw_ns) * 1e9L));
    measured_over_ns_ = now.raw_ns - first_.raw_ns;
  }

  next_gap_ns_ = std::min(next_gap_ns_ * 2, settings_.refresh_interval_ns);
  const long double slew =
      std::clamp(-static_cast<long double>(r.offset_ns) / static_cast<long double>(next_gap_ns_),
                 -kMaxSlew, kMaxSlew);
  r.slew_ppm = static_cast<double>(slew * 1e6L);

  TscCalibration next;
  next.tsc0 = now.tsc;
  next.ns0 = here_ns;  // where the current piece stands: no step
  next.hz = static_cast<uint64_t>(std::llround(1e9L / ns_per_tick));
  next.mult = mult_for_ns_per_tick(ns_per_tick * (1.0L + slew));
  next.uncertainty_ns = next.span_ns(now.window_ticks) / 2;
  calibration_ = next;

  kept_[kept_next_] = now;
  kept_next_ = (kept_next_ + 1) % kKeep;
  kept_count_ = std::min(kept_count_ + 1, kKeep);
  due_mono_ns_ = now.mono_ns + next_gap_ns_;
  ++refreshes_;
  return r;
}

std::string ProbeClock::rate_source() const {
  char text[256];
  int n = std::snprintf(text, sizeof(text), "measured against CLOCK_MONOTONIC_RAW over %.3f s",
                        static_cast<double>(measured_over_ns_) / 1e9);
  if (settings_.skew_ppm != 0 && refreshes_ == 0) {
    n += std::snprintf(text + n, sizeof(text) - static_cast<size_t>(n),
                       "; started %+.0f ppm off it (--tsc-skew-ppm)", settings_.skew_ppm);
  }
  if (settings_.eal_hz != 0 && raw_hz_ != 0) {
    const double ppm = (static_cast<double>(settings_.eal_hz) - static_cast<double>(raw_hz_)) /
                       static_cast<double>(raw_hz_) * 1e6;
    std::snprintf(text + n, sizeof(text) - static_cast<size_t>(n),
                  "; DPDK's estimate %.3f MHz (%+.0f ppm), not used",
                  static_cast<double>(settings_.eal_hz) / 1e6, ppm);
  }
  return text;
}

}  // namespace migprobe::dataplane
