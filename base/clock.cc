#include "base/clock.h"

#include <ctime>

namespace migprobe::base {

namespace {

uint64_t read_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000U + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

uint64_t realtime_ns() {
  return read_ns(CLOCK_REALTIME);
}

uint64_t monotonic_ns() {
  return read_ns(CLOCK_MONOTONIC);
}

uint64_t monotonic_raw_ns() {
  return read_ns(CLOCK_MONOTONIC_RAW);
}

}  // namespace migprobe::base
