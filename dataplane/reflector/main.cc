// migprobe-reflector: runs inside a guest and answers migprobe UDP probes. A blocking
// recvfrom per datagram, so an idle reflector costs nothing. Options: --port (7077),
// --bind (0.0.0.0 or ::), --quiet. Exits on SIGINT/SIGTERM with a one-line report.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dataplane/reflector/reflection.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--port N] [--bind ADDR] [--quiet]\n"
               "Echoes migprobe UDP probes with magic \"mr\" and a per-flow receive counter\n"
               "(keyed by source address and flow id), so forward and return loss are told\n"
               "apart. --port defaults to 7077, --bind to :: (all IPv4 and IPv6 addresses).\n",
               argv0);
}

}  // namespace

int main(int argc, char** argv) {
  long port = 7077;
  std::string bind_addr = "::";
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--port" || a == "-p") && i + 1 < argc) {
      char* end = nullptr;
      port = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || port <= 0 || port > 65535) {
        std::fprintf(stderr, "migprobe-reflector: --port %s: not a port number\n", argv[i]);
        return 2;
      }
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

  // No SA_RESTART: a signal interrupts the blocking recvfrom.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (!quiet)
    std::fprintf(stderr, "migprobe-reflector: listening on %s port %ld\n", bind_addr.c_str(), port);

  migprobe::reflector::Reflection reflection;
  alignas(8) uint8_t in[2048];
  alignas(8) uint8_t out[2048 + 8];
  while (!g_stop) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n =
        recvfrom(fd, in, sizeof(in), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "migprobe-reflector: recvfrom: %s\n", std::strerror(errno));
      break;
    }
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
  const auto& c = reflection.counters();
  if (!quiet) {
    std::fprintf(
        stderr, "migprobe-reflector: replied %llu, not probes %llu, malformed %llu, flows %zu\n",
        static_cast<unsigned long long>(c.replied), static_cast<unsigned long long>(c.not_probe),
        static_cast<unsigned long long>(c.malformed), reflection.flows());
  }
  close(fd);
  return 0;
}
