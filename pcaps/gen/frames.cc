#include "pcaps/gen/frames.h"

#include <algorithm>
#include <string>

#include "analysis/byte_order.h"

namespace migprobe::pcapgen {
namespace {

using analysis::checksum_add;
using analysis::checksum_fold;
using analysis::store_be16;
using analysis::store_be32;

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherArp = 0x0806;
constexpr uint16_t kEtherRarp = 0x8035;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpv6 = 58;
// Ethernet minimum without the FCS, which captures do not hold.
constexpr size_t kMinFrame = 60;
constexpr analysis::MacAddress kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

analysis::MacAddress mac_of(int last) {
  // The lab writes the guest number in decimal digits: 10.77.0.11 is 52:54:00:77:00:11.
  return {0x52, 0x54, 0x00, 0x77, 0x00, static_cast<uint8_t>((last / 10) * 16 + last % 10)};
}

// Ethernet (and 802.1Q) header; returns the offset of the L3 header.
size_t put_ethernet(Frame* f, const analysis::MacAddress& dst, const analysis::MacAddress& src,
                    uint16_t vlan, uint16_t ethertype) {
  f->insert(f->end(), dst.begin(), dst.end());
  f->insert(f->end(), src.begin(), src.end());
  uint8_t b[4];
  if (vlan != 0) {
    store_be16(b, kEtherVlan);
    store_be16(b + 2, vlan);
    f->insert(f->end(), b, b + 4);
  }
  store_be16(b, ethertype);
  f->insert(f->end(), b, b + 2);
  return f->size();
}

// IP header (v4 or v6 by src's family) for l4_len bytes of protocol proto; returns the
// offset of the L4 header.
size_t put_ip(Frame* f, const Endpoint& src, const Endpoint& dst, const FrameOptions& opt,
              uint8_t proto, size_t l4_len) {
  const size_t at = f->size();
  if (src.ip.family == 4) {
    f->resize(at + 20, 0);
    uint8_t* h = f->data() + at;
    h[0] = 0x45;
    store_be16(h + 2, static_cast<uint16_t>(20 + l4_len));
    store_be16(h + 4, opt.ip_id);
    store_be16(h + 6, opt.dont_fragment ? 0x4000 : 0);
    h[8] = opt.ttl;
    h[9] = proto;
    std::copy_n(src.ip.bytes.begin(), 4, h + 12);
    std::copy_n(dst.ip.bytes.begin(), 4, h + 16);
    store_be16(h + 10, checksum_fold(checksum_add(0, h, 20)));
  } else {
    f->resize(at + 40, 0);
    uint8_t* h = f->data() + at;
    h[0] = 0x60;
    store_be16(h + 4, static_cast<uint16_t>(l4_len));
    h[6] = proto;
    h[7] = opt.ttl;
    std::copy_n(src.ip.bytes.begin(), 16, h + 8);
    std::copy_n(dst.ip.bytes.begin(), 16, h + 24);
  }
  return f->size();
}

uint32_t pseudo_header_sum(const Endpoint& src, const Endpoint& dst, uint8_t proto, size_t len) {
  const size_t alen = src.ip.family == 4 ? 4 : 16;
  uint32_t sum = checksum_add(0, src.ip.bytes.data(), alen);
  sum = checksum_add(sum, dst.ip.bytes.data(), alen);
  return sum + proto + static_cast<uint32_t>(len);
}

void pad(Frame* f) {
  if (f->size() < kMinFrame) f->resize(kMinFrame, 0);
}

Frame arp_frame(uint16_t ethertype, uint16_t op, const analysis::MacAddress& sender_mac,
                uint32_t sender_ip, const analysis::MacAddress& target_mac, uint32_t target_ip,
                uint16_t vlan) {
  Frame f;
  const size_t at = put_ethernet(&f, kBroadcast, sender_mac, vlan, ethertype);
  f.resize(at + 28, 0);
  uint8_t* a = f.data() + at;
  store_be16(a, 1);
  store_be16(a + 2, kEtherIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, op);
  std::copy(sender_mac.begin(), sender_mac.end(), a + 8);
  store_be32(a + 14, sender_ip);
  std::copy(target_mac.begin(), target_mac.end(), a + 18);
  store_be32(a + 24, target_ip);
  pad(&f);
  return f;
}

}  // namespace

Endpoint probe_endpoint_v4() {
  return Endpoint{{0x02, 0x00, 0x00, 0x77, 0x00, 0x02}, analysis::IpAddress::parse("10.77.0.2")};
}

Endpoint target_endpoint_v4(int n) {
  return Endpoint{mac_of(n), analysis::IpAddress::parse("10.77.0." + std::to_string(n))};
}

Endpoint probe_endpoint_v6() {
  return Endpoint{{0x02, 0x00, 0x00, 0x77, 0x00, 0x02}, analysis::IpAddress::parse("fd77::2")};
}

Endpoint target_endpoint_v6(int n) {
  return Endpoint{mac_of(n), analysis::IpAddress::parse("fd77::" + std::to_string(n))};
}

Frame icmp_echo(const Endpoint& src, const Endpoint& dst, const FrameOptions& opt, bool reply,
                uint16_t id, uint16_t seq, const std::vector<uint8_t>& payload) {
  const bool v6 = src.ip.family == 6;
  Frame f;
  put_ethernet(&f, dst.mac, src.mac, opt.vlan, v6 ? kEtherIpv6 : kEtherIpv4);
  const size_t l4_len = 8 + payload.size();
  const uint8_t proto = v6 ? kProtoIcmpv6 : kProtoIcmp;
  const size_t at = put_ip(&f, src, dst, opt, proto, l4_len);
  f.resize(at + 8, 0);
  f[at] = v6 ? (reply ? 129 : 128) : (reply ? 0 : 8);
  store_be16(f.data() + at + 4, id);
  store_be16(f.data() + at + 6, seq);
  f.insert(f.end(), payload.begin(), payload.end());
  // ICMPv6 covers the pseudo header, ICMP does not.
  const uint32_t sum = v6 ? pseudo_header_sum(src, dst, proto, l4_len) : 0;
  store_be16(f.data() + at + 2, checksum_fold(checksum_add(sum, f.data() + at, l4_len)));
  pad(&f);
  return f;
}

Frame udp_datagram(const Endpoint& src, const Endpoint& dst, const FrameOptions& opt,
                   uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload) {
  Frame f;
  put_ethernet(&f, dst.mac, src.mac, opt.vlan, src.ip.family == 6 ? kEtherIpv6 : kEtherIpv4);
  const size_t l4_len = 8 + payload.size();
  const size_t at = put_ip(&f, src, dst, opt, kProtoUdp, l4_len);
  f.resize(at + 8, 0);
  store_be16(f.data() + at, sport);
  store_be16(f.data() + at + 2, dport);
  store_be16(f.data() + at + 4, static_cast<uint16_t>(l4_len));
  f.insert(f.end(), payload.begin(), payload.end());
  uint16_t csum = checksum_fold(
      checksum_add(pseudo_header_sum(src, dst, kProtoUdp, l4_len), f.data() + at, l4_len));
  // A computed zero is sent as all ones: zero means "no checksum" (RFC 768).
  if (csum == 0) csum = 0xffff;
  store_be16(f.data() + at + 6, csum);
  pad(&f);
  return f;
}

std::vector<uint8_t> trailer_payload(const analysis::ProbeTrailer& t) {
  std::vector<uint8_t> p(analysis::trailer_size(t));
  analysis::encode_trailer(t, p.data());
  return p;
}

Frame rarp_announce(const analysis::MacAddress& mac, uint16_t vlan) {
  return arp_frame(kEtherRarp, 3, mac, 0, mac, 0, vlan);
}

Frame gratuitous_arp(const analysis::MacAddress& mac, uint32_t ip, uint16_t vlan) {
  return arp_frame(kEtherArp, 1, mac, ip, analysis::MacAddress{}, ip, vlan);
}

void fix_ipv4_checksum(Frame* f) {
  uint8_t* h = f->data() + kEthHeaderLen;
  store_be16(h + 10, 0);
  store_be16(h + 10, checksum_fold(checksum_add(0, h, kIpv4HeaderLen)));
}

}  // namespace migprobe::pcapgen
