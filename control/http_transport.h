#pragma once
// The HTTP layer under the OpenStack clients: a request, a response (with the
// x-openstack-request-id every OpenStack service sends), and the interface that the
// sessions call. CurlTransport (curl_transport.h) is the real implementation; tests run
// it against a real HTTP server on 127.0.0.1.

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
};

}  // namespace migprobe::control
