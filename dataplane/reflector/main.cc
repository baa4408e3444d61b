// migprobe-reflector: runs inside a guest and answers migprobe's probes: UDP probes on
// --port (7077), TCP echo on --tcp-echo (7077) and TCP discard on --tcp-discard (off), all
// on --bind (:: or 0.0.0.0). One poll loop over every socket, so an idle reflector costs
// nothing. Exits on SIGINT/SIGTERM with a one-line report.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/reflector/reflection.h"
#include "dataplane/reflector/tcp_service.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--port N] [--tcp-echo N] [--tcp-discard N] [--bind ADDR] [--quiet]\n"
               "Echoes migprobe UDP probes with magic \"mr\" and a per-flow receive counter\n"
               "(keyed by source address and flow id), so forward and return loss are told\n"
               "apart; serves migprobe's TCP flows: echo returns every byte in order, discard\n"
               "reads and drops them.\n"
               "  --port N         UDP probes (default 7077)\n"
               "  --tcp-echo N     TCP echo (default 7077; 0: off)\n"
               "  --tcp-discard N  TCP discard (default 0: off)\n"
               "  --bind ADDR      address of every service (default ::, all IPv4 and IPv6)\n",
               argv0);
}

// A port number option's value; false (after saying why) when it is not one. zero_ok: 0
// turns the service off.
bool port_arg(const char* option, const char* text, bool zero_ok, long* out) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < (zero_ok ? 0 : 1) || v > 65535) {
    std::fprintf(stderr, "migprobe-reflector: %s %s: not a port number\n", option, text);
    return false;
  }
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  long port = 7077;
  long tcp_echo = 7077;
  long tcp_discard = 0;
  std::string bind_addr = "::";
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--port" || a == "-p") && i + 1 < argc) {
      if (!port_arg("--port", argv[++i], false, &port)) return 2;
    } else if (a == "--tcp-echo" && i + 1 < argc) {
      if (!port_arg("--tcp-echo", argv[++i], true, &tcp_echo)) return 2;
    } else if (a == "--tcp-discard" && i + 1 < argc) {
      if (!port_arg("--tcp-discard", argv[++i], true, &tcp_discard)) return 2;
    } else if (a == "--bind" && i + 1 < argc) {
      bind_addr = argv[++i];
    } else if (a == "--quiet" || a == "-q") {
      quiet = true;
    } else if (a == "--help" || a == "-h") {
      usage(argv[0]);
      return 0;
    } else {
      std::fprintf(stderr, "migprobe-reflector: unknown argument '%s'\n", a.c_str());
      usage(argv[0]);
      return 2;
    }
  }

  sockaddr_storage ss{};
  socklen_t ss_len = 0;
  int family = AF_INET6;
  auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET6, bind_addr.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(static_cast<uint16_t>(port));
    ss_len = sizeof(*s6);
  } else if (inet_pton(AF_INET, bind_addr.c_str(), &s4->sin_addr) == 1) {
    family = AF_INET;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(static_cast<uint16_t>(port));
    ss_len = sizeof(*s4);
  } else {
    std::fprintf(stderr, "migprobe-reflector: --bind %s: not an IP address\n", bind_addr.c_str());
    return 2;
  }
  int fd = socket(family, SOCK_DGRAM, 0);
  if (fd < 0 && family == AF_INET6 && bind_addr == "::") {
    // A guest without IPv6: fall back to IPv4 only.
    family = AF_INET;
    ss = {};
    s4->sin_family = AF_INET;
    s4->sin_port = htons(static_cast<uint16_t>(port));
    ss_len = sizeof(*s4);
    fd = socket(family, SOCK_DGRAM, 0);
  }
  if (fd < 0) {
    std::fprintf(stderr, "migprobe-reflector: socket: %s\n", std::strerror(errno));
    return 1;
  }
  if (family == AF_INET6) {
    int off = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), ss_len) != 0) {
    std::fprintf(stderr, "migprobe-reflector: bind %s port %ld: %s\n", bind_addr.c_str(), port,
                 std::strerror(errno));
    return 1;
  }

  std::vector<std::unique_ptr<migprobe::reflector::TcpService>> tcp;
  using Mode = migprobe::reflector::TcpService::Mode;
  for (const auto& [mode, p] : {std::pair{Mode::kEcho, tcp_echo}, {Mode::kDiscard, tcp_discard}}) {
    if (p == 0) continue;
    auto service = std::make_unique<migprobe::reflector::TcpService>(mode, bind_addr,
                                                                     static_cast<uint16_t>(p));
    if (const std::string error = service->open(); !error.empty()) {
      std::fprintf(stderr, "migprobe-reflector: %s\n", error.c_str());
      return 1;
    }
    tcp.push_back(std::move(service));
  }

  // No SA_RESTART: a signal interrupts the poll.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (!quiet) {
    std::fprintf(stderr, "migprobe-reflector: udp on %s port %ld", bind_addr.c_str(), port);
    for (const auto& t : tcp) {
      std::fprintf(stderr, ", tcp %s on port %u", t->mode() == Mode::kEcho ? "echo" : "discard",
                   t->port());
    }
    std::fprintf(stderr, "\n");
  }

  migprobe::reflector::Reflection reflection;
  alignas(8) uint8_t in[2048];
  alignas(8) uint8_t out[2048 + 8];
  std::vector<pollfd> fds;
  while (!g_stop) {
    fds.clear();
    fds.push_back({fd, POLLIN, 0});
    for (const auto& t : tcp) t->add_polls(&fds);
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "migprobe-reflector: poll: %s\n", std::strerror(errno));
      break;
    }
    size_t next = 1;
    for (const auto& t : tcp) {
      const size_t n = 1 + t->connections();
      t->on_polls(fds.data() + next, n);
      next += n;
    }
    if ((fds[0].revents & POLLIN) == 0) continue;
    // Every datagram waiting, without blocking; a reply is sent as before, blocking while the
    // socket's send buffer is full rather than dropped.
    while (true) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof(from);
      const ssize_t n =
          recvfrom(fd, in, sizeof(in), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) break;  // drained (EAGAIN), or an error of one datagram
      migprobe::reflector::FlowKey key;
      if (from.ss_family == AF_INET6) {
        const auto* f6 = reinterpret_cast<const sockaddr_in6*>(&from);
        if (IN6_IS_ADDR_V4MAPPED(&f6->sin6_addr)) {
          std::memcpy(key.addr.data(), f6->sin6_addr.s6_addr + 12, 4);
        } else {
          std::memcpy(key.addr.data(), f6->sin6_addr.s6_addr, 16);
        }
      } else {
        std::memcpy(key.addr.data(), &reinterpret_cast<const sockaddr_in*>(&from)->sin_addr, 4);
      }
      size_t out_len = 0;
      if (reflection.reflect(key, in, static_cast<size_t>(n), out, sizeof(out), &out_len) !=
          migprobe::reflector::Verdict::kReply) {
        continue;
      }
      sendto(fd, out, out_len, 0, reinterpret_cast<sockaddr*>(&from), from_len);
    }
  }
  const auto& c = reflection.counters();
  if (!quiet) {
    std::fprintf(
        stderr, "migprobe-reflector: replied %llu, not probes %llu, malformed %llu, flows %zu\n",
        static_cast<unsigned long long>(c.replied), static_cast<unsigned long long>(c.not_probe),
        static_cast<unsigned long long>(c.malformed), reflection.flows());
    for (const auto& t : tcp) {
      const auto& k = t->counters();
      std::fprintf(
          stderr,
          "migprobe-reflector: tcp %s: connections %llu (closed %llu, reset %llu, "
          "refused %llu), bytes in %llu, echoed %llu\n",
          t->mode() == Mode::kEcho ? "echo" : "discard",
          static_cast<unsigned long long>(k.accepted), static_cast<unsigned long long>(k.closed),
          static_cast<unsigned long long>(k.reset), static_cast<unsigned long long>(k.refused),
          static_cast<unsigned long long>(k.bytes_in),
          static_cast<unsigned long long>(k.bytes_echoed));
    }
  }
  close(fd);
  return 0;
}
