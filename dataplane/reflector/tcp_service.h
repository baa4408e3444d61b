#pragma once
// migprobe-reflector's TCP services, for migprobe's TCP flows: echo (every byte returned in
// order) and discard (every byte read and dropped). A peer that stops reading its echo makes
// the service stop reading that connection until the echo drains: TCP's own flow control,
// no byte dropped. Non-blocking sockets driven by the reflector's one poll loop, so an idle
// service costs nothing. No DPDK, no protobuf: it links into the static guest binary.

#include <poll.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace migprobe::reflector {

class TcpService {
 public:
  enum class Mode : uint8_t { kEcho, kDiscard };

  struct Counters {
    uint64_t accepted = 0;
    uint64_t closed = 0;   // by the peer (FIN)
    uint64_t reset = 0;    // ended by an error (a reset)
    uint64_t refused = 0;  // over kMaxConnections: closed at once
    uint64_t bytes_in = 0;
    uint64_t bytes_echoed = 0;
  };

  static constexpr size_t kMaxConnections = 1024;
  static constexpr size_t kBuffer = 64 * 1024;

  TcpService(Mode mode, std::string bind_addr, uint16_t port)
      : mode_(mode), bind_(std::move(bind_addr)), port_(port) {}
  ~TcpService();
  TcpService(const TcpService&) = delete;
  TcpService& operator=(const TcpService&) = delete;

  // Opens the listening socket (IPv6 "::" takes IPv4 too, or falls back to IPv4 without
  // IPv6). "" on success, else what failed.
  std::string open();
  // The port it listens on (the one the system chose for port 0).
  uint16_t port() const { return port_; }
  Mode mode() const { return mode_; }

  // Appends the sockets to poll, with what to wait for; returns how many.
  size_t add_polls(std::vector<pollfd>* fds) const;
  // Handles what poll found on the entries add_polls appended (fds[first...]).
  void on_polls(const pollfd* fds, size_t n);

  const Counters& counters() const { return counters_; }
  size_t connections() const { return conns_.size(); }

 private:
  struct Conn {
    int fd = -1;
    std::unique_ptr<uint8_t[]> buf;  // echo not yet written back
    size_t off = 0;
    size_t len = 0;
  };

  void accept_all();
  // False when the connection is over.
  bool serve(Conn& c, short revents);

  Mode mode_;
  std::string bind_;
  uint16_t port_;
  int listen_fd_ = -1;
  std::vector<Conn> conns_;
  Counters counters_;
};

}  // namespace migprobe::reflector
