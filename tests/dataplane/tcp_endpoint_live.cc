// tcp-endpoint-live: the probe's TCP endpoint against a real TCP stack, without DPDK. It
// runs one TCP flow over an AF_PACKET socket on an interface that has no address of the
// probe's (so the kernel there never answers for it), answers ARP for the probe's address,
// and prints the flow's figures as one JSON object at the end. A test tool
// (tests/dataplane/tcp_endpoint_live_test.py), not part of migprobe.
//
// usage: tcp-endpoint-live IFACE PROBE_IP PEER_IP PEER_MAC PORT SECONDS [discard]

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "analysis/classify.h"
#include "analysis/packet.h"
#include "dataplane/probe_frame.h"
#include "dataplane/tcp_endpoint.h"

namespace {

namespace an = migprobe::analysis;
namespace dp = migprobe::dataplane;

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

class Wire : public dp::TcpSink {
 public:
  Wire(int fd, const dp::TcpFrameAddress& a, const dp::TcpEndpoint& ep) : fd_(fd), a_(a), ep_(ep) {}
  void send(const dp::TcpTx& t) override {
    uint8_t frame[dp::kMaxTcpFrame];
    const uint16_t len = dp::build_tcp_frame(a_, t, ep_, frame);
    if (len == 0 || ::send(fd_, frame, len, 0) != len) ++send_errors;
  }
  void event(const dp::TcpEndpointEvent& e) override { ++events[e.kind]; }
  uint64_t send_errors = 0;
  uint64_t events[5] = {};

