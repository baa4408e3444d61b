#pragma once
// Frames for the parser tests: probes and replies built with pcaps/gen, and the small
// surgery (TCP, IPv6 extension headers) the tests need on top.

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "analysis/byte_order.h"
#include "analysis/packet.h"
#include "analysis/probe_trailer.h"
#include "pcaps/gen/frames.h"

namespace migprobe::analysis::test_frames {

using pcapgen::Endpoint;
using pcapgen::Frame;
using pcapgen::FrameOptions;

inline std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

inline DropReason parse(const Frame& f, ParsedPacket* p, ParseOptions opt = {}) {
  return parse_frame(opt, f.data(), static_cast<uint32_t>(f.size()),
                     static_cast<uint32_t>(f.size()), p);
}

// A capture that kept caplen bytes of f.
inline DropReason parse_cut(const Frame& f, uint32_t caplen, ParsedPacket* p) {
  return parse_frame(ParseOptions{}, f.data(), caplen, static_cast<uint32_t>(f.size()), p);
}

inline ProbeTrailer probe_trailer(uint32_t seq) {
  ProbeTrailer t;
  t.generation = 1;
  t.flow_id = 1;
  t.seq = seq;
  t.tx_ns = 1767225600041100000ULL;
  return t;
}

inline Frame icmp_probe(bool reply = false, uint16_t vlan = 0) {
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

inline Frame udp_reply(uint32_t count = 77) {
  ProbeTrailer t = probe_trailer(401);
  t.reflected = true;
  t.has_reflector_count = true;
  t.reflector_count = count;
  FrameOptions opt;
  opt.ip_id = 0x4000;
  return pcapgen::udp_datagram(pcapgen::target_endpoint_v4(11), pcapgen::probe_endpoint_v4(), opt,
                               pcapgen::kReflectorPort, 40001, pcapgen::trailer_payload(t));
}

// A TCP segment with its options (a multiple of 4 bytes) and payload, IPv4, checksums right.
// A TCP segment between the probe and target 11, its fields as given.
struct TcpFields {
  bool from_target = false;  // the target's segment to the probe
  uint16_t probe_port = 40000;
  uint16_t target_port = 7;
  uint32_t seq = 1000;
  uint32_t ack = 2000;
  uint16_t ip_id = 1;
  std::vector<uint8_t> options;
};

inline Frame tcp_segment_with(const std::vector<uint8_t>& payload, uint8_t flags,
                              const TcpFields& t) {
  Endpoint src = pcapgen::probe_endpoint_v4();
  Endpoint dst = pcapgen::target_endpoint_v4(11);
  if (t.from_target) std::swap(src, dst);
  const size_t header = 20 + t.options.size();
  Frame f = pcapgen::udp_datagram(src, dst, FrameOptions{}, 1, 2,
                                  std::vector<uint8_t>(header - 8 + payload.size(), 0));
  f.resize(pcapgen::kL4Offset + header + payload.size());
  f[pcapgen::kEthHeaderLen + 9] = 6;
  store_be16(f.data() + pcapgen::kEthHeaderLen + 4, t.ip_id);
  uint8_t* tcp = f.data() + pcapgen::kL4Offset;
  store_be16(tcp, t.from_target ? t.target_port : t.probe_port);
  store_be16(tcp + 2, t.from_target ? t.probe_port : t.target_port);
  store_be32(tcp + 4, t.seq);
  store_be32(tcp + 8, t.ack);
  tcp[12] = static_cast<uint8_t>(header / 4 << 4);
  tcp[13] = flags;
  store_be16(tcp + 14, 65535);
  store_be16(tcp + 16, 0);
  store_be16(tcp + 18, 0);
  std::copy(t.options.begin(), t.options.end(), tcp + 20);
  std::copy(payload.begin(), payload.end(), tcp + header);
  const uint32_t len = static_cast<uint32_t>(header + payload.size());
  uint32_t sum = checksum_add(0, src.ip.bytes.data(), 4);
  sum = checksum_add(sum, dst.ip.bytes.data(), 4);
  sum += 6 + len;
  store_be16(tcp + 16, checksum_fold(checksum_add(sum, tcp, len)));
  pcapgen::fix_ipv4_checksum(&f);
  return f;
}

inline Frame tcp_segment(const std::vector<uint8_t>& payload, uint8_t flags,
                         const std::vector<uint8_t>& options = {}, uint16_t src_port = 40000) {
  TcpFields t;
  t.probe_port = src_port;
  t.options = options;
  return tcp_segment_with(payload, flags, t);
}

// Inserts an IPv6 extension header of type ext_type right after the fixed header of an
// untagged IPv6 frame, keeping the checksum valid (the pseudo header does not change).
inline Frame with_ipv6_extension(Frame f, uint8_t ext_type, std::vector<uint8_t> ext) {
  uint8_t* ip = f.data() + pcapgen::kEthHeaderLen;
  ext[0] = ip[6];  // next header
  ip[6] = ext_type;
  store_be16(ip + 4, static_cast<uint16_t>(load_be16(ip + 4) + ext.size()));
  f.insert(f.begin() + static_cast<long>(pcapgen::kEthHeaderLen + 40), ext.begin(), ext.end());
  return f;
}

inline Frame udp_v6() {
  return pcapgen::udp_datagram(pcapgen::probe_endpoint_v6(), pcapgen::target_endpoint_v6(11),
                               FrameOptions{}, 40001, pcapgen::kReflectorPort,
                               pcapgen::trailer_payload(probe_trailer(5)));
}

}  // namespace migprobe::analysis::test_frames
