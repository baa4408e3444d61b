#include "base/text.h"

#include <cstdio>

namespace migprobe::base {

std::string fixed_text(double v, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

}  // namespace migprobe::base
