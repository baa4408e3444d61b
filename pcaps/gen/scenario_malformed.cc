// The malformed scenario: valid ICMP and UDP probes without loss, and among them one
// frame for each drop reason a parser can see in a single frame. Frames that look like
// replies copy a real reply's flow and sequence, so an analyzer that trusted one would
// count a duplicate or worse, and the golden report would show it.

#include <algorithm>

#include "analysis/byte_order.h"
#include "pcaps/gen/scenario.h"

namespace migprobe::pcapgen {
namespace {

using analysis::ProbeTrailer;
using analysis::store_be16;

// snaplen of this capture: every valid frame (60 or 64 bytes) fits; longer ones are cut.
constexpr uint32_t kSnaplen = 64;

// A TCP SYN with 20 bytes of options (74 bytes): the capture keeps 64, which ends inside
// the TCP options.
Frame tcp_syn_with_options(const Endpoint& src, const Endpoint& dst) {
  Frame f = udp_datagram(src, dst, FrameOptions{}, 40100, 22, std::vector<uint8_t>(32, 0));
  uint8_t* ip = f.data() + kEthHeaderLen;
  ip[9] = 6;
  uint8_t* tcp = f.data() + kL4Offset;
  std::fill(tcp, tcp + 40, 0);
  store_be16(tcp, 40100);
  store_be16(tcp + 2, 22);
  analysis::store_be32(tcp + 4, 0x12345678);
  tcp[12] = 10 << 4;  // 40-byte header
  tcp[13] = 0x02;     // SYN
  store_be16(tcp + 14, 64240);
  // MSS, SACK permitted, timestamps, NOP, window scale: what Linux sends.
  const uint8_t options[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
  std::copy(options, options + 20, tcp + 20);
  uint32_t sum = analysis::checksum_add(0, src.ip.bytes.data(), 4);
  sum = analysis::checksum_add(sum, dst.ip.bytes.data(), 4);
  sum += 6 + 40;
  store_be16(tcp + 16, analysis::checksum_fold(analysis::checksum_add(sum, tcp, 40)));
  fix_ipv4_checksum(&f);
  return f;
}

ProbeTrailer trailer(uint32_t flow_id, uint32_t seq, uint64_t tx_ns) {
  ProbeTrailer t;
  t.generation = 1;
  t.flow_id = flow_id;
  t.seq = seq;
  t.tx_ns = tx_ns;
  return t;
}

}  // namespace

std::string write_malformed(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "malformed",
                      "An ICMP and a UDP reflector flow every 1 ms without loss, run "
                      "generation 1, and 17 frames that must be dropped: one per drop reason "
                      "a single frame can show (two bad L4 checksums: ICMP and UDP). The "
                      "capture's snaplen is 64.");
  if (auto err = files.open(analysis::CaptureFormat::kPcapng, ".pcapng", kSnaplen); !err.empty()) {
    return err;
  }
  FlowSpec icmp;
  icmp.flow_id = 1;
  icmp.probe = probe_endpoint_v4();
  icmp.target = target_endpoint_v4(11);
  icmp.interval_ns = kMs;
  icmp.first_tx_ns = kBaseNs + kMs;
  icmp.count = 300;
  FlowSpec udp = icmp;
  udp.flow_id = 2;
  udp.kind = ProbeKind::kUdpReflect;
  udp.first_tx_ns += 500 * kUs;

  const Endpoint probe = icmp.probe;
  const Endpoint guest = icmp.target;
  // The k-th bad frame copies probe 20 + 15k of its flow, 300 us after that probe was sent
  // (after its real reply).
  int k = 0;
  auto slot = [&](const FlowSpec& f, uint32_t* seq, uint64_t* tx) {
    *seq = 20 + 15 * static_cast<uint32_t>(k++);
    *tx = f.first_tx_ns + *seq * f.interval_ns;
    return *tx + 300 * kUs;
  };
  auto icmp_reply = [&](const ProbeTrailer& t) {
    return icmp_echo(guest, probe, FrameOptions{}, true, static_cast<uint16_t>(t.flow_id),
                     static_cast<uint16_t>(t.seq), trailer_payload(t));
  };
  auto udp_reply = [&](ProbeTrailer t, uint32_t count) {
    t.reflected = true;
    t.has_reflector_count = true;
    t.reflector_count = count;
    return udp_datagram(guest, probe, FrameOptions{}, kReflectorPort, 40002, trailer_payload(t));
  };
  uint32_t seq = 0;
  uint64_t tx = 0;
  uint64_t at = 0;

  at = slot(icmp, &seq, &tx);
  Frame f = icmp_reply(trailer(1, seq, tx));
  f.resize(10);
  files.malformed(at, f, "TRUNCATED_ETHERNET");

