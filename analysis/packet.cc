#include "analysis/packet.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

#include "analysis/byte_order.h"

namespace migprobe::analysis {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherArp = 0x0806;
constexpr uint16_t kEtherRarp = 0x8035;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88a8;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpv6 = 58;

// The part of the frame the parser may read: captured bytes, and whether the capture cut
// the frame short (then a length field may legitimately exceed what is here).
struct View {
  const uint8_t* p;
  uint32_t len;
  bool cut;
  // The length the enclosing header declares (>= len when cut; len otherwise).
  uint32_t declared = 0;
};

uint32_t pseudo_header_sum(const ParsedPacket& pkt, uint8_t proto, uint32_t l4_len) {
  uint32_t sum = 0;
  const size_t alen = pkt.src_ip.family == 4 ? 4 : 16;
  sum = checksum_add(sum, pkt.src_ip.bytes.data(), alen);
  sum = checksum_add(sum, pkt.dst_ip.bytes.data(), alen);
  if (pkt.src_ip.family == 4) {
    sum += proto;
    sum += l4_len;
  } else {
    sum += l4_len >> 16;
    sum += l4_len & 0xffff;
    sum += proto;
  }
  return sum;
}

// The TCP options of a header (RFC 9293 3.2): end, no-op, and kind-length-value; those
// migprobe reads (MSS, window scale, SACK permitted, timestamps) must have their own length.
// False when an option's length is wrong or runs past the header.
bool parse_tcp_options(const uint8_t* p, uint32_t len, ParsedPacket* out) {
  out->tcp_mss = 0;
  out->tcp_wscale = -1;
  out->tcp_sack_ok = false;
  out->tcp_has_ts = false;
  uint32_t i = 0;
  while (i < len) {
    const uint8_t kind = p[i];
    if (kind == 0) break;  // end of the option list
    if (kind == 1) {       // no-op
      ++i;
      continue;
    }
    if (i + 1 >= len) return false;
    const uint8_t olen = p[i + 1];
    if (olen < 2 || i + olen > len) return false;
    switch (kind) {
      case 2:
        if (olen != 4) return false;
        out->tcp_mss = load_be16(p + i + 2);
        break;
      case 3:
        if (olen != 3) return false;
        out->tcp_wscale = static_cast<int8_t>(p[i + 2] > 14 ? 14 : p[i + 2]);
        break;
      case 4:
        if (olen != 2) return false;
        out->tcp_sack_ok = true;
        break;
      case 8:
        if (olen != 10) return false;
        out->tcp_has_ts = true;
        out->tcp_ts_val = load_be32(p + i + 2);
        out->tcp_ts_ecr = load_be32(p + i + 6);
        break;
      default:
        break;  // SACK blocks and the rest: skipped by their length
    }
    i += olen;
  }
  return true;
}

DropReason parse_l4(const ParseOptions& opt, uint8_t proto, View l4, ParsedPacket* out) {
  const bool verify = opt.verify_checksums && !l4.cut;
  switch (proto) {
    case kProtoIcmp:
    case kProtoIcmpv6: {
      if (l4.len < 8) return l4.cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_L4;
      if (verify) {
        uint32_t sum = proto == kProtoIcmpv6 ? pseudo_header_sum(*out, proto, l4.len) : 0;
        if (checksum_fold(checksum_add(sum, l4.p, l4.len)) != 0) {
          return DropReason::kBAD_L4_CHECKSUM;
        }
      }
      const uint8_t type = l4.p[0];
      const bool v6 = proto == kProtoIcmpv6;
      if (type == (v6 ? 128 : 8)) {
        out->kind = PacketKind::kIcmpEchoRequest;
      } else if (type == (v6 ? 129 : 0)) {
        out->kind = PacketKind::kIcmpEchoReply;
      } else {
        out->kind = PacketKind::kOther;
        return DropReason::kNone;
      }
      out->icmp_id = load_be16(l4.p + 4);
      out->icmp_seq = load_be16(l4.p + 6);
      out->payload = l4.p + 8;
      out->payload_len = l4.len - 8;
      return DropReason::kNone;
    }
    case kProtoUdp: {
      if (l4.len < 8) return l4.cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_L4;
      const uint16_t udp_len = load_be16(l4.p + 4);
      if (udp_len < 8 || (!l4.cut && udp_len != l4.len)) return DropReason::kBAD_L4_LENGTH;
      const uint16_t csum = load_be16(l4.p + 6);
      if (verify && !(csum == 0 && out->src_ip.family == 4)) {
        if (checksum_fold(checksum_add(pseudo_header_sum(*out, proto, l4.len), l4.p, l4.len)) !=
            0) {
          return DropReason::kBAD_L4_CHECKSUM;
        }
      }
      out->kind = PacketKind::kUdp;
      out->src_port = load_be16(l4.p);
      out->dst_port = load_be16(l4.p + 2);
      out->payload = l4.p + 8;
      out->payload_len = (l4.cut ? l4.len : udp_len) - 8;
      return DropReason::kNone;
    }
    case kProtoTcp: {
      if (l4.len < 20) return l4.cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_L4;
      const uint32_t doff = static_cast<uint32_t>(l4.p[12] >> 4) * 4;
      if (doff < 20 || doff > l4.len) {
        return l4.cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_L4;
      }
      if (verify &&
          checksum_fold(checksum_add(pseudo_header_sum(*out, proto, l4.len), l4.p, l4.len)) != 0) {
        return DropReason::kBAD_L4_CHECKSUM;
      }
      out->kind = PacketKind::kTcp;
      out->src_port = load_be16(l4.p);
      out->dst_port = load_be16(l4.p + 2);
      out->tcp_seq = load_be32(l4.p + 4);
      out->tcp_ack = load_be32(l4.p + 8);
      out->tcp_flags = l4.p[13];
      out->tcp_window = load_be16(l4.p + 14);
      if (!parse_tcp_options(l4.p + 20, doff - 20, out)) return DropReason::kBAD_TCP_OPTIONS;
      out->payload = l4.p + doff;
      out->payload_len = l4.len - doff;
      // What the segment carried on the wire, also when the capture kept only its headers.
      out->tcp_len = l4.cut && l4.declared >= doff ? l4.declared - doff : out->payload_len;
      return DropReason::kNone;
    }
    default:
      out->kind = PacketKind::kOther;
      return DropReason::kNone;
  }
}

DropReason parse_ipv4(const ParseOptions& opt, View v, ParsedPacket* out) {
  if (v.len < 20) return v.cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_IP;
  if ((v.p[0] >> 4) != 4) return DropReason::kBAD_IP_VERSION;
  const uint32_t ihl = static_cast<uint32_t>(v.p[0] & 0xf) * 4;
  if (ihl < 20) return DropReason::kBAD_IP_HEADER_LENGTH;
  if (ihl > v.len) return v.cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_IP;
  const uint16_t total = load_be16(v.p + 2);
  if (total < ihl) return DropReason::kBAD_IP_TOTAL_LENGTH;
  if (total > v.len && !v.cut) return DropReason::kBAD_IP_TOTAL_LENGTH;
  if (opt.verify_checksums && checksum_fold(checksum_add(0, v.p, ihl)) != 0) {
    return DropReason::kBAD_IP_CHECKSUM;
  }
  const uint16_t frag = load_be16(v.p + 6);
  if ((frag & 0x3fff) != 0) return DropReason::kIP_FRAGMENT;
  out->dscp = static_cast<uint8_t>(v.p[1] >> 2);
  out->ip_id = load_be16(v.p + 4);
  out->src_ip.family = 4;
  out->dst_ip.family = 4;
  std::memcpy(out->src_ip.bytes.data(), v.p + 12, 4);
  std::memcpy(out->dst_ip.bytes.data(), v.p + 16, 4);
  // Ethernet padding may follow the datagram: the IP length bounds the L4 view.
  const bool cut = total > v.len;
  const uint32_t end = cut ? v.len : total;
  return parse_l4(opt, v.p[9], View{v.p + ihl, end - ihl, cut, total - ihl}, out);
}

DropReason parse_ipv6(const ParseOptions& opt, View v, ParsedPacket* out) {
  if (v.len < 40) return v.cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_IP;
  if ((v.p[0] >> 4) != 6) return DropReason::kBAD_IP_VERSION;
  const uint32_t plen = load_be16(v.p + 4);
  if (plen + 40 > v.len && !v.cut) return DropReason::kBAD_IP_TOTAL_LENGTH;
  out->dscp = static_cast<uint8_t>(((v.p[0] & 0xf) << 2) | (v.p[1] >> 6));
  out->src_ip.family = 6;
  out->dst_ip.family = 6;
  std::memcpy(out->src_ip.bytes.data(), v.p + 8, 16);
  std::memcpy(out->dst_ip.bytes.data(), v.p + 24, 16);
  const bool cut = plen + 40 > v.len;
  uint32_t end = cut ? v.len : plen + 40;
  uint8_t next = v.p[6];
  uint32_t off = 40;
  // Skip the extension headers a probe path may add; fragments are refused.
  while (next == 0 || next == 43 || next == 60 || next == 44) {
    if (next == 44) return DropReason::kIP_FRAGMENT;
    if (off + 8 > end) return cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_IP;
    const uint32_t hlen = (static_cast<uint32_t>(v.p[off + 1]) + 1) * 8;
    next = v.p[off];
    off += hlen;
    if (off > end) return cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_IP;
  }
  return parse_l4(opt, next, View{v.p + off, end - off, cut, plen + 40 - std::min(plen + 40, off)},
                  out);
}

DropReason parse_arp(View v, bool rarp, ParsedPacket* out) {
  if (v.len < 28) return v.cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_ARP;
  // Ethernet hardware, IPv4 protocol, 6- and 4-byte addresses: anything else is not
  // an announce we can use.
  if (load_be16(v.p) != 1 || load_be16(v.p + 2) != kEtherIpv4 || v.p[4] != 6 || v.p[5] != 4) {
    return DropReason::kTRUNCATED_ARP;
  }
  out->kind = rarp ? PacketKind::kRarp : PacketKind::kArp;
  out->arp_op = load_be16(v.p + 6);
  std::memcpy(out->arp_sender_mac.data(), v.p + 8, 6);
  out->arp_sender_ip = load_be32(v.p + 14);
  std::memcpy(out->arp_target_mac.data(), v.p + 18, 6);
  out->arp_target_ip = load_be32(v.p + 24);
  return DropReason::kNone;
}

DropReason parse_ethertype(const ParseOptions& opt, uint16_t type, View v, ParsedPacket* out) {
  switch (type) {
    case kEtherIpv4:
      return parse_ipv4(opt, v, out);
    case kEtherIpv6:
      return parse_ipv6(opt, v, out);
    case kEtherArp:
      return parse_arp(v, false, out);
    case kEtherRarp:
      return parse_arp(v, true, out);
    default:
      out->kind = PacketKind::kOther;
      return DropReason::kNone;
  }
}

DropReason parse_ethernet(const ParseOptions& opt, View v, ParsedPacket* out) {
  if (v.len < 14) return v.cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_ETHERNET;
  std::memcpy(out->dst_mac.data(), v.p, 6);
  std::memcpy(out->src_mac.data(), v.p + 6, 6);
  uint16_t type = load_be16(v.p + 12);
  uint32_t off = 14;
  // Outer tags of QinQ are skipped; the innermost VLAN id is the one reported.
  while (type == kEtherVlan || type == kEtherQinQ) {
    if (v.len < off + 4) return v.cut ? DropReason::kSNAPLEN_CUT : DropReason::kTRUNCATED_ETHERNET;
    out->has_vlan = true;
    out->vlan = load_be16(v.p + off) & 0x0fff;
    type = load_be16(v.p + off + 2);
    off += 4;
  }
  return parse_ethertype(opt, type, View{v.p + off, v.len - off, v.cut}, out);
}

}  // namespace

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress a;
  a.family = 4;
  store_be32(a.bytes.data(), host_order);
  return a;
}

