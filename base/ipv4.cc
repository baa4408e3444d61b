#include "base/ipv4.h"

#include <cstdio>

namespace migprobe::base {

std::optional<uint32_t> parse_ipv4(const std::string& text) {
  uint32_t out = 0;
  size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    size_t digits = 0;
    uint32_t v = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && digits < 3) {
      v = v * 10 + static_cast<uint32_t>(text[pos] - '0');
      ++pos;
      ++digits;
    }
    if (digits == 0 || v > 255) return std::nullopt;
    out = (out << 8) | v;
  }
  if (pos != text.size()) return std::nullopt;
  return out;
}

std::string ipv4_text(uint32_t ip) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
                ip & 0xff);
  return buf;
}

}  // namespace migprobe::base
