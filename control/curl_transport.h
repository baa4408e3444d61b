#pragma once
// HttpTransport over libcurl: TLS verification on unless asked otherwise, an optional CA
// bundle, connect and total timeouts.

#include <chrono>
#include <string>

#include "control/cloud_config.h"
#include "control/http_transport.h"

namespace migprobe::control {

// How CurlTransport connects.
struct TransportOptions {
  // Verify the server's certificate and host name (OS_INSECURE turns this off).
  bool verify_tls = true;
  // PEM bundle of trusted CAs (OS_CACERT); empty means the system store.
  std::string ca_bundle;
  // Time allowed to establish the connection.
  std::chrono::milliseconds connect_timeout{10000};
  // Time allowed for the whole exchange.
  std::chrono::milliseconds total_timeout{60000};
  // Sent as User-Agent.
  std::string user_agent = "migprobe-control/0.1";
};

// The TLS options a cloud asks for: its CA bundle (cacert / OS_CACERT), and verification
// off only when it says insecure (verify: false / OS_INSECURE).
TransportOptions transport_options_for(const CloudConfig& cloud);

// One libcurl easy handle per call; safe to use from several threads.
class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(TransportOptions options = {});
  // Sends request; transport failures name the curl error, never the request body.
  Result<HttpResponse> send(const HttpRequest& request) override;
  Result<HttpResponse> send_file(const HttpRequest& request, const HttpUpload& upload) override;
  // The options in force.
  const TransportOptions& options() const { return options_; }

 private:
  // Both sends; upload may be null.
  Result<HttpResponse> perform(const HttpRequest& request, const HttpUpload* upload);

  // Fixed at construction.
  TransportOptions options_;
};

}  // namespace migprobe::control
