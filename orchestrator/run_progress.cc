#include "orchestrator/run_progress.h"

#include <time.h>

#include <cstdint>
#include <cstdio>

namespace migprobe::orchestrator {

void RunProgress::line(const std::string& text) {
  if (!quiet_) write(text);
}

void RunProgress::problem(const std::string& text) {
  write(text);
}

void RunProgress::write(const std::string& text) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm local{};
  localtime_r(&ts.tv_sec, &local);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%02d:%02d:%02d.%03ld", local.tm_hour, local.tm_min,
                local.tm_sec, ts.tv_nsec / 1'000'000);
  std::lock_guard<std::mutex> lock(mutex_);
  std::fprintf(stderr, "[%s] %s\n", stamp, text.c_str());
  std::fflush(stderr);
}

std::string mib_text(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

std::string seconds_text(uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ns) / 1e9);
  return text;
}

}  // namespace migprobe::orchestrator
