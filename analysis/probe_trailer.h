#pragma once
// The probe trailer: the 18 bytes every migprobe probe carries right after its L4 header,
// so that ICMP echo and UDP probes over IPv4 fit a 64-byte Ethernet frame (60 bytes plus
// FCS). All fields are in network byte order:
//
//   offset  size  field
//        0     2  magic: 0x6d70 "mp" as sent by the probe, 0x6d72 "mr" in a reply made by
//                 migprobe-reflector (ICMP echo replies keep "mp": the ICMP type says it)
//        2     4  version (4 bits) | run generation (8 bits) | flow id (20 bits)
//        6     4  sequence number, per flow, wrap-safe
//       10     8  TX timestamp, ns since the Unix epoch (probe node's CLOCK_REALTIME)
//
// A reflector reply appends its own receive counter for the flow (4 bytes) after the
// trailer, so forward loss and return loss can be told apart.

#include <cstddef>
#include <cstdint>

namespace migprobe::analysis {

inline constexpr uint16_t kTrailerMagicProbe = 0x6d70;
inline constexpr uint16_t kTrailerMagicReflected = 0x6d72;
inline constexpr uint8_t kTrailerVersion = 1;
inline constexpr size_t kTrailerSize = 18;
inline constexpr size_t kReflectorCounterSize = 4;
inline constexpr uint32_t kMaxFlowId = (1U << 20) - 1;
inline constexpr uint32_t kMaxGeneration = 0xff;

// A decoded trailer.
struct ProbeTrailer {
  uint8_t version = kTrailerVersion;
  uint8_t generation = 0;
  uint32_t flow_id = 0;
  uint32_t seq = 0;
  uint64_t tx_ns = 0;
  // Set when the packet was made by migprobe-reflector (magic "mr").
  bool reflected = false;
  // Set when the reflector's receive counter follows the trailer.
  bool has_reflector_count = false;
  uint32_t reflector_count = 0;
};

// Why a payload is not a valid trailer.
enum class TrailerError : uint8_t {
  kNone,
  // No migprobe magic: not a probe (e.g. a foreign ping); not an error by itself.
  kNoMagic,
  kTooShort,
  kBadVersion,
};

// Writes the 18-byte trailer (and the reflector counter when has_reflector_count is set)
// to out, which must hold trailer_size(t) bytes. Returns the bytes written.
size_t encode_trailer(const ProbeTrailer& t, uint8_t* out);

// Bytes encode_trailer writes for t.
inline size_t trailer_size(const ProbeTrailer& t) {
  return kTrailerSize + (t.has_reflector_count ? kReflectorCounterSize : 0);
}

// True when an L4 payload starts with a migprobe magic (valid or not, it is ours).
inline bool has_trailer_magic(const uint8_t* payload, size_t len) {
  if (len < 2) return false;
  const unsigned magic = (static_cast<unsigned>(payload[0]) << 8) | payload[1];
  return magic == kTrailerMagicProbe || magic == kTrailerMagicReflected;
}

// Decodes the trailer at the start of an L4 payload of len bytes. A reflected trailer
// carries the reflector counter when the payload is long enough for it.
TrailerError decode_trailer(const uint8_t* payload, size_t len, ProbeTrailer* out);

}  // namespace migprobe::analysis
