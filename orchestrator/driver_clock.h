#pragma once
// The time a migration driver reads and waits on: the system's in a run, a fake one in unit
// tests, where a poll loop of minutes runs in microseconds.

#include <chrono>
#include <cstdint>
#include <thread>

#include "base/clock.h"

namespace migprobe::orchestrator {

class DriverClock {
 public:
  virtual ~DriverClock() = default;
  // Monotonic time, for timeouts.
  virtual std::chrono::steady_clock::time_point now() = 0;
  // Wall-clock nanoseconds, for the journal's stamps.
  virtual uint64_t realtime_ns() = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
};

// The system's clocks.
class SystemDriverClock : public DriverClock {
 public:
  std::chrono::steady_clock::time_point now() override { return std::chrono::steady_clock::now(); }
  uint64_t realtime_ns() override { return base::realtime_ns(); }
  void sleep_for(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
};

inline DriverClock& system_driver_clock() {
  static SystemDriverClock clock;
  return clock;
}

}  // namespace migprobe::orchestrator