 private:
  int fd_;
  dp::TcpFrameAddress a_;
  const dp::TcpEndpoint& ep_;
};

void print_direction(const char* name, const an::TcpDirectionStats& d,
                     const std::vector<an::TcpEpisode>& episodes) {
  std::printf(
      "\"%s\": {\"bytes_sent\": %llu, \"bytes_acked\": %llu, \"retransmitted_segments\": %llu, "
      "\"timeout_retransmits\": %llu, \"fast_retransmits\": %llu, \"dup_acks\": %llu, "
      "\"longest_stall_ns\": %llu, \"zero_window_ns\": %llu, \"unacked_bytes\": %llu, "
      "\"episodes\": [",
      name, static_cast<unsigned long long>(d.bytes_sent),
      static_cast<unsigned long long>(d.bytes_acked),
      static_cast<unsigned long long>(d.retransmitted_segments),
      static_cast<unsigned long long>(d.timeout_retransmits),
      static_cast<unsigned long long>(d.fast_retransmits),
      static_cast<unsigned long long>(d.dup_acks),
      static_cast<unsigned long long>(d.longest_stall_ns),
      static_cast<unsigned long long>(d.zero_window_ns),
      static_cast<unsigned long long>(d.unacked_bytes));
  for (size_t i = 0; i < episodes.size(); ++i) {
    const an::TcpEpisode& e = episodes[i];
    std::printf(
        "%s{\"start_ns\": %llu, \"end_ns\": %llu, \"stall_ns\": %llu, \"timeout\": %u, "
        "\"fast\": %u, \"reset\": %s, \"open\": %s}",
        i == 0 ? "" : ", ", static_cast<unsigned long long>(e.start_ns),
        static_cast<unsigned long long>(e.end_ns), static_cast<unsigned long long>(e.stall_ns),
        e.timeout_retransmits, e.fast_retransmits, e.reset ? "true" : "false",
        e.open ? "true" : "false");
  }
  std::printf("]}");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s IFACE PROBE_IP PEER_IP PEER_MAC PORT SECONDS [discard]\n",
                 argv[0]);
    return 2;
  }
  const std::string iface = argv[1];
  in_addr probe{};
  in_addr peer{};
  an::MacAddress peer_mac{};
  if (inet_pton(AF_INET, argv[2], &probe) != 1 || inet_pton(AF_INET, argv[3], &peer) != 1 ||
      !an::parse_mac(argv[4], &peer_mac)) {
    std::fprintf(stderr, "tcp-endpoint-live: bad address\n");
    return 2;
  }
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
  if (fd < 0) {
    std::perror("socket");
    return 1;
  }
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface.c_str());
  if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    std::perror("ioctl");
    return 1;
  }
  an::MacAddress own{};
  std::memcpy(own.data(), ifr.ifr_hwaddr.sa_data, 6);
  ioctl(fd, SIOCGIFINDEX, &ifr);
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_ALL);
  ll.sll_ifindex = ifr.ifr_ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0) {
    std::perror("bind");
    return 1;
  }
  dp::TcpEndpointConfig c;
  c.flow_id = 1;
  c.generation = 1;
  c.local_port = 40001;
  c.peer_port = static_cast<uint16_t>(std::stoi(argv[5]));
  c.echo = !(argc > 7 && std::string(argv[7]) == "discard");
  dp::TcpEndpoint ep(c);
  dp::TcpFrameAddress a;
  a.src_mac = own;
  a.dst_mac = peer_mac;
  a.src_ip = ntohl(probe.s_addr);
  a.dst_ip = ntohl(peer.s_addr);
  a.src_port = c.local_port;
  a.dst_port = c.peer_port;
  Wire wire(fd, a, ep);

  const uint64_t start = now_ns();
  const uint64_t run_ns = static_cast<uint64_t>(std::stod(argv[6]) * 1e9);
  bool stopped = false;
  ep.start(start, static_cast<uint32_t>(start), wire);
  uint8_t buf[4096];
  while (true) {
    uint64_t now = now_ns();
    if (!stopped && now - start >= run_ns) {
      ep.stop(now, wire);
      stopped = true;
    }
    if (now - start >= run_ns + 1'000'000'000ULL) break;
    const uint64_t due = ep.next_deadline_ns();
    const uint64_t wait = due > now ? std::min<uint64_t>(due - now, 10'000'000) : 0;
    pollfd pfd{fd, POLLIN, 0};
    const timespec ts{0, static_cast<long>(wait)};
    ppoll(&pfd, 1, &ts, nullptr);
    while (true) {
      sockaddr_ll from{};
      socklen_t from_len = sizeof from;
      const ssize_t n =
          recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n <= 0) break;
      if (from.sll_pkttype == PACKET_OUTGOING) continue;  // our own frames
      now = now_ns();
      an::ParsedPacket p;
      const uint32_t len = static_cast<uint32_t>(n);
      if (an::parse_frame(an::ParseOptions{}, buf, len, len, &p) != an::DropReason::kNone) {
        continue;
      }
      if (p.kind == an::PacketKind::kArp && p.arp_op == 1 && p.arp_target_ip == a.src_ip) {
        uint8_t reply[64];
        const uint16_t rl = dp::build_arp(reply, 2, p.arp_sender_mac, own, a.src_ip,
                                          p.arp_sender_mac, p.arp_sender_ip, 0);
        ::send(fd, reply, rl, 0);
        continue;
      }
      if (p.kind != an::PacketKind::kTcp || an::ipv4_host_order(p.src_ip) != a.dst_ip ||
          an::ipv4_host_order(p.dst_ip) != a.src_ip || p.src_port != a.dst_port ||
          p.dst_port != a.src_port) {
        continue;
      }
      ep.on_segment(p, now, wire);
    }
    now = now_ns();
    for (int i = 0; i < 64 && ep.next_deadline_ns() <= now; ++i) ep.on_timer(now, wire);
  }
  ep.finish(now_ns());
  const auto& e = ep.echo();
  const auto& cs = ep.meter().connection();
  std::printf("{\"start_ns\": %llu, \"established\": %u, \"connections\": %u, ",
              static_cast<unsigned long long>(start), cs.established, cs.connections);
  print_direction("probe", ep.meter().opener(), ep.meter().episodes(true));
  std::printf(
      ", \"resets\": %zu, \"bytes_echoed\": %llu, \"bytes_mismatched\": %llu, "
      "\"echo_max_ns\": %llu, \"send_errors\": %llu}\n",
      ep.meter().resets().size(), static_cast<unsigned long long>(e.bytes_echoed),
      static_cast<unsigned long long>(e.bytes_mismatched),
      static_cast<unsigned long long>(e.echo_max_ns),
      static_cast<unsigned long long>(wire.send_errors));
  close(fd);
  return 0;
}
