#include "dataplane/tsc_clock.h"

#include <x86intrin.h>

#include <ctime>

namespace migprobe::dataplane {

uint64_t read_tsc() {
  return __rdtsc();
}

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000U + static_cast<uint64_t>(ts.tv_nsec);
}

void sample_clock(uint64_t* tsc, uint64_t* ns, uint64_t* window_ns_out, uint64_t hz_hint) {
  uint64_t best_window = ~uint64_t{0};
  for (int i = 0; i < 16; ++i) {
    const uint64_t t0 = read_tsc();
    const uint64_t n = realtime_ns();
    const uint64_t t1 = read_tsc();
    if (t1 - t0 < best_window) {
      best_window = t1 - t0;
      *tsc = t0 + (t1 - t0) / 2;
      *ns = n;
    }
  }
  if (window_ns_out != nullptr) {
    *window_ns_out = hz_hint == 0 ? 0 : best_window * 1'000'000'000U / hz_hint;
  }
}

static uint64_t mult_for(uint64_t hz) {
  return static_cast<uint64_t>((static_cast<u128>(1'000'000'000U) << 32) / hz);
}

TscCalibration calibrate_initial(uint64_t hz_hint) {
  TscCalibration c;
  c.hz = hz_hint;
  c.mult = mult_for(hz_hint);
  uint64_t window = 0;
  sample_clock(&c.tsc0, &c.ns0, &window, hz_hint);
  c.uncertainty_ns = window / 2;
  return c;
}

TscCalibration calibrate_refresh(const TscCalibration& prev, int64_t* offset_ns_out) {
  TscCalibration c;
  uint64_t window = 0;
  sample_clock(&c.tsc0, &c.ns0, &window, prev.hz);
  c.uncertainty_ns = window / 2;
  if (offset_ns_out != nullptr) {
    *offset_ns_out = static_cast<int64_t>(prev.to_ns(c.tsc0) - c.ns0);
  }
  const uint64_t dtsc = c.tsc0 - prev.tsc0;
  const uint64_t dns = c.ns0 - prev.ns0;
  // Only trust a measured rate over a long enough base (and when the clock did not step).
  if (dns > 100'000'000U && c.ns0 > prev.ns0) {
    c.hz = static_cast<uint64_t>(static_cast<u128>(dtsc) * 1'000'000'000U / dns);
  } else {
    c.hz = prev.hz;
  }
  c.mult = mult_for(c.hz);
  return c;
}

}  // namespace migprobe::dataplane
