#pragma once
// Probe and ARP frames, built without DPDK. A flow's headers are laid out once (when the flow
// is added) into a ProbeHeader; per packet the TX core copies it, writes the trailer and
// finishes the L4 checksum from a precomputed partial sum.

#include <cstdint>
#include <cstring>

#include "analysis/packet.h"
#include "analysis/probe_trailer.h"
#include "analysis/syn_probe.h"
#include "dataplane/target_spec.h"
#include "dataplane/tcp_endpoint.h"

namespace migprobe::dataplane {

// Addresses of the probe itself.
struct ProbeIdentity {
  analysis::MacAddress mac{};
  uint32_t ip = 0;  // host order
};

// The constant part of one flow's frames.
struct ProbeHeader {
  static constexpr uint16_t kMaxHeader = 64;
  uint8_t bytes[kMaxHeader];
  uint16_t hdr_len = 0;    // Ethernet (+VLAN) + IPv4 + ICMP/UDP header
  uint16_t frame_len = 0;  // whole frame, at least 60 bytes (FCS excluded)
  uint16_t l4_off = 0;
  uint16_t payload_len = 0;  // L4 payload, trailer included
  uint32_t l4_sum = 0;       // unfolded one's complement sum of the constant L4 parts
  uint8_t kind = 0;          // ProbeKind
  uint8_t pad_[3] = {};
};

// Lays out the headers of a flow from the probe to target ip (dst_mac may be zero while
// unresolved). flow_id sets the ICMP identifier and the UDP source port; a tcp-syn flow's
// SYN leaves from src_port (its TCP slot's port) with the flow in its IPv4 identification
// (analysis/syn_probe.h).
void build_probe_header(const ProbeIdentity& self, const analysis::MacAddress& dst_mac,
                        uint16_t vlan, uint32_t dst_ip, const FlowParams& flow, uint32_t flow_id,
                        ProbeHeader* out, uint16_t src_port = 0);

// Sets the destination MAC of a laid-out header.
inline void set_probe_dst_mac(ProbeHeader* h, const analysis::MacAddress& mac) {
  std::memcpy(h->bytes, mac.data(), 6);
}

// One's complement sum of the 18 trailer bytes as 16-bit words.
inline uint32_t trailer_sum(const uint8_t* t) {
  uint32_t s = 0;
  for (int i = 0; i < 18; i += 2) s += (uint32_t{t[i]} << 8) | t[i + 1];
  return s;
}

inline uint16_t fold_sum(uint32_t s) {
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// Writes one probe into frame (frame_len bytes of room): headers, trailer, zero padding,
// and the L4 checksum. The hot path of the TX core.
__attribute__((always_inline)) inline void write_probe(const ProbeHeader& h, uint8_t* frame,
                                                       uint8_t generation, uint32_t flow_id,
                                                       uint32_t seq, uint64_t tx_ns) {
  std::memcpy(frame, h.bytes, ProbeHeader::kMaxHeader);
  uint8_t* t = frame + h.hdr_len;
  if (h.frame_len > h.hdr_len + analysis::kTrailerSize) {
    std::memset(t + analysis::kTrailerSize, 0, h.frame_len - h.hdr_len - analysis::kTrailerSize);
  }
  const uint32_t word = (uint32_t{analysis::kTrailerVersion} << 28) | (uint32_t{generation} << 20) |
                        (flow_id & analysis::kMaxFlowId);
  // The trailer as three big-endian stores, and its one's complement sum from the same
  // values (16-bit words), not from the bytes just written.
  t[0] = static_cast<uint8_t>(analysis::kTrailerMagicProbe >> 8);
  t[1] = static_cast<uint8_t>(analysis::kTrailerMagicProbe);
  const uint32_t word_be = __builtin_bswap32(word);
  const uint32_t seq_be = __builtin_bswap32(seq);
  const uint64_t tx_be = __builtin_bswap64(tx_ns);
  std::memcpy(t + 2, &word_be, 4);
  std::memcpy(t + 6, &seq_be, 4);
  std::memcpy(t + 10, &tx_be, 8);
  const uint32_t t_sum =
      analysis::kTrailerMagicProbe + (word >> 16) + (word & 0xffff) + (seq >> 16) + (seq & 0xffff) +
      static_cast<uint32_t>(tx_ns >> 48) + static_cast<uint32_t>((tx_ns >> 32) & 0xffff) +
      static_cast<uint32_t>((tx_ns >> 16) & 0xffff) + static_cast<uint32_t>(tx_ns & 0xffff);
  uint8_t* l4 = frame + h.l4_off;
  uint32_t sum = h.l4_sum + t_sum;
  if (h.kind == static_cast<uint8_t>(ProbeKind::kIcmpEcho)) {
    const uint16_t seq16 = static_cast<uint16_t>(seq);
    l4[6] = static_cast<uint8_t>(seq16 >> 8);
    l4[7] = static_cast<uint8_t>(seq16);
    sum += seq16;
    const uint16_t c = static_cast<uint16_t>(~fold_sum(sum));
    l4[2] = static_cast<uint8_t>(c >> 8);
    l4[3] = static_cast<uint8_t>(c);
  } else {
    uint16_t c = static_cast<uint16_t>(~fold_sum(sum));
    if (c == 0) c = 0xffff;
    l4[6] = static_cast<uint8_t>(c >> 8);
    l4[7] = static_cast<uint8_t>(c);
  }
}

// Writes one tcp-syn probe (a SYN with sequence isn) into frame: the hot path's other form.
inline void write_syn_probe(const ProbeHeader& h, uint8_t* frame, uint32_t isn) {
  std::memcpy(frame, h.bytes, ProbeHeader::kMaxHeader);
  if (h.frame_len > h.hdr_len) std::memset(frame + h.hdr_len, 0, h.frame_len - h.hdr_len);
  uint8_t* tcp = frame + h.l4_off;
  const uint32_t isn_be = __builtin_bswap32(isn);
  std::memcpy(tcp + 4, &isn_be, 4);
  const uint16_t c = static_cast<uint16_t>(~fold_sum(h.l4_sum + (isn >> 16) + (isn & 0xffff)));
  tcp[16] = static_cast<uint8_t>(c >> 8);
  tcp[17] = static_cast<uint8_t>(c);
}

// ARP operations.
inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;

// Writes an ARP frame (padded to 60 bytes, plus 4 with a VLAN tag); returns its length.
uint16_t build_arp(uint8_t* out, uint16_t op, const analysis::MacAddress& eth_dst,
                   const analysis::MacAddress& sender_mac, uint32_t sender_ip,
                   const analysis::MacAddress& target_mac, uint32_t target_ip, uint16_t vlan);

// The addresses and ports of one TCP flow's frames (host order).
struct TcpFrameAddress {
  analysis::MacAddress src_mac{};
  analysis::MacAddress dst_mac{};
  uint16_t vlan = 0;
  uint32_t src_ip = 0;
  uint32_t dst_ip = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t dscp = 0;
};

// Room a TCP frame needs at most: Ethernet and VLAN, IPv4, TCP with options, 1460 bytes.
inline constexpr size_t kMaxTcpFrame = 18 + 20 + 40 + 1460;

// Writes the frame of segment t into out (kMaxTcpFrame bytes of room): headers, options
// (MSS, window scale and timestamps on a SYN; timestamps when t has them), the payload as
// the endpoint writes it, padding to 60 bytes, checksums. Returns its length; 0 when the
// endpoint no longer has the payload's bytes.
uint16_t build_tcp_frame(const TcpFrameAddress& a, const TcpTx& t, const TcpEndpoint& ep,
                         uint8_t* out);

// A bare reset (RST, sequence seq) into out (64 bytes of room); returns its length.
uint16_t build_tcp_reset(const TcpFrameAddress& a, uint32_t seq, uint8_t* out);

}  // namespace migprobe::dataplane
