#pragma once
// TX pacing by absolute TSC deadlines. Each flow's deadline advances by its exact interval
// (integer ticks plus a remainder carried like Bresenham's line), so there is no drift.
// After a stall the missed slots are skipped and counted, never sent as a catch-up burst.
// The TX core keeps the deadlines of its flows in a DeadlineWheel (deadline_wheel.h).

#include <cstdint>

#include "dataplane/tsc_clock.h"

namespace migprobe::dataplane {

// The deadline of one flow.
struct FlowPace {
  uint64_t deadline = 0;  // TSC
  uint64_t step = 0;      // whole ticks per interval
  uint64_t frac = 0;      // remaining ticks * 1e9 / hz ... kept as numerator over kDen
  uint64_t acc = 0;       // carried fraction, < kDen

  static constexpr uint64_t kDen = 1'000'000'000U;

  // Interval interval_ns at hz ticks per second, first deadline at start.
  void init(uint64_t interval_ns, uint64_t hz, uint64_t start) {
    const u128 ticks_x_den = static_cast<u128>(interval_ns) * hz;
    step = static_cast<uint64_t>(ticks_x_den / kDen);
    frac = static_cast<uint64_t>(ticks_x_den % kDen);
    acc = 0;
    deadline = start;
  }
  // The same interval at a newly measured rate hz, from the deadline already set: a
  // flow paced with a rate that was off keeps its next slot and is exact from there on.
  void set_rate(uint64_t interval_ns, uint64_t hz) {
    const uint64_t next = deadline;
    init(interval_ns, hz, next);
  }
  // Moves the deadline one interval on.
  void advance() {
    deadline += step;
    acc += frac;
    if (acc >= kDen) {
      acc -= kDen;
      ++deadline;
    }
  }
  // Called when the slot at deadline is taken at now (>= deadline): skips every slot that
  // is already wholly past, so the probe goes out now for the newest due slot. Returns the
  // number of slots skipped.
  uint64_t skip_missed(uint64_t now) {
    const uint64_t late = now - deadline;
    if (late < step) return 0;
    if (frac == 0) {
      // Whole ticks per interval (any interval on a TSC of whole GHz): plain arithmetic,
      // by subtraction when a few slots late.
      uint64_t k = 1;
      uint64_t rest = late - step;
      while (rest >= step && k < 4) {
        rest -= step;
        ++k;
      }
      if (rest >= step) k = late / step;
      deadline += k * step;
      return k;
    }
    // Exact: slots k with deadline + k * (step + frac/kDen) <= now. A core that keeps up
    // with a busy schedule lands here often: when the products fit 64 bits (a stall under
    // 18 s at up to 18 GHz) one hardware division does, not a 128-bit library call.
    constexpr uint64_t kFits = UINT64_MAX / kDen - 1;
    if (late < kFits && step < kFits) {
      // A few slots late is the usual case: count them by subtraction, not by division.
      const uint64_t late_x_den = late * kDen + acc;
      const uint64_t interval_x_den = step * kDen + frac;
      uint64_t k = 0;
      uint64_t rest = late_x_den;
      while (rest >= interval_x_den && k < 4) {
        rest -= interval_x_den;
        ++k;
      }
      if (rest >= interval_x_den) k = late_x_den / interval_x_den;
      if (k == 0) return 0;
      const uint64_t moved = k * frac + acc;
      deadline += k * step + moved / kDen;
      acc = moved % kDen;
      return k;
    }
    const u128 interval_x_den = static_cast<u128>(step) * kDen + frac;
    const u128 late_x_den = static_cast<u128>(late) * kDen;
    const uint64_t k = static_cast<uint64_t>((late_x_den + acc) / interval_x_den);
    if (k == 0) return 0;
    const u128 moved = static_cast<u128>(k) * frac + acc;
    deadline += k * step + static_cast<uint64_t>(moved / kDen);
    acc = static_cast<uint64_t>(moved % kDen);
    return k;
  }
};

}  // namespace migprobe::dataplane
