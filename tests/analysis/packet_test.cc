// The frame parser: every protocol it decodes, VLAN and QinQ, IPv6 with extension headers,
// the other link types, and one case (at least) for every drop reason it can return.

#include "analysis/packet.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "analysis/byte_order.h"
#include "analysis/probe_trailer.h"
#include "pcaps/gen/frames.h"

namespace migprobe::analysis {
namespace {

using pcapgen::Endpoint;
using pcapgen::Frame;
using pcapgen::FrameOptions;

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

DropReason parse(const Frame& f, ParsedPacket* p, ParseOptions opt = {}) {
  return parse_frame(opt, f.data(), static_cast<uint32_t>(f.size()),
                     static_cast<uint32_t>(f.size()), p);
}

// A capture that kept caplen bytes of f.
DropReason parse_cut(const Frame& f, uint32_t caplen, ParsedPacket* p) {
  return parse_frame(ParseOptions{}, f.data(), caplen, static_cast<uint32_t>(f.size()), p);
}

ProbeTrailer probe_trailer(uint32_t seq) {
  ProbeTrailer t;
  t.generation = 1;
  t.flow_id = 1;
  t.seq = seq;
  t.tx_ns = 1767225600041100000ULL;
  return t;
}

Frame icmp_probe(bool reply = false, uint16_t vlan = 0) {
  FrameOptions opt;
  opt.vlan = vlan;
  opt.ip_id = 401;
  const Endpoint probe = pcapgen::probe_endpoint_v4();
  const Endpoint guest = pcapgen::target_endpoint_v4(11);
  return reply ? pcapgen::icmp_echo(guest, probe, opt, true, 1, 401,
                                    pcapgen::trailer_payload(probe_trailer(401)))
               : pcapgen::icmp_echo(probe, guest, opt, false, 1, 401,
                                    pcapgen::trailer_payload(probe_trailer(401)));
}

Frame udp_reply(uint32_t count = 77) {
  ProbeTrailer t = probe_trailer(401);
  t.reflected = true;
  t.has_reflector_count = true;
  t.reflector_count = count;
  FrameOptions opt;
  opt.ip_id = 0x4000;
  return pcapgen::udp_datagram(pcapgen::target_endpoint_v4(11), pcapgen::probe_endpoint_v4(), opt,
                               pcapgen::kReflectorPort, 40001, pcapgen::trailer_payload(t));
}

// A TCP segment with a 20-byte header (no options) and payload, IPv4, checksums right.
Frame tcp_segment(const std::vector<uint8_t>& payload, uint8_t flags) {
  const Endpoint src = pcapgen::probe_endpoint_v4();
  const Endpoint dst = pcapgen::target_endpoint_v4(11);
  Frame f = pcapgen::udp_datagram(src, dst, FrameOptions{}, 1, 2,
                                  std::vector<uint8_t>(12 + payload.size(), 0));
  f.resize(pcapgen::kL4Offset + 20 + payload.size());
  f[pcapgen::kEthHeaderLen + 9] = 6;
  uint8_t* tcp = f.data() + pcapgen::kL4Offset;
  store_be16(tcp, 40000);
  store_be16(tcp + 2, 7);
  store_be32(tcp + 4, 1000);
  store_be32(tcp + 8, 2000);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  store_be16(tcp + 14, 65535);
  store_be16(tcp + 16, 0);
  store_be16(tcp + 18, 0);
  std::copy(payload.begin(), payload.end(), tcp + 20);
  const uint32_t len = static_cast<uint32_t>(20 + payload.size());
  uint32_t sum = checksum_add(0, src.ip.bytes.data(), 4);
  sum = checksum_add(sum, dst.ip.bytes.data(), 4);
  sum += 6 + len;
  store_be16(tcp + 16, checksum_fold(checksum_add(sum, tcp, len)));
  pcapgen::fix_ipv4_checksum(&f);
  return f;
}

TEST(PacketTest, BuilderMatchesIndependentlyComputedBytes) {
  // Made with Python's struct module and an RFC 1071 sum, not with this code base.
  EXPECT_EQ(icmp_probe(),
            from_hex("52540077001102000077000208004500002e01914000400124980a4d00020a4d000b0800d935"
                     "000101916d70101000010000019118867251f06d22e0"));
  EXPECT_EQ(udp_reply(),
            from_hex("020000770002525400770011080045000032400040004011e6140a4d000b0a4d00021ba59c41"
                     "001e159e6d72101000010000019118867251f06d22e00000004d"));
}

TEST(PacketTest, IcmpEchoRequestWithTrailer) {
  ParsedPacket p;
  const Frame f = icmp_probe();
  ASSERT_EQ(f.size(), 60u);  // the 64-byte frame of DESIGN.md, less the FCS
  ASSERT_EQ(parse(f, &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kIcmpEchoRequest);
  EXPECT_FALSE(p.has_vlan);
  EXPECT_EQ(p.src_ip.to_string(), "10.77.0.2");
  EXPECT_EQ(p.dst_ip.to_string(), "10.77.0.11");
  EXPECT_EQ(mac_to_string(p.src_mac), "02:00:00:77:00:02");
  EXPECT_EQ(mac_to_string(p.dst_mac), "52:54:00:77:00:11");
  EXPECT_EQ(p.icmp_id, 1);
  EXPECT_EQ(p.icmp_seq, 401);
  ASSERT_EQ(p.payload_len, kTrailerSize);
  ProbeTrailer t;
  ASSERT_EQ(decode_trailer(p.payload, p.payload_len, &t), TrailerError::kNone);
  EXPECT_EQ(t.seq, 401u);
  EXPECT_EQ(t.flow_id, 1u);
  EXPECT_FALSE(t.reflected);
}

TEST(PacketTest, IcmpEchoReply) {
  ParsedPacket p;
  ASSERT_EQ(parse(icmp_probe(true), &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kIcmpEchoReply);
  EXPECT_EQ(p.src_ip.to_string(), "10.77.0.11");
  EXPECT_EQ(p.icmp_seq, 401);
}

TEST(PacketTest, IcmpOtherTypeIsOther) {
  Frame f = icmp_probe();
  f[pcapgen::kL4Offset] = 3;  // destination unreachable
  store_be16(f.data() + pcapgen::kL4Offset + 2, 0);
  store_be16(f.data() + pcapgen::kL4Offset + 2,
             checksum_fold(checksum_add(0, f.data() + pcapgen::kL4Offset, 26)));
  ParsedPacket p;
  ASSERT_EQ(parse(f, &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kOther);
}

TEST(PacketTest, UdpReflectorReplyCarriesCounter) {
  ParsedPacket p;
  const Frame f = udp_reply();
  ASSERT_EQ(parse(f, &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kUdp);
  EXPECT_EQ(p.src_port, pcapgen::kReflectorPort);
  EXPECT_EQ(p.dst_port, 40001);
  ProbeTrailer t;
  ASSERT_EQ(decode_trailer(p.payload, p.payload_len, &t), TrailerError::kNone);
  EXPECT_TRUE(t.reflected);
  EXPECT_TRUE(t.has_reflector_count);
  EXPECT_EQ(t.reflector_count, 77u);
}

TEST(PacketTest, UdpZeroChecksumMeansNoneOnIpv4) {
  Frame f = udp_reply();
  store_be16(f.data() + pcapgen::kL4Offset + 6, 0);
  ParsedPacket p;
  EXPECT_EQ(parse(f, &p), DropReason::kNone);
}

TEST(PacketTest, EthernetPaddingIsNotPayload) {
  // 4 bytes of UDP payload: the frame is padded from 46 to 60 bytes.
  const Frame f =
      pcapgen::udp_datagram(pcapgen::probe_endpoint_v4(), pcapgen::target_endpoint_v4(11),
                            FrameOptions{}, 1000, 2000, {1, 2, 3, 4});
  ASSERT_EQ(f.size(), 60u);
  ParsedPacket p;
  ASSERT_EQ(parse(f, &p), DropReason::kNone);
  EXPECT_EQ(p.payload_len, 4u);
}

TEST(PacketTest, Tcp) {
  ParsedPacket p;
  ASSERT_EQ(parse(tcp_segment({'h', 'i'}, 0x18), &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kTcp);
  EXPECT_EQ(p.src_port, 40000);
  EXPECT_EQ(p.dst_port, 7);
  EXPECT_EQ(p.tcp_seq, 1000u);
  EXPECT_EQ(p.tcp_ack, 2000u);
  EXPECT_EQ(p.tcp_flags, 0x18);
  ASSERT_EQ(p.payload_len, 2u);
  EXPECT_EQ(p.payload[0], 'h');
}

TEST(PacketTest, RarpAnnounce) {
  const Endpoint guest = pcapgen::target_endpoint_v4(12);
  ParsedPacket p;
  ASSERT_EQ(parse(pcapgen::rarp_announce(guest.mac), &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kRarp);
  EXPECT_EQ(p.arp_op, 3);
  EXPECT_EQ(p.arp_sender_mac, guest.mac);
  EXPECT_EQ(p.arp_target_mac, guest.mac);
  EXPECT_EQ(mac_to_string(p.dst_mac), "ff:ff:ff:ff:ff:ff");
}

TEST(PacketTest, GratuitousArp) {
  const Endpoint guest = pcapgen::target_endpoint_v4(12);
  ParsedPacket p;
  ASSERT_EQ(parse(pcapgen::gratuitous_arp(guest.mac, 0x0a4d000c), &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kArp);
  EXPECT_EQ(p.arp_op, 1);
  EXPECT_EQ(p.arp_sender_ip, 0x0a4d000cu);
  EXPECT_EQ(p.arp_target_ip, 0x0a4d000cu);
  EXPECT_EQ(p.arp_sender_mac, guest.mac);
}

TEST(PacketTest, Vlan) {
  ParsedPacket p;
  ASSERT_EQ(parse(icmp_probe(true, 77), &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kIcmpEchoReply);
  EXPECT_TRUE(p.has_vlan);
  EXPECT_EQ(p.vlan, 77);
  ParsedPacket r;
  ASSERT_EQ(parse(pcapgen::rarp_announce(pcapgen::target_endpoint_v4(11).mac, 77), &r),
            DropReason::kNone);
  EXPECT_EQ(r.kind, PacketKind::kRarp);
  EXPECT_EQ(r.vlan, 77);
}

TEST(PacketTest, QinQReportsInnerVlan) {
  Frame f = icmp_probe(false, 77);
  // Put an 802.1ad outer tag (VLAN 300, PCP 5) in front of the 802.1Q one.
  const uint8_t outer[4] = {0x88, 0xa8, 0xa1, 0x2c};
  f.insert(f.begin() + 12, outer, outer + 4);
  ParsedPacket p;
  ASSERT_EQ(parse(f, &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kIcmpEchoRequest);
  EXPECT_EQ(p.vlan, 77);
}

TEST(PacketTest, Icmpv6EchoOnVlan) {
  FrameOptions opt;
  opt.vlan = 77;
  const Frame f = pcapgen::icmp_echo(pcapgen::target_endpoint_v6(11), pcapgen::probe_endpoint_v6(),
                                     opt, true, 1, 9, pcapgen::trailer_payload(probe_trailer(9)));
  ParsedPacket p;
  ASSERT_EQ(parse(f, &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kIcmpEchoReply);
  EXPECT_EQ(p.vlan, 77);
  EXPECT_EQ(p.src_ip.family, 6);
  EXPECT_EQ(p.src_ip.to_string(), "fd77::11");
  EXPECT_EQ(p.icmp_seq, 9);
  ProbeTrailer t;
  EXPECT_EQ(decode_trailer(p.payload, p.payload_len, &t), TrailerError::kNone);
}

// Inserts an IPv6 extension header of type ext_type right after the fixed header of an
// untagged IPv6 frame, keeping the checksum valid (the pseudo header does not change).
Frame with_ipv6_extension(Frame f, uint8_t ext_type, std::vector<uint8_t> ext) {
  uint8_t* ip = f.data() + pcapgen::kEthHeaderLen;
  ext[0] = ip[6];  // next header
  ip[6] = ext_type;
  store_be16(ip + 4, static_cast<uint16_t>(load_be16(ip + 4) + ext.size()));
  f.insert(f.begin() + static_cast<long>(pcapgen::kEthHeaderLen + 40), ext.begin(), ext.end());
  return f;
}

Frame udp_v6() {
  return pcapgen::udp_datagram(pcapgen::probe_endpoint_v6(), pcapgen::target_endpoint_v6(11),
                               FrameOptions{}, 40001, pcapgen::kReflectorPort,
                               pcapgen::trailer_payload(probe_trailer(5)));
}

TEST(PacketTest, Ipv6UdpThroughHopByHopHeader) {
  ParsedPacket p;
  ASSERT_EQ(parse(udp_v6(), &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kUdp);
  // Hop-by-hop options: 8 bytes, PadN.
  const Frame f = with_ipv6_extension(udp_v6(), 0, {0, 0, 1, 4, 0, 0, 0, 0});
  ParsedPacket q;
  ASSERT_EQ(parse(f, &q), DropReason::kNone);
  EXPECT_EQ(q.kind, PacketKind::kUdp);
  EXPECT_EQ(q.dst_port, pcapgen::kReflectorPort);
  EXPECT_EQ(q.payload_len, kTrailerSize);
}

TEST(PacketTest, ChecksumsIgnoredWhenNotVerified) {
  Frame f = udp_reply();
  f[pcapgen::kEthHeaderLen + 10] ^= 0xff;
  f[pcapgen::kL4Offset + 6] ^= 0xff;
  ParsedPacket p;
  ParseOptions opt;
  opt.verify_checksums = false;
  EXPECT_EQ(parse(f, &p, opt), DropReason::kNone);
  EXPECT_EQ(parse(f, &p), DropReason::kBAD_IP_CHECKSUM);
}

TEST(PacketTest, SnaplenCutAfterTheHeadersStillParses) {
  // A 96-byte UDP probe captured with snaplen 64: the headers and the trailer are there.
  std::vector<uint8_t> payload = pcapgen::trailer_payload(probe_trailer(3));
  payload.resize(54, 0);
  const Frame f =
      pcapgen::udp_datagram(pcapgen::probe_endpoint_v4(), pcapgen::target_endpoint_v4(11),
                            FrameOptions{}, 40001, pcapgen::kReflectorPort, payload);
  ParsedPacket p;
  ASSERT_EQ(parse_cut(f, 64, &p), DropReason::kNone);
  EXPECT_EQ(p.payload_len, 64u - pcapgen::kL4Offset - 8);
  ProbeTrailer t;
  EXPECT_EQ(decode_trailer(p.payload, p.payload_len, &t), TrailerError::kNone);
  EXPECT_EQ(t.seq, 3u);
}

TEST(PacketTest, OtherLinkTypes) {
  const Frame eth = icmp_probe();
  // Raw IP: the frame without its Ethernet header.
  const Frame raw(eth.begin() + 14, eth.end());
  ParsedPacket p;
  ParseOptions opt;
  opt.link = LinkType::kRawIp;
  ASSERT_EQ(parse(raw, &p, opt), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kIcmpEchoRequest);
  // Linux cooked v1: 16 bytes, protocol at 14.
  Frame sll = {0, 4, 0, 1, 0, 6, 2, 0, 0, 0x77, 0, 2, 0, 0, 0x08, 0x00};
  sll.insert(sll.end(), raw.begin(), raw.end());
  opt.link = LinkType::kLinuxSll;
  ParsedPacket q;
  ASSERT_EQ(parse(sll, &q, opt), DropReason::kNone);
  EXPECT_EQ(q.kind, PacketKind::kIcmpEchoRequest);
  // Linux cooked v2: 20 bytes, protocol first.
  Frame sll2 = {0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0x77, 0, 2, 0, 0};
  sll2.insert(sll2.end(), raw.begin(), raw.end());
  opt.link = LinkType::kLinuxSll2;
  ParsedPacket r;
  ASSERT_EQ(parse(sll2, &r, opt), DropReason::kNone);
  EXPECT_EQ(r.icmp_seq, 401);
}

// One malformed frame and the reason the parser must give for it.
struct MalformedCase {
  std::string name;
  std::function<Frame()> make;
  DropReason want;
  // Bytes the capture kept (0: all of them).
  uint32_t caplen = 0;
};

void set_ipv4(Frame* f, size_t offset, uint16_t value) {
  store_be16(f->data() + pcapgen::kEthHeaderLen + offset, value);
  pcapgen::fix_ipv4_checksum(f);
}

std::vector<MalformedCase> malformed_cases() {
  using R = DropReason;
  const size_t ip = pcapgen::kEthHeaderLen;
  const size_t l4 = pcapgen::kL4Offset;
  return {
      {"EthernetRunt",
       [] {
         Frame f = icmp_probe();
         f.resize(13);
         return f;
       },
       R::kTRUNCATED_ETHERNET},
      {"VlanTagCut",
       [] {
         Frame f = icmp_probe(false, 77);
         f.resize(16);
         return f;
       },
       R::kTRUNCATED_ETHERNET},
      {"SnaplenInsideIpHeader", [] { return icmp_probe(); }, R::kSNAPLEN_CUT, 30},
      {"SnaplenInsideUdpHeader", [] { return udp_reply(); }, R::kSNAPLEN_CUT, 38},
      {"SnaplenInsideTcpHeader", [] { return tcp_segment({}, 2); }, R::kSNAPLEN_CUT, 50},
      {"IpHeaderCut",
       [&] {
         Frame f = icmp_probe();
         f.resize(ip + 19);
         return f;
       },
       R::kTRUNCATED_IP},
      {"Ipv6HeaderCut",
       [&] {
         Frame f = udp_v6();
         f.resize(ip + 39);
         return f;
       },
       R::kTRUNCATED_IP},
      {"IpVersion6UnderIpv4Ethertype",
       [&] {
         Frame f = icmp_probe();
         f[ip] = 0x65;
         return f;
       },
       R::kBAD_IP_VERSION},
      {"IpVersion4UnderIpv6Ethertype",
       [&] {
         Frame f = udp_v6();
         f[ip] = 0x45;
         return f;
       },
       R::kBAD_IP_VERSION},
      {"IhlBelowFive",
       [&] {
         Frame f = icmp_probe();
         f[ip] = 0x44;
         pcapgen::fix_ipv4_checksum(&f);
         return f;
       },
       R::kBAD_IP_HEADER_LENGTH},
      {"IpTotalLengthBeyondFrame",
       [] {
         Frame f = icmp_probe();
         set_ipv4(&f, 2, 1500);
         return f;
       },
       R::kBAD_IP_TOTAL_LENGTH},
      {"IpTotalLengthBelowHeader",
       [] {
         Frame f = icmp_probe();
         set_ipv4(&f, 2, 12);
         return f;
       },
       R::kBAD_IP_TOTAL_LENGTH},
      {"Ipv6PayloadLengthBeyondFrame",
       [&] {
         Frame f = udp_v6();
         store_be16(f.data() + ip + 4, 400);
         return f;
       },
       R::kBAD_IP_TOTAL_LENGTH},
      {"IpChecksum",
       [&] {
         Frame f = icmp_probe(true);
         f[ip + 10] ^= 0x01;
         return f;
       },
       R::kBAD_IP_CHECKSUM},
      {"MoreFragments",
       [] {
         Frame f = icmp_probe(true);
         set_ipv4(&f, 6, 0x2000);
         return f;
       },
       R::kIP_FRAGMENT},
      {"FragmentOffset",
       [] {
         Frame f = icmp_probe(true);
         set_ipv4(&f, 6, 0x0003);
         return f;
       },
       R::kIP_FRAGMENT},
      {"Ipv6FragmentHeader",
       [] {
         return with_ipv6_extension(udp_v6(), 44, {0, 0, 0, 1, 0, 0, 0, 7});
       },
       R::kIP_FRAGMENT},
      {"UdpHeaderCut",
       [] {
         Frame f = udp_reply();
         set_ipv4(&f, 2, pcapgen::kIpv4HeaderLen + 4);
         return f;
       },
       R::kTRUNCATED_L4},
      {"IcmpHeaderCut",
       [] {
         Frame f = icmp_probe();
         set_ipv4(&f, 2, pcapgen::kIpv4HeaderLen + 6);
         return f;
       },
       R::kTRUNCATED_L4},
      {"TcpHeaderCut",
       [] {
         Frame f = tcp_segment({}, 2);
         set_ipv4(&f, 2, pcapgen::kIpv4HeaderLen + 16);
         return f;
       },
       R::kTRUNCATED_L4},
      {"UdpLengthDisagrees",
       [&] {
         Frame f = udp_reply();
         store_be16(f.data() + l4 + 4, 100);
         return f;
       },
       R::kBAD_L4_LENGTH},
      {"UdpLengthBelowHeader",
       [&] {
         Frame f = udp_reply();
         store_be16(f.data() + l4 + 4, 7);
         return f;
       },
       R::kBAD_L4_LENGTH},
      {"UdpChecksum",
       [&] {
         Frame f = udp_reply();
         f[l4 + 6] ^= 0x80;
         return f;
       },
       R::kBAD_L4_CHECKSUM},
      {"UdpPayloadFlipped",
       [&] {
         Frame f = udp_reply();
         f[l4 + 12] ^= 0x01;  // the trailer's sequence, as a bad link would
         return f;
       },
       R::kBAD_L4_CHECKSUM},
      {"IcmpChecksum",
       [&] {
         Frame f = icmp_probe(true);
         f[l4 + 2] ^= 0x80;
         return f;
       },
       R::kBAD_L4_CHECKSUM},
      {"Icmpv6Checksum",
       [&] {
         Frame f = pcapgen::icmp_echo(pcapgen::probe_endpoint_v6(), pcapgen::target_endpoint_v6(11),
                                      FrameOptions{}, false, 1, 9,
                                      pcapgen::trailer_payload(probe_trailer(9)));
         f[ip + 40 + 2] ^= 0x01;
         return f;
       },
       R::kBAD_L4_CHECKSUM},
      {"Udpv6ZeroChecksum",
       [&] {
         Frame f = udp_v6();
         store_be16(f.data() + ip + 40 + 6, 0);  // mandatory on IPv6
         return f;
       },
       R::kBAD_L4_CHECKSUM},
      {"TcpChecksum",
       [&] {
         Frame f = tcp_segment({'x'}, 0x18);
         f[l4 + 20] = 'y';
         return f;
       },
       R::kBAD_L4_CHECKSUM},
      {"ArpCut",
       [&] {
         Frame f = pcapgen::gratuitous_arp(pcapgen::target_endpoint_v4(11).mac, 0x0a4d000b);
         f.resize(ip + 27);
         return f;
       },
       R::kTRUNCATED_ARP},
      {"RarpNotEthernetHardware",
       [&] {
         Frame f = pcapgen::rarp_announce(pcapgen::target_endpoint_v4(11).mac);
         store_be16(f.data() + ip, 6);  // IEEE 802 hardware type
         return f;
       },
       R::kTRUNCATED_ARP},
  };
}

class MalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedTest, GivesItsReason) {
  const MalformedCase& c = GetParam();
  const Frame f = c.make();
  ParsedPacket p;
  const uint32_t caplen = c.caplen ? c.caplen : static_cast<uint32_t>(f.size());
  const DropReason got =
      parse_frame(ParseOptions{}, f.data(), caplen, static_cast<uint32_t>(f.size()), &p);
  EXPECT_EQ(drop_reason_name(got), drop_reason_name(c.want));
}

INSTANTIATE_TEST_SUITE_P(EveryReason, MalformedTest, ::testing::ValuesIn(malformed_cases()),
                         [](const auto& p) { return p.param.name; });

TEST(PacketTest, EveryReasonTheParserCanGiveIsCovered) {
  // Reasons the parser never returns: the analyzer gives them after decoding the trailer
  // (trailer, generation, flow id, timestamp) or per capture (link type).
  const std::vector<DropReason> not_parser = {
      DropReason::kTRUNCATED_TRAILER, DropReason::kBAD_TRAILER_VERSION,
      DropReason::kSTALE_GENERATION,  DropReason::kBAD_FLOW_ID,
      DropReason::kTIMESTAMP_AHEAD,   DropReason::kUNSUPPORTED_LINK};
  std::vector<bool> covered(kDropReasonCount, false);
  for (const MalformedCase& c : malformed_cases()) covered[static_cast<size_t>(c.want)] = true;
  for (DropReason r : not_parser) covered[static_cast<size_t>(r)] = true;
  for (size_t i = 1; i < kDropReasonCount; ++i) {
    EXPECT_TRUE(covered[i]) << drop_reason_name(static_cast<DropReason>(i));
  }
}

TEST(PacketTest, AddressesParseAndPrint) {
  EXPECT_EQ(IpAddress::parse("10.77.0.2"), IpAddress::v4(0x0a4d0002));
  EXPECT_EQ(IpAddress::parse("fd77::11").to_string(), "fd77::11");
  EXPECT_EQ(IpAddress::parse("not an address").family, 0);
  MacAddress mac{};
  ASSERT_TRUE(parse_mac("52:54:00:77:00:11", &mac));
  EXPECT_EQ(mac_to_string(mac), "52:54:00:77:00:11");
  EXPECT_FALSE(parse_mac("52:54:00:77:00", &mac));
  EXPECT_FALSE(parse_mac("52:54:00:77:00:11:22", &mac));
}

}  // namespace
}  // namespace migprobe::analysis
