#include "dataplane/reflector/tcp_service.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace migprobe::reflector {

namespace {

bool set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

TcpService::~TcpService() {
  for (Conn& c : conns_) close(c.fd);
  if (listen_fd_ >= 0) close(listen_fd_);
}

std::string TcpService::open() {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  int family = AF_INET6;
  if (inet_pton(AF_INET6, bind_.c_str(), &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port_);
    len = sizeof(*s6);
  } else if (inet_pton(AF_INET, bind_.c_str(), &s4->sin_addr) == 1) {
    family = AF_INET;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port_);
    len = sizeof(*s4);
  } else {
    return "--bind " + bind_ + ": not an IP address";
  }
  listen_fd_ = socket(family, SOCK_STREAM, 0);
  if (listen_fd_ < 0 && family == AF_INET6 && bind_ == "::") {
    // A guest without IPv6: IPv4 only.
    family = AF_INET;
    ss = {};
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port_);
    len = sizeof(*s4);
    listen_fd_ = socket(family, SOCK_STREAM, 0);
  }
  const std::string what = std::string("tcp ") + (mode_ == Mode::kEcho ? "echo" : "discard") +
                           " on " + bind_ + " port " + std::to_string(port_) + ": ";
  if (listen_fd_ < 0) return what + "socket: " + std::strerror(errno);
  const int on = 1;
  const int off = 0;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (family == AF_INET6) setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return what + "bind: " + std::strerror(errno);
  }
  if (listen(listen_fd_, 64) != 0 || !set_nonblocking(listen_fd_)) {
    return what + "listen: " + std::strerror(errno);
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_len) == 0) {
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  return "";
}

size_t TcpService::add_polls(std::vector<pollfd>* fds) const {
  if (listen_fd_ < 0) return 0;
  fds->push_back({listen_fd_, POLLIN, 0});
  for (const Conn& c : conns_) {
    // Echo waits to write what is pending before it reads more.
    fds->push_back({c.fd, static_cast<short>(c.len != 0 ? POLLOUT : POLLIN), 0});
  }
  return 1 + conns_.size();
}

void TcpService::accept_all() {
  while (true) {
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;  // EAGAIN, or an error of that one connection
    if (conns_.size() >= kMaxConnections || !set_nonblocking(fd)) {
      ++counters_.refused;
      close(fd);
      continue;
    }
    ++counters_.accepted;
    Conn c;
    c.fd = fd;
    c.buf = std::make_unique<uint8_t[]>(kBuffer);
    conns_.push_back(std::move(c));
  }
}

bool TcpService::serve(Conn& c, short revents) {
  if ((revents & (POLLERR | POLLNVAL)) != 0) {
    ++counters_.reset;
    return false;
  }
  if (c.len != 0) {
    const ssize_t w = send(c.fd, c.buf.get() + c.off, c.len, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) return true;
      ++counters_.reset;
      return false;
    }
    counters_.bytes_echoed += static_cast<uint64_t>(w);
    c.off += static_cast<size_t>(w);
    c.len -= static_cast<size_t>(w);
    if (c.len != 0) return true;
    c.off = 0;
  }
  if ((revents & (POLLIN | POLLHUP)) == 0) return true;
  const ssize_t r = recv(c.fd, c.buf.get(), kBuffer, 0);
  if (r == 0) {
    ++counters_.closed;
    return false;
  }
  if (r < 0) {
    if (errno == EAGAIN || errno == EINTR) return true;
    ++counters_.reset;
    return false;
  }
  counters_.bytes_in += static_cast<uint64_t>(r);
  if (mode_ == Mode::kDiscard) return true;
  c.len = static_cast<size_t>(r);
  return serve(c, 0);  // write back what can go now; the rest when poll says
}

void TcpService::on_polls(const pollfd* fds, size_t n) {
  if (n == 0) return;
  // Connections first (the entries after the listener), then new ones: indices stay valid.
  size_t keep = 0;
  for (size_t i = 0; i < conns_.size(); ++i) {
    const short ev = i + 1 < n ? fds[i + 1].revents : 0;
    if (ev == 0 || serve(conns_[i], ev)) {
      if (keep != i) conns_[keep] = std::move(conns_[i]);
      ++keep;
    } else {
      close(conns_[i].fd);
    }
  }
  conns_.resize(keep);
  if ((fds[0].revents & POLLIN) != 0) accept_all();
}

}  // namespace migprobe::reflector
