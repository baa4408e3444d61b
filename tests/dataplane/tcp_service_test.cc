// migprobe-reflector's TCP services over loopback: echo returns every byte in order, discard
// returns none, a client that stops reading stalls the echo without losing a byte, and
// closes are counted.

#include "dataplane/reflector/tcp_service.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace migprobe::reflector {
namespace {

// The service on 127.0.0.1 (a port the system picks), driven by a poll loop in a thread.
class Running {
 public:
  explicit Running(TcpService::Mode mode) : service_(mode, "127.0.0.1", 0) {
    EXPECT_EQ(service_.open(), "");
    thread_ = std::thread([this] {
      std::vector<pollfd> fds;
      while (!stop_) {
        fds.clear();
        service_.add_polls(&fds);
        if (poll(fds.data(), fds.size(), 10) > 0) service_.on_polls(fds.data(), fds.size());
      }
    });
  }
  ~Running() {
    stop_ = true;
    thread_.join();
  }
  // A connected client socket (blocking).
  int connect_client() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(service_.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  // Counters, read once the loop has caught up (the test waits for the figure it wants).
  TcpService::Counters counters_when(const std::function<bool(const TcpService::Counters&)>& ok) {
    for (int i = 0; i < 500; ++i) {
      const TcpService::Counters c = service_.counters();
      if (ok(c)) return c;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return service_.counters();
  }

 private:
  TcpService service_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 31 + (i >> 8));
  return v;
}

// Reads exactly n bytes (false on a timeout or close).
bool read_all(int fd, uint8_t* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = recv(fd, out + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

TEST(TcpService, EchoReturnsEveryByteInOrder) {
  Running s(TcpService::Mode::kEcho);
  const int fd = s.connect_client();
  const std::vector<uint8_t> data = pattern(1 << 20);
  std::thread writer([&] {
    for (size_t off = 0; off < data.size(); off += 1000) {
      const size_t n = std::min<size_t>(1000, data.size() - off);
      ASSERT_EQ(send(fd, data.data() + off, n, 0), static_cast<ssize_t>(n));
    }
  });
  std::vector<uint8_t> back(data.size());
  EXPECT_TRUE(read_all(fd, back.data(), back.size()));
  writer.join();
  EXPECT_EQ(back, data);
  close(fd);
  const auto c = s.counters_when([](const auto& k) { return k.closed == 1; });
  EXPECT_EQ(c.accepted, 1U);
  EXPECT_EQ(c.closed, 1U);
  EXPECT_EQ(c.bytes_in, data.size());
  EXPECT_EQ(c.bytes_echoed, data.size());
}

TEST(TcpService, DiscardReadsAndReturnsNothing) {
  Running s(TcpService::Mode::kDiscard);
  const int fd = s.connect_client();
  const std::vector<uint8_t> data = pattern(256 * 1024);
  ASSERT_EQ(send(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  const auto c = s.counters_when([&](const auto& k) { return k.bytes_in == data.size(); });
  EXPECT_EQ(c.bytes_in, data.size());
  EXPECT_EQ(c.bytes_echoed, 0U);
  uint8_t b;
  EXPECT_EQ(recv(fd, &b, 1, MSG_DONTWAIT), -1);  // nothing came back
  close(fd);
}

TEST(TcpService, AClientThatStopsReadingStallsTheEchoWithoutLoss) {
  Running s(TcpService::Mode::kEcho);
  const int fd = s.connect_client();
  const int small = 64 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
  const std::vector<uint8_t> data = pattern(32 << 20);
  size_t sent = 0;
  // Send without reading until nothing more goes: every buffer on the way is full.
  for (int idle = 0; idle < 50 && sent < data.size();) {
    const ssize_t w = send(fd, data.data() + sent, std::min<size_t>(65536, data.size() - sent), 0);
    if (w > 0) {
      sent += static_cast<size_t>(w);
      idle = 0;
    } else {
      ++idle;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_LT(sent, data.size()) << "the echo never pushed back";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto held = s.counters_when([](const auto&) { return true; });
  EXPECT_LT(held.bytes_in, sent);  // the service stopped reading: flow control
  // Now read everything back: all of it, in order.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) & ~O_NONBLOCK);
  std::vector<uint8_t> back(sent);
  EXPECT_TRUE(read_all(fd, back.data(), back.size()));
  EXPECT_TRUE(std::equal(back.begin(), back.end(), data.begin()));
  close(fd);
}

TEST(TcpService, ManyConnectionsAtOnce) {
  Running s(TcpService::Mode::kEcho);
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) fds.push_back(s.connect_client());
  for (int i = 0; i < 20; ++i) {
    const uint8_t b = static_cast<uint8_t>(i);
    ASSERT_EQ(send(fds[i], &b, 1, 0), 1);
  }
  for (int i = 0; i < 20; ++i) {
    uint8_t b = 0xff;
    ASSERT_EQ(recv(fds[i], &b, 1, 0), 1);
    EXPECT_EQ(b, i);
    close(fds[i]);
  }
  const auto c = s.counters_when([](const auto& k) { return k.closed == 20; });
  EXPECT_EQ(c.accepted, 20U);
  EXPECT_EQ(c.closed, 20U);
}

TEST(TcpService, BadBindAddressSaysSo) {
  TcpService t(TcpService::Mode::kEcho, "not-an-address", 7);
  EXPECT_NE(t.open().find("not an IP address"), std::string::npos);
}

}  // namespace
}  // namespace migprobe::reflector