  at = slot(icmp, &seq, &tx);
  files.malformed(at, tcp_syn_with_options(probe, guest), "SNAPLEN_CUT");

  at = slot(icmp, &seq, &tx);
  f = icmp_reply(trailer(1, seq, tx));
  f.resize(kEthHeaderLen + 12);  // a runt: no padding, the IP header stops after 12 bytes
  files.malformed(at, f, "TRUNCATED_IP");

  at = slot(icmp, &seq, &tx);
  f = icmp_reply(trailer(1, seq, tx));
  f[kEthHeaderLen] = 0x65;  // version 6 under the IPv4 ethertype
  files.malformed(at, f, "BAD_IP_VERSION");

  at = slot(icmp, &seq, &tx);
  f = icmp_reply(trailer(1, seq, tx));
  f[kEthHeaderLen] = 0x44;  // IHL 4: 16 bytes
  fix_ipv4_checksum(&f);
  files.malformed(at, f, "BAD_IP_HEADER_LENGTH");

  at = slot(icmp, &seq, &tx);
  f = icmp_reply(trailer(1, seq, tx));
  store_be16(f.data() + kEthHeaderLen + 2, 1500);
  fix_ipv4_checksum(&f);
  files.malformed(at, f, "BAD_IP_TOTAL_LENGTH");

  at = slot(icmp, &seq, &tx);
  f = icmp_reply(trailer(1, seq, tx));
  f[kEthHeaderLen + 10] ^= 0x01;
  files.malformed(at, f, "BAD_IP_CHECKSUM");

  at = slot(icmp, &seq, &tx);
  f = icmp_reply(trailer(1, seq, tx));
  f[kEthHeaderLen + 6] |= 0x20;  // more fragments
  fix_ipv4_checksum(&f);
  files.malformed(at, f, "IP_FRAGMENT");

  at = slot(udp, &seq, &tx);
  f = udp_reply(trailer(2, seq, tx), seq + 1);
  store_be16(f.data() + kEthHeaderLen + 2, kIpv4HeaderLen + 4);  // 4 bytes of UDP header
  fix_ipv4_checksum(&f);
  files.malformed(at, f, "TRUNCATED_L4");

  at = slot(udp, &seq, &tx);
  f = udp_reply(trailer(2, seq, tx), seq + 1);
  store_be16(f.data() + kL4Offset + 4, 100);
  files.malformed(at, f, "BAD_L4_LENGTH");

  at = slot(udp, &seq, &tx);
  f = udp_reply(trailer(2, seq, tx), seq + 1);
  f[kL4Offset + 6] ^= 0x80;
  files.malformed(at, f, "BAD_L4_CHECKSUM");

  at = slot(icmp, &seq, &tx);
  f = icmp_reply(trailer(1, seq, tx));
  f[kL4Offset + 2] ^= 0x80;
  files.malformed(at, f, "BAD_L4_CHECKSUM");

  at = slot(icmp, &seq, &tx);
  f = gratuitous_arp(guest.mac, 0x0a4d000b);
  f.resize(kEthHeaderLen + 20);  // a runt ARP
  files.malformed(at, f, "TRUNCATED_ARP");

  at = slot(udp, &seq, &tx);
  {
    // The probe magic, then 8 bytes of a trailer that needs 18.
    std::vector<uint8_t> payload = trailer_payload(trailer(2, seq, tx));
    payload.resize(10);
    files.malformed(at, udp_datagram(guest, probe, FrameOptions{}, kReflectorPort, 40002, payload),
                    "TRUNCATED_TRAILER");
  }

  at = slot(udp, &seq, &tx);
  {
    ProbeTrailer t = trailer(2, seq, tx);
    t.version = 2;
    files.malformed(at, udp_reply(t, seq + 1), "BAD_TRAILER_VERSION");
  }

  at = slot(icmp, &seq, &tx);
  {
    ProbeTrailer t = trailer(1, seq, tx);
    t.generation = 7;  // an earlier run's probe, still in flight
    files.malformed(at, icmp_reply(t), "STALE_GENERATION");
  }

  at = slot(icmp, &seq, &tx);
  // Sent 5 s after it was captured: a clock or a forged trailer, never a real probe.
  files.malformed(at, icmp_reply(trailer(1, seq, at + 5'000 * kMs)), "TIMESTAMP_AHEAD");

  files.truth().notes.push_back(
      "Not made: BAD_FLOW_ID (needs the flow table of a journal) and UNSUPPORTED_LINK (a "
      "property of the whole capture).");
  files.truth().notes.push_back(
      "Frames that look like replies copy the flow and sequence of a real reply 300 us "
      "after that probe was sent.");
  std::vector<ProbeFlow> flows;
  flows.emplace_back(icmp, 9);
  flows.emplace_back(udp, 10);
  return files.finish(&flows);
}

}  // namespace migprobe::pcapgen
