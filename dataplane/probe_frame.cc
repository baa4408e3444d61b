#include "dataplane/probe_frame.h"

#include "analysis/byte_order.h"

namespace migprobe::dataplane {

namespace an = migprobe::analysis;

namespace {

uint16_t put_ethernet(uint8_t* p, const an::MacAddress& dst, const an::MacAddress& src,
                      uint16_t vlan, uint16_t ethertype) {
  std::memcpy(p, dst.data(), 6);
  std::memcpy(p + 6, src.data(), 6);
  if (vlan != 0) {
    an::store_be16(p + 12, 0x8100);
    an::store_be16(p + 14, vlan & 0x0fff);
    an::store_be16(p + 16, ethertype);
    return 18;
  }
  an::store_be16(p + 12, ethertype);
  return 14;
}

}  // namespace

void build_probe_header(const ProbeIdentity& self, const an::MacAddress& dst_mac, uint16_t vlan,
                        uint32_t dst_ip, const FlowParams& flow, uint32_t flow_id, ProbeHeader* out,
                        uint16_t src_port) {
  ProbeHeader& h = *out;
  std::memset(h.bytes, 0, sizeof(h.bytes));
  h.kind = static_cast<uint8_t>(flow.kind);
  if (flow.kind == ProbeKind::kTcpSyn) {
    // A SYN with an MSS option, like a stack's; the sequence and checksum per probe.
    constexpr uint16_t kTcpHeader = 24;
    const uint16_t l3 = put_ethernet(h.bytes, dst_mac, self.mac, vlan, 0x0800);
    h.l4_off = static_cast<uint16_t>(l3 + 20);
    h.hdr_len = static_cast<uint16_t>(h.l4_off + kTcpHeader);
    h.payload_len = 0;
    const uint16_t ip_len = 20 + kTcpHeader;
    h.frame_len = static_cast<uint16_t>(l3 + ip_len < 60 ? 60 : l3 + ip_len);
    uint8_t* ip = h.bytes + l3;
    ip[0] = 0x45;
    ip[1] = static_cast<uint8_t>(flow.dscp << 2);
    an::store_be16(ip + 2, ip_len);
    an::store_be16(ip + 4, an::syn_ip_id(flow_id));  // which flow, for a capture's reader
    an::store_be16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 6;
    an::store_be32(ip + 12, self.ip);
    an::store_be32(ip + 16, dst_ip);
    an::store_be16(ip + 10, an::checksum_fold(an::checksum_add(0, ip, 20)));
    uint8_t* tcp = h.bytes + h.l4_off;
    an::store_be16(tcp, src_port);
    an::store_be16(tcp + 2, flow.port);
    tcp[12] = (kTcpHeader / 4) << 4;
    tcp[13] = an::kTcpSyn;
    an::store_be16(tcp + 14, 65535);
    tcp[20] = 2;  // MSS 1460
    tcp[21] = 4;
    an::store_be16(tcp + 22, 1460);
    uint32_t sum = an::checksum_add(0, ip + 12, 8);  // pseudo header
    sum += 6;
    sum += kTcpHeader;
    h.l4_sum = an::checksum_add(sum, tcp, kTcpHeader);
    return;
  }
  h.payload_len = static_cast<uint16_t>(flow.payload_bytes < an::kTrailerSize ? an::kTrailerSize
                                                                              : flow.payload_bytes);
  const uint16_t l3 = put_ethernet(h.bytes, dst_mac, self.mac, vlan, 0x0800);
  h.l4_off = static_cast<uint16_t>(l3 + 20);
  h.hdr_len = static_cast<uint16_t>(h.l4_off + 8);
  const uint16_t ip_len = static_cast<uint16_t>(20 + 8 + h.payload_len);
  h.frame_len = static_cast<uint16_t>(l3 + ip_len < 60 ? 60 : l3 + ip_len);

  uint8_t* ip = h.bytes + l3;
  ip[0] = 0x45;
  ip[1] = static_cast<uint8_t>(flow.dscp << 2);
  an::store_be16(ip + 2, ip_len);
  an::store_be16(ip + 4, 0);  // id: DF set, never fragmented
  an::store_be16(ip + 6, 0x4000);
  ip[8] = 64;
  ip[9] = flow.kind == ProbeKind::kIcmpEcho ? 1 : 17;
  an::store_be32(ip + 12, self.ip);
  an::store_be32(ip + 16, dst_ip);
  an::store_be16(ip + 10, an::checksum_fold(an::checksum_add(0, ip, 20)));  // fold complements

  uint8_t* l4 = h.bytes + h.l4_off;
  if (flow.kind == ProbeKind::kIcmpEcho) {
    l4[0] = 8;  // echo request
    an::store_be16(l4 + 4, static_cast<uint16_t>(flow_id));
    // Checksum and sequence are written per packet; they start at zero here.
    h.l4_sum = an::checksum_add(0, l4, 8);
  } else {
    // Source port from the flow id keeps flows apart in the guest's socket and in RSS.
    an::store_be16(l4, static_cast<uint16_t>(32768 + (flow_id % 28000)));
    an::store_be16(l4 + 2, flow.port);
    an::store_be16(l4 + 4, static_cast<uint16_t>(8 + h.payload_len));
    uint32_t s = an::checksum_add(0, ip + 12, 8);  // pseudo header: addresses
    s += 17;
    s += static_cast<uint32_t>(8 + h.payload_len);
    h.l4_sum = an::checksum_add(s, l4, 8);
  }
}

uint16_t build_arp(uint8_t* out, uint16_t op, const an::MacAddress& eth_dst,
                   const an::MacAddress& sender_mac, uint32_t sender_ip,
                   const an::MacAddress& target_mac, uint32_t target_ip, uint16_t vlan) {
  std::memset(out, 0, 64);
  const uint16_t l3 = put_ethernet(out, eth_dst, sender_mac, vlan, 0x0806);
  uint8_t* a = out + l3;
  an::store_be16(a, 1);
  an::store_be16(a + 2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  an::store_be16(a + 6, op);
  std::memcpy(a + 8, sender_mac.data(), 6);
  an::store_be32(a + 14, sender_ip);
  std::memcpy(a + 18, target_mac.data(), 6);
  an::store_be32(a + 24, target_ip);
  return static_cast<uint16_t>(vlan != 0 ? 64 : 60);
}

uint16_t build_tcp_frame(const TcpFrameAddress& a, const TcpTx& t, const TcpEndpoint& ep,
                         uint8_t* out) {
  if (t.payload_len > 1460) return 0;
  const uint16_t l3 = put_ethernet(out, a.dst_mac, a.src_mac, a.vlan, 0x0800);
  uint8_t* tcp = out + l3 + 20;
  // Options, each group a multiple of four bytes.
  uint8_t* o = tcp + 20;
  if (t.syn_options) {
    *o++ = 2;  // MSS
    *o++ = 4;
    an::store_be16(o, t.mss);
    o += 2;
    *o++ = 1;  // no-op, then window scale
    *o++ = 3;
    *o++ = 3;
    *o++ = t.wscale;
  }
  if (t.has_ts) {
    *o++ = 1;
    *o++ = 1;
    *o++ = 8;
    *o++ = 10;
    an::store_be32(o, t.ts_val);
    an::store_be32(o + 4, t.ts_ecr);
    o += 8;
  }
  const uint16_t header = static_cast<uint16_t>(o - tcp);
  if (t.payload_len != 0 && !ep.write_payload(t.payload_offset, t.payload_len, o)) return 0;
  const uint16_t tcp_len = static_cast<uint16_t>(header + t.payload_len);
  an::store_be16(tcp, a.src_port);
  an::store_be16(tcp + 2, a.dst_port);
  an::store_be32(tcp + 4, t.seq);
  an::store_be32(tcp + 8, t.ack);
  tcp[12] = static_cast<uint8_t>((header / 4) << 4);
  tcp[13] = t.flags;
  an::store_be16(tcp + 14, t.window);
  an::store_be16(tcp + 16, 0);
  an::store_be16(tcp + 18, 0);

  uint8_t* ip = out + l3;
  const uint16_t ip_len = static_cast<uint16_t>(20 + tcp_len);
  ip[0] = 0x45;
  ip[1] = static_cast<uint8_t>(a.dscp << 2);
  an::store_be16(ip + 2, ip_len);
  an::store_be16(ip + 4, 0);
  an::store_be16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = 6;
  an::store_be16(ip + 10, 0);
  an::store_be32(ip + 12, a.src_ip);
  an::store_be32(ip + 16, a.dst_ip);
  an::store_be16(ip + 10, an::checksum_fold(an::checksum_add(0, ip, 20)));

  uint32_t sum = an::checksum_add(0, ip + 12, 8);  // pseudo header
  sum += 6;
  sum += tcp_len;
  an::store_be16(tcp + 16, an::checksum_fold(an::checksum_add(sum, tcp, tcp_len)));
  uint16_t len = static_cast<uint16_t>(l3 + ip_len);
  if (len < 60) {
    std::memset(out + len, 0, 60 - len);
    len = 60;
  }
  return len;
}

uint16_t build_tcp_reset(const TcpFrameAddress& a, uint32_t seq, uint8_t* out) {
  static const TcpEndpoint kNoPayload;
  TcpTx t;
  t.flags = an::kTcpRst;
  t.seq = seq;
  uint8_t frame[kMaxTcpFrame];
  const uint16_t len = build_tcp_frame(a, t, kNoPayload, frame);
  std::memcpy(out, frame, len);
  return len;
}

}  // namespace migprobe::dataplane
