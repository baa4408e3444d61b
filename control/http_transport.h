#pragma once
// The HTTP layer under the OpenStack clients: a request, a response (with the
// x-openstack-request-id every OpenStack service sends), and the interface that the
// sessions call. CurlTransport (curl_transport.h) is the real implementation; tests run
// it against a real HTTP server on 127.0.0.1.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "control/result.h"

namespace migprobe::control {

// One HTTP request. url is absolute.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  // Header name and value pairs, sent in order.
  std::vector<std::pair<std::string, std::string>> headers;
  // Sent when non-empty (or always for POST/PUT/PATCH).
  std::string body;
};

// A file sent as a request's body (an image upload): streamed as it is read, never held in
// memory whole, with no overall time limit (a transfer slower than 1 kB/s for a minute
// fails).
struct HttpUpload {
  std::string path;
  // Called as the file is sent: bytes sent so far and in all.
  std::function<void(uint64_t sent, uint64_t total)> on_progress;
};

// One HTTP response, whatever its status.
struct HttpResponse {
  long status = 0;
  // Header names lower-cased; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;
  // x-openstack-request-id (or Keystone's older x-openstack-request-id spelling variants).
  std::string request_id;

  // The header's value, or "" when absent. name must be lower case.
  std::string header(const std::string& name) const;
};

// Sends HTTP requests. A Result error means no response at all (kTransport); any HTTP
// status, including 4xx and 5xx, is a successful send.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends request and waits for the whole response.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
  // Sends request with upload's file as its body (request.body is ignored); a file that
  // cannot be read is ErrorKind::kIo, nothing sent.
  virtual Result<HttpResponse> send_file(const HttpRequest& request, const HttpUpload& upload) = 0;
};

}  // namespace migprobe::control
