#include "analysis/report_text_parts.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <iterator>

namespace migprobe::analysis::text {

// "+1.234567 s" relative to the start of the capture.
std::string rel(uint64_t ns, uint64_t origin) {
  char buf[40];
  const bool after = ns >= origin;
  const uint64_t d = after ? ns - origin : origin - ns;
  std::snprintf(buf, sizeof buf, "%c%" PRIu64 ".%06" PRIu64 " s", after ? '+' : '-',
                d / 1'000'000'000, d % 1'000'000'000 / 1000);
  return buf;
}

// "12.345 s": a duration of seconds or more, to the millisecond.
std::string format_s(uint64_t ns) {
  char buf[40];
  const uint64_t ms = (ns + 500'000) / 1'000'000;
  std::snprintf(buf, sizeof buf, "%" PRIu64 ".%03" PRIu64 " s", ms / 1000, ms % 1000);
  return buf;
}

// "1.5 GiB": a memory size for people.
std::string format_bytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  return buf;
}

void line(std::string* out, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  out->append(buf);
  out->push_back('\n');
}

}  // namespace migprobe::analysis::text
