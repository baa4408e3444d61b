#pragma once
// Builds the frames the generated captures hold: probes and their replies (ICMP and ICMPv6
// echo, UDP to the reflector), foreign pings, RARP and gratuitous ARP announces, with
// correct checksums, so that every byte of a capture is known. The malformed scenario
// starts from these and breaks them on purpose.

#include <cstdint>
#include <vector>

#include "analysis/packet.h"
#include "analysis/probe_trailer.h"

namespace migprobe::pcapgen {

using Frame = std::vector<uint8_t>;

// One end of a probe exchange: a MAC and an IPv4 or IPv6 address.
struct Endpoint {
  analysis::MacAddress mac{};
  analysis::IpAddress ip;
};

// What goes into the L3/L4 headers of one frame, apart from the addresses.
struct FrameOptions {
  // 802.1Q tag when vlan is non-zero.
  uint16_t vlan = 0;
  uint8_t ttl = 64;
  uint16_t ip_id = 0;
  // Don't-fragment, as Linux sets it on pings and UDP probes.
  bool dont_fragment = true;
};

inline constexpr uint16_t kReflectorPort = 7077;

// The probe node and the targets of every scenario: 10.77.0.2 / 02:00:00:77:00:02 and
// 10.77.0.N / 52:54:00:77:00:NN (NN the decimal N, as the lab names its guests).
Endpoint probe_endpoint_v4();
Endpoint target_endpoint_v4(int n);
// The same hosts on IPv6: fd77::2 and fd77::N.
Endpoint probe_endpoint_v6();
Endpoint target_endpoint_v6(int n);

// ICMP or ICMPv6 echo (by the family of src.ip) from src to dst with payload after the
// 8-byte echo header. Frames shorter than 60 bytes are padded as a NIC would.
Frame icmp_echo(const Endpoint& src, const Endpoint& dst, const FrameOptions& opt, bool reply,
                uint16_t id, uint16_t seq, const std::vector<uint8_t>& payload);
// UDP datagram from src:sport to dst:dport carrying payload.
Frame udp_datagram(const Endpoint& src, const Endpoint& dst, const FrameOptions& opt,
                   uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload);
// The trailer encoded as an L4 payload.
std::vector<uint8_t> trailer_payload(const analysis::ProbeTrailer& t);

// RARP "reverse request" (op 3) as QEMU announces a VM's MAC after it resumes: broadcast,
// sender and target hardware address = mac, protocol addresses zero.
Frame rarp_announce(const analysis::MacAddress& mac, uint16_t vlan = 0);
// Gratuitous ARP request from the guest: sender IP = target IP = ip (IPv4, host order).
Frame gratuitous_arp(const analysis::MacAddress& mac, uint32_t ip, uint16_t vlan = 0);

// Offsets inside an untagged IPv4 frame, for the malformed scenario's surgery.
inline constexpr size_t kEthHeaderLen = 14;
inline constexpr size_t kIpv4HeaderLen = 20;
inline constexpr size_t kL4Offset = kEthHeaderLen + kIpv4HeaderLen;

// Recomputes the IPv4 header checksum of an untagged IPv4 frame.
void fix_ipv4_checksum(Frame* f);

}  // namespace migprobe::pcapgen
