#pragma once
// A small real HTTP/1.1 server on 127.0.0.1 for the control tests: one blocking thread,
// one connection at a time, "Connection: close" on every reply. Routes are a function of
// the request, so a test can answer 401 once, 500 then 200, and so on; every request is
// recorded so that tests can check what the client sent.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace migprobe::control::testing {

// A request as received.
struct ReceivedRequest {
  std::string method;
  // Path and query as sent ("/v2.1/servers/detail?host=a").
  std::string target;
  // Header names lower-cased.
  std::map<std::string, std::string> headers;
  std::string body;

  // The path without the query.
  std::string path() const;
  // The value of a query parameter, "" when absent (no percent-decoding: tests use plain
  // values).
  std::string query(const std::string& name) const;
};

// A reply to send.
struct Reply {
  // Extra header name and value pairs.
  using Headers = std::vector<std::pair<std::string, std::string>>;

  Reply() = default;
  // status, body and extra headers.
  Reply(int status_code, std::string reply_body,
        std::vector<std::pair<std::string, std::string>> extra_headers = {})
      : status(status_code), body(std::move(reply_body)), headers(std::move(extra_headers)) {}

  int status = 200;
  std::string body;
  // Extra headers; Content-Length and Connection are added.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Listens on 127.0.0.1 on a free port until destroyed.
class TestHttpServer {
 public:
  using Handler = std::function<Reply(const ReceivedRequest&)>;

  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  // "http://127.0.0.1:<port>".
  std::string base_url() const;
  // Every request received so far.
  std::vector<ReceivedRequest> requests() const;

 private:
  // The accept loop of the server thread.
  void serve();
  // Reads one request from fd, records it, and writes the handler's reply.
  void handle(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  // Set by the destructor to end serve().
  std::atomic<bool> stop_{false};
  // Guards requests_.
  mutable std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

// Reads a file into a string; fails the calling test when it is missing.
std::string read_file(const std::string& path);

}  // namespace migprobe::control::testing
