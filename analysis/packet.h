#pragma once
// Parsing of captured or received frames: Ethernet with 802.1Q, IPv4, IPv6, ICMP and
// ICMPv6 echo, UDP, TCP, ARP and RARP. Nothing in a frame is trusted: every malformed
// frame returns the DropReason that says what was wrong. No allocation, no copies of
// payload: the parsed view points into the frame.

#include <array>
#include <cstdint>
#include <string>

#include "analysis/drop_reason.h"

namespace migprobe::analysis {

// An IPv4 or IPv6 address. IPv4 lives in the first four bytes.
struct IpAddress {
  uint8_t family = 0;  // 4, 6, or 0 for none
  std::array<uint8_t, 16> bytes{};

  static IpAddress v4(uint32_t host_order);
  // Parses dotted-quad or IPv6 text; family 0 when it does not parse.
  static IpAddress parse(const std::string& text);
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

// A hardware address.
using MacAddress = std::array<uint8_t, 6>;

// "aa:bb:cc:dd:ee:ff"
std::string mac_to_string(const MacAddress& mac);
// Parses "aa:bb:cc:dd:ee:ff"; returns false when it does not parse.
bool parse_mac(const std::string& text, MacAddress* out);

// What a frame is, as far as migprobe cares.
enum class PacketKind : uint8_t {
  kOther,
  kIcmpEchoRequest,
  kIcmpEchoReply,
  kUdp,
  kTcp,
  kArp,
  kRarp,
};

// The link-layer framing of a capture. Chosen once per capture.
enum class LinkType : uint8_t {
  kEthernet,
  kLinuxSll,   // tcpdump -i any (cooked v1)
  kLinuxSll2,  // tcpdump -i any (cooked v2)
  kRawIp,
};

// A parsed frame. Pointers refer into the frame passed to parse_frame.
struct ParsedPacket {
  PacketKind kind = PacketKind::kOther;
  bool has_vlan = false;
  uint16_t vlan = 0;
  MacAddress src_mac{};
  MacAddress dst_mac{};
  IpAddress src_ip;
  IpAddress dst_ip;
  uint8_t dscp = 0;
  uint16_t ip_id = 0;  // IPv4 identification (0 for IPv6)
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t icmp_id = 0;
  uint16_t icmp_seq = 0;
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t tcp_window = 0;  // the raw field, unscaled
  // TCP payload bytes on the wire (payload_len counts those captured).
  uint32_t tcp_len = 0;
  // TCP options present (SYN options for mss and wscale; timestamps on any segment).
  uint16_t tcp_mss = 0;    // 0: absent
  int8_t tcp_wscale = -1;  // -1: absent
  bool tcp_sack_ok = false;
  bool tcp_has_ts = false;
  uint32_t tcp_ts_val = 0;
  uint32_t tcp_ts_ecr = 0;
  // L4 payload (after the ICMP, UDP or TCP header).
  const uint8_t* payload = nullptr;
  uint32_t payload_len = 0;
  // ARP and RARP.
  uint16_t arp_op = 0;
  MacAddress arp_sender_mac{};
  uint32_t arp_sender_ip = 0;  // host order
  MacAddress arp_target_mac{};
  uint32_t arp_target_ip = 0;  // host order
};

// Options that hold for a whole capture or port.
struct ParseOptions {
  LinkType link = LinkType::kEthernet;
  // Verify IPv4 header and L4 checksums (off for captures taken where the NIC computes
  // checksums after the capture point).
  bool verify_checksums = true;
};

// Parses a frame of caplen captured bytes (wirelen on the wire). Returns DropReason::kNone
// with *out filled, or the reason the frame cannot be trusted.
DropReason parse_frame(const ParseOptions& opt, const uint8_t* frame, uint32_t caplen,
                       uint32_t wirelen, ParsedPacket* out);

// Internet checksum (RFC 1071) of len bytes, folded, added to a starting sum.
uint32_t checksum_add(uint32_t sum, const uint8_t* p, size_t len);
uint16_t checksum_fold(uint32_t sum);

}  // namespace migprobe::analysis
