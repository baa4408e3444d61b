// The frame parser on malformed frames: one case (at least) for every drop reason it can
// return, and a check that no reason is left without one.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "analysis/byte_order.h"
#include "analysis/drop_reason.h"
#include "analysis/packet.h"
#include "tests/analysis/test_frames.h"

namespace migprobe::analysis {
namespace {

using pcapgen::Frame;
using pcapgen::FrameOptions;
using test_frames::icmp_probe;
using test_frames::probe_trailer;
using test_frames::tcp_segment;
using test_frames::udp_reply;
using test_frames::udp_v6;
using test_frames::with_ipv6_extension;

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
      {"TcpMssOptionLength",
       [] {
         return tcp_segment({}, 0x02, {2, 3, 5, 0});
       },
       R::kBAD_TCP_OPTIONS},
      {"TcpTimestampsPastTheHeader",
       [] {
         return tcp_segment({}, 0x10, {1, 1, 8, 10});
       },
       R::kBAD_TCP_OPTIONS},
      {"TcpOptionLengthZero",
       [] {
         return tcp_segment({}, 0x10, {30, 0, 0, 0});
       },
       R::kBAD_TCP_OPTIONS},
      {"TcpOptionKindLastByte",
       [] {
         return tcp_segment({}, 0x10, {1, 1, 1, 30});
       },
       R::kBAD_TCP_OPTIONS},
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
  // Reasons the parser never returns: the classifier and the flow check give them after
  // the parse (classify_test.cc), the dataplane's flow table (flow id, configured flows,
  // its own address), its TCP flows (tcp_endpoint_test.cc, cores_test.cc), or a capture
  // reader (link type).
  const std::vector<DropReason> not_parser = {
      DropReason::kTRUNCATED_TRAILER, DropReason::kBAD_TRAILER_VERSION,
      DropReason::kSTALE_GENERATION,  DropReason::kBAD_FLOW_ID,
      DropReason::kTIMESTAMP_AHEAD,   DropReason::kUNSUPPORTED_LINK,
      DropReason::kNOT_PROBE,         DropReason::kOTHER_PROTOCOL,
      DropReason::kUNKNOWN_FLOW,      DropReason::kNOT_A_REPLY,
      DropReason::kWRONG_PEER,        DropReason::kWRONG_KIND,
      DropReason::kNOT_FOR_US,        DropReason::kTCP_NO_CONNECTION,
      DropReason::kTCP_WRONG_PEER,    DropReason::kTCP_OUT_OF_WINDOW};
  std::vector<bool> covered(kDropReasonCount, false);
  for (const MalformedCase& c : malformed_cases()) covered[static_cast<size_t>(c.want)] = true;
  for (DropReason r : not_parser) covered[static_cast<size_t>(r)] = true;
  for (size_t i = 1; i < kDropReasonCount; ++i) {
    EXPECT_TRUE(covered[i]) << drop_reason_name(static_cast<DropReason>(i));
  }
}

}  // namespace
}  // namespace migprobe::analysis
