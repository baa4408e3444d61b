#pragma once
// How many flows the RX core's outage scan visits on each pass of its loop. The scan visits
// every flow once per period: kMinPeriodNs, or kNsPerFlow per flow beyond a thousand flows,
// so that it costs at most a visit per microsecond (100,000 flows: each seen every 100 ms;
// gaps are settled a reply timeout after they close, outages in progress are a live hint)
// however many frames come. A pass visits at most kMaxPerPass flows, so a jump of the clock
// (replay) never stalls the RX burst. Visits owed are carried over as credit; a clock that
// goes back (a new replay clock) starts again from there. No DPDK; header only, it runs on
// the fast path.

#include <algorithm>
#include <cstdint>

namespace migprobe::dataplane {

class ScanPacer {
 public:
  static constexpr uint64_t kMinPeriodNs = 1'000'000;
  static constexpr uint64_t kNsPerFlow = 1'000;
  static constexpr uint32_t kMaxPerPass = 64;

  // Each flow's period with n flows.
  static uint64_t period_ns(uint64_t n) { return std::max(kMinPeriodNs, n * kNsPerFlow); }

  // Visits owed at now_ns with n flows active.
  uint32_t quota(uint64_t now_ns, uint64_t n) {
    if (now_ns <= last_ns_) {
      if (now_ns < last_ns_) last_ns_ = now_ns;
      return 0;
    }
    const uint64_t period = period_ns(n);
    const uint64_t dt = std::min(now_ns - last_ns_, period);
    last_ns_ = now_ns;
    credit_ = std::min(credit_ + dt * n, n * period);
    const uint64_t visits = std::min<uint64_t>(credit_ / period, kMaxPerPass);
    credit_ -= visits * period;
    return static_cast<uint32_t>(visits);
  }

 private:
  uint64_t last_ns_ = 0;
  uint64_t credit_ = 0;  // flow visits owed, times the period
};

}  // namespace migprobe::dataplane
