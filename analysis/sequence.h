#pragma once
// Wrap-safe arithmetic on 32-bit probe sequence numbers (serial number arithmetic, as
// RFC 1982): a is after b when the signed distance from b to a is positive.

#include <cstdint>

namespace migprobe::analysis {

// Signed distance a - b, correct across the wrap at 2^32 while |a - b| < 2^31.
inline int64_t seq_distance(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b);
}

inline bool seq_after(uint32_t a, uint32_t b) {
  return seq_distance(a, b) > 0;
}

// Extends a 16-bit sequence (ICMP echo) to 32 bits, picking the value nearest to ref.
inline uint32_t seq_extend16(uint16_t seq16, uint32_t ref) {
  const int16_t delta =
      static_cast<int16_t>(static_cast<uint16_t>(seq16 - static_cast<uint16_t>(ref)));
  return ref + static_cast<uint32_t>(static_cast<int32_t>(delta));
}

}  // namespace migprobe::analysis
