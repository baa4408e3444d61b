#pragma once
// An authenticated Keystone v3 session: gets a token, refreshes it before it expires and
// after a 401 (the failed call is sent once more), finds service endpoints in the catalog,
// and retries calls that are safe to repeat on 5xx and connection errors with exponential
// backoff. Every Error it returns has had the credentials scrubbed out.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/cloud_config.h"
#include "control/http_transport.h"
#include "control/keystone_auth.h"
#include "control/result.h"

namespace migprobe::control {

// When and how often a call that is safe to repeat is retried.
struct RetryPolicy {
  // Attempts in all, the first included.
  int max_attempts = 4;
  // Wait before the first retry; doubled (times multiplier) each time up to max_delay.
  std::chrono::milliseconds initial_delay{250};
  double multiplier = 2.0;
  std::chrono::milliseconds max_delay{8000};
};

// Session tuning; the defaults suit a real cloud.
struct SessionOptions {
  RetryPolicy retry;
  // A token is renewed this long before its expires_at at most, and a quarter of its
  // lifetime before it at most: tokens that live 60 s are renewed after 45 s, not before
  // every call.
  std::chrono::seconds refresh_margin{120};
  // The clock used to judge expiry; tests pin it.
  std::function<std::chrono::system_clock::time_point()> now = [] {
    return std::chrono::system_clock::now();
  };
  // How the session waits between retries; tests make it instant.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// One call to a service from the catalog.
struct ServiceCall {
  // Catalog service type, e.g. "compute".
  std::string service_type;
  std::string method = "GET";
  // Appended to the endpoint URL ("/servers/detail?host=x"); an absolute http(s) URL is
  // used as it is.
  std::string path;
  // JSON body, empty for none.
  std::string body;
  // Extra headers (microversion headers, for instance).
  std::vector<std::pair<std::string, std::string>> headers;
  // True when sending the call twice does no harm (GET, and DELETE of a thing): only then
  // are 5xx answers and connection errors retried.
  bool idempotent = false;
};

// A Keystone-authenticated session over a transport. Thread-safe.
class Session {
 public:
  // transport must outlive the session.
  Session(HttpTransport& transport, CloudConfig config, SessionOptions options = {});

  // Authenticates now (or reuses a token that is still fresh).
  Status authenticate();
  // The endpoint URL of service_type for the configured interface and region, with no
  // trailing slash.
  Result<std::string> endpoint(const std::string& service_type);
  // Sends call with the token. A 2xx or 3xx response is returned; anything else is an Error
  // with status, API message and request id.
  Result<HttpResponse> call(const ServiceCall& call, const HttpUpload* upload = nullptr);
  // Sends a request to an explicit URL with the token (version documents and the like).
  Result<HttpResponse> call_url(const std::string& url, const ServiceCall& call,
                                const HttpUpload* upload = nullptr);
  // The project id of the current token, empty when unscoped or not yet authenticated.
  std::string project_id();
  // Forgets the token so that the next call authenticates again.
  void invalidate();
  // How many times the session has authenticated (tests check refreshes).
  int auth_count() const;

 private:
  // Returns a fresh token id, authenticating when needed. Caller holds no lock.
  Result<std::string> fresh_token();
  // Sends request; when idempotent, again after a 5xx or no answer, with backoff.
  Result<HttpResponse> send_with_retries(const HttpRequest& request, bool idempotent);
  // error with every credential replaced by "***".
  Error scrubbed(Error error) const;

  HttpTransport& transport_;
  const CloudConfig config_;
  const SessionOptions options_;
  // Guards token_ and auth_count_; held while authenticating so only one thread does it.
  mutable std::mutex mutex_;
  // The current token, none before the first authentication or after invalidate().
  std::optional<Token> token_;
  // When the current token is renewed.
  std::chrono::system_clock::time_point refresh_at_{};
  int auth_count_ = 0;
};

}  // namespace migprobe::control