IpAddress IpAddress::parse(const std::string& text) {
  IpAddress a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.family = 4;
  } else if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.family = 6;
  } else {
    a.bytes = {};
  }
  return a;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 4) {
    inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  } else if (family == 6) {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

std::string mac_to_string(const MacAddress& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return buf;
}

bool parse_mac(const std::string& text, MacAddress* out) {
  unsigned b[6];
  char tail = 0;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
                  &b[5], &tail) != 6) {
    return false;
  }
  for (int i = 0; i < 6; ++i) (*out)[i] = static_cast<uint8_t>(b[i]);
  return true;
}

uint32_t checksum_add(uint32_t sum, const uint8_t* p, size_t len) {
  // The ones-complement sum does not depend on byte order (RFC 1071 2.(B)): add 32-bit
  // halves of 8-byte loads in host order, fold to 16 bits and swap once at the end.
  uint64_t acc = 0;
  while (len >= 8) {
    uint64_t w = 0;
    std::memcpy(&w, p, 8);
    acc += (w & 0xffffffff) + (w >> 32);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    uint32_t w = 0;
    std::memcpy(&w, p, 4);
    acc += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w = 0;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    len -= 2;
  }
  if (len) {
    // The odd byte is the high half of a big-endian word: in host order, its first byte.
    uint16_t w = 0;
    std::memcpy(&w, p, 1);
    acc += w;
  }
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  uint16_t folded = static_cast<uint16_t>(acc);
  if constexpr (std::endian::native == std::endian::little) folded = __builtin_bswap16(folded);
  // Fold the starting sum in as well, keeping the result within 32 bits.
  uint64_t total = uint64_t{sum} + folded;
  total = (total & 0xffff) + (total >> 16);
  return static_cast<uint32_t>(total);
}

uint16_t checksum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

DropReason parse_frame(const ParseOptions& opt, const uint8_t* frame, uint32_t caplen,
                       uint32_t wirelen, ParsedPacket* out) {
  const View v{frame, caplen, caplen < wirelen};
  switch (opt.link) {
    case LinkType::kEthernet:
      return parse_ethernet(opt, v, out);
    case LinkType::kLinuxSll:
      if (v.len < 16) return DropReason::kTRUNCATED_ETHERNET;
      return parse_ethertype(opt, load_be16(v.p + 14), View{v.p + 16, v.len - 16, v.cut}, out);
    case LinkType::kLinuxSll2:
      if (v.len < 20) return DropReason::kTRUNCATED_ETHERNET;
      return parse_ethertype(opt, load_be16(v.p), View{v.p + 20, v.len - 20, v.cut}, out);
    case LinkType::kRawIp:
      if (v.len < 1) return DropReason::kTRUNCATED_IP;
      return (v.p[0] >> 4) == 6 ? parse_ipv6(opt, v, out) : parse_ipv4(opt, v, out);
  }
  return DropReason::kUNSUPPORTED_LINK;
}

}  // namespace migprobe::analysis
