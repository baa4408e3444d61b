// The frame parser: every protocol it decodes, VLAN and QinQ, IPv6 with extension headers,
// and the other link types. Malformed frames: packet_malformed_test.cc.

#include "analysis/packet.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "analysis/byte_order.h"
#include "analysis/probe_trailer.h"
#include "tests/analysis/test_frames.h"

namespace migprobe::analysis {
namespace {

using pcapgen::Endpoint;
using pcapgen::Frame;
using pcapgen::FrameOptions;
using test_frames::from_hex;
using test_frames::icmp_probe;
using test_frames::parse;
using test_frames::parse_cut;
using test_frames::probe_trailer;
using test_frames::tcp_segment;
using test_frames::udp_reply;
using test_frames::udp_v6;
using test_frames::with_ipv6_extension;

// RFC 1071 word by word, big-endian, for comparison with the parser's wide-word sum.
uint16_t reference_checksum(uint32_t start, const std::vector<uint8_t>& b, size_t off) {
  uint64_t sum = start;
  for (size_t i = off; i < b.size(); i += 2) {
    sum += (uint32_t{b[i]} << 8) | (i + 1 < b.size() ? b[i + 1] : 0);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

TEST(PacketTest, ChecksumMatchesWordByWordSumAtEveryLengthAndOffset) {
  std::mt19937 rng(7);
  for (int c = 0; c < 3000; ++c) {
    std::vector<uint8_t> b(static_cast<size_t>(rng() % 200));
    // All-ones bytes now and then: the carries of the folds.
    for (auto& x : b) x = static_cast<uint8_t>(c % 5 == 0 ? 0xff : rng());
    const size_t off = b.empty() ? 0 : rng() % (b.size() + 1);
    const uint32_t start = c % 3 == 0 ? 0 : c % 3 == 1 ? 0xffffffffU : static_cast<uint32_t>(rng());
    ASSERT_EQ(checksum_fold(checksum_add(start, b.data() + off, b.size() - off)),
              reference_checksum(start, b, off))
        << "length " << b.size() - off << " offset " << off << " start " << start;
  }
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
  const Frame f = tcp_segment({'h', 'i'}, 0x18);  // p.payload points into it
  ASSERT_EQ(parse(f, &p), DropReason::kNone);
  EXPECT_EQ(p.kind, PacketKind::kTcp);
  EXPECT_EQ(p.src_port, 40000);
  EXPECT_EQ(p.dst_port, 7);
  EXPECT_EQ(p.tcp_seq, 1000u);
  EXPECT_EQ(p.tcp_ack, 2000u);
  EXPECT_EQ(p.tcp_flags, 0x18);
  ASSERT_EQ(p.payload_len, 2u);
  EXPECT_EQ(p.payload[0], 'h');
}

TEST(PacketTest, TcpOptions) {
  ParsedPacket p;
  // MSS 1460, SACK permitted, timestamps 7 and 9, a no-op, window scale 7 (as Linux's SYN).
  const Frame syn =
      tcp_segment({}, 0x02, {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 1, 3, 3, 7});
  ASSERT_EQ(parse(syn, &p), DropReason::kNone);
  EXPECT_EQ(p.tcp_window, 65535);
  EXPECT_EQ(p.tcp_mss, 1460);
  EXPECT_TRUE(p.tcp_sack_ok);
  EXPECT_TRUE(p.tcp_has_ts);
  EXPECT_EQ(p.tcp_ts_val, 7u);
  EXPECT_EQ(p.tcp_ts_ecr, 9u);
  EXPECT_EQ(p.tcp_wscale, 7);
  EXPECT_EQ(p.payload_len, 0u);
  // Unknown options are skipped by their length; the list may end early (kind 0).
  const Frame other = tcp_segment({'x'}, 0x10, {30, 4, 0xaa, 0xbb, 0, 0, 0, 0});
  ASSERT_EQ(parse(other, &p), DropReason::kNone);
  EXPECT_EQ(p.tcp_mss, 0);
  EXPECT_EQ(p.tcp_wscale, -1);
  EXPECT_FALSE(p.tcp_has_ts);
  ASSERT_EQ(p.payload_len, 1u);
  // A window scale above 14 is taken as 14 (RFC 7323 2.3).
  ASSERT_EQ(parse(tcp_segment({}, 0x02, {3, 3, 20, 0}), &p), DropReason::kNone);
  EXPECT_EQ(p.tcp_wscale, 14);
}

TEST(PacketTest, TcpLengthOnTheWireWhenTheCaptureKeptOnlyHeaders) {
  ParsedPacket p;
  const Frame f = tcp_segment(std::vector<uint8_t>(1000, 0x61), 0x18);
  const uint32_t headers = static_cast<uint32_t>(pcapgen::kL4Offset + 20);
  ASSERT_EQ(
      parse_frame(ParseOptions{}, f.data(), headers + 10, static_cast<uint32_t>(f.size()), &p),
      DropReason::kNone);
  EXPECT_EQ(p.payload_len, 10u);  // what the capture kept
  EXPECT_EQ(p.tcp_len, 1000u);    // what the segment carried
  ASSERT_EQ(parse(f, &p), DropReason::kNone);
  EXPECT_EQ(p.tcp_len, 1000u);
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
