#pragma once
// IPv4 addresses as host-order numbers, the form the dataplane's tables and frames use.

#include <cstdint>
#include <optional>
#include <string>

namespace migprobe::base {

// Four bytes in network order (a frame's, or an address's bytes) as a host-order number.
inline uint32_t ipv4_from_bytes(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// Dotted-quad text ("10.77.0.11"); nullopt when it is not exactly that.
std::optional<uint32_t> parse_ipv4(const std::string& text);
// The dotted-quad text of a host-order number.
std::string ipv4_text(uint32_t ip);

}  // namespace migprobe::base
