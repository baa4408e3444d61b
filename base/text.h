#pragma once
// Numbers as text for reports and tables.

#include <string>

namespace migprobe::base {

// v with digits decimals ("12.3" for fixed_text(12.34, 1)).
std::string fixed_text(double v, int digits);

}  // namespace migprobe::base
