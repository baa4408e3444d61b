#pragma once
// Every reason a frame is not trusted or not used, in one table. The parser, the classifier
// (classify.h), the offline analyzer and the dataplane count drops by these reasons, so one
// frame is counted under the same reason live and offline; reports list every non-zero one.

#include <array>
#include <cstdint>
#include <string_view>

namespace migprobe::analysis {

// _(NAME, "description")
#define MIGPROBE_FOREACH_DROP_REASON(_)                                               \
  _(TRUNCATED_ETHERNET, "frame shorter than its Ethernet (and VLAN) header")          \
  _(SNAPLEN_CUT, "capture kept fewer bytes than the headers need (snaplen)")          \
  _(TRUNCATED_IP, "IP header cut short")                                              \
  _(BAD_IP_VERSION, "IP version field disagrees with the ethertype")                  \
  _(BAD_IP_HEADER_LENGTH, "IPv4 header length below 20 bytes")                        \
  _(BAD_IP_TOTAL_LENGTH, "IP length field larger than the frame")                     \
  _(BAD_IP_CHECKSUM, "IPv4 header checksum wrong")                                    \
  _(IP_FRAGMENT, "IP fragment (probes are never fragmented)")                         \
  _(TRUNCATED_L4, "ICMP, UDP or TCP header cut short")                                \
  _(BAD_L4_LENGTH, "UDP length field disagrees with the IP length")                   \
  _(BAD_L4_CHECKSUM, "ICMP, UDP or TCP checksum wrong")                               \
  _(BAD_TCP_OPTIONS, "TCP option with a wrong length or past the header")             \
  _(TRUNCATED_ARP, "ARP or RARP frame cut short or not Ethernet/IPv4")                \
  _(TRUNCATED_TRAILER, "probe magic present but the trailer is cut short")            \
  _(BAD_TRAILER_VERSION, "probe trailer of an unknown format version")                \
  _(STALE_GENERATION, "probe of another run (run generation differs)")                \
  _(BAD_FLOW_ID, "probe flow id out of range")                                        \
  _(TIMESTAMP_AHEAD, "probe TX timestamp later than its capture time")                \
  _(UNSUPPORTED_LINK, "frame of a link type this reader does not decode")             \
  _(NOT_PROBE, "IP packet without a migprobe trailer (foreign traffic)")              \
  _(OTHER_PROTOCOL, "frame of a protocol migprobe does not use")                      \
  _(UNKNOWN_FLOW, "reply for a flow id that is not configured")                       \
  _(NOT_A_REPLY, "probe request (not a reply) received")                              \
  _(WRONG_PEER, "probe from (or to) an address other than its flow's target")         \
  _(WRONG_KIND, "probe of another kind than its flow (ICMP vs UDP)")                  \
  _(NOT_FOR_US, "IP packet or ARP request addressed to someone else")                 \
  _(TCP_NO_CONNECTION, "TCP segment to the probe for no connection of its TCP flows") \
  _(TCP_WRONG_PEER, "TCP segment to a TCP flow's port from another address or port")  \
  _(TCP_OUT_OF_WINDOW, "TCP segment outside its connection's windows (sequence or ACK)")

// Why a packet was dropped.
enum class DropReason : uint8_t {
  kNone = 0,
#define MIGPROBE_DROP_ENUM(name, desc) k##name,
  MIGPROBE_FOREACH_DROP_REASON(MIGPROBE_DROP_ENUM)
#undef MIGPROBE_DROP_ENUM
      kCount
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

// Machine name of a reason, e.g. "BAD_IP_CHECKSUM".
std::string_view drop_reason_name(DropReason r);
// One-line explanation of a reason.
std::string_view drop_reason_description(DropReason r);

// Counters indexed by DropReason; one per owner (core, analyzer), summed by readers.
using DropCounters = std::array<uint64_t, kDropReasonCount>;

}  // namespace migprobe::analysis
