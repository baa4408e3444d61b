// Keystone session: token lifetime, 401 handling and retries.
#include "control/session.h"

#include <algorithm>
#include <thread>

#include "control/api_error.h"

namespace migprobe::control {
namespace {

// True for a full http(s) URL rather than a path under an endpoint.
bool is_absolute(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

}  // namespace

Session::Session(HttpTransport& transport, CloudConfig config, SessionOptions options)
    : transport_(transport), config_(std::move(config)), options_(std::move(options)) {}

Error Session::scrubbed(Error error) const {
  return scrub(std::move(error), config_.secrets());
}

int Session::auth_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return auth_count_;
}

void Session::invalidate() {
  std::lock_guard<std::mutex> lock(mutex_);
  token_.reset();
}

std::string Session::project_id() {
  std::lock_guard<std::mutex> lock(mutex_);
  return token_ ? token_->project_id : std::string();
}

Status Session::authenticate() {
  Result<std::string> token = fresh_token();
  if (!token.ok()) return token.error();
  return Done{};
}

Result<std::string> Session::fresh_token() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (token_ && options_.now() < refresh_at_) return token_->id;
  if (Status valid = validate_cloud(config_); !valid.ok()) return scrubbed(valid.error());
  HttpRequest request;
  request.method = "POST";
  request.url = keystone_v3_url(config_.auth_url) + "/auth/tokens";
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  request.body = auth_request_body(config_).dump();
  // Token requests are safe to repeat: a second token does no harm.
  Result<HttpResponse> response = send_with_retries(request, true);
  if (!response.ok()) return scrubbed(response.error());
  if (response->status != 201 && response->status != 200) {
    Error e = http_error(*response);
    e.message = "Keystone authentication failed: " + e.message;
    return scrubbed(std::move(e));
  }
  Result<Token> token = parse_token_response(*response);
  if (!token.ok()) return scrubbed(token.error());
  ++auth_count_;
  token_ = std::move(token).value();
  // The token's lifetime from Keystone's issued_at, or from now when it gave none.
  const auto issued = token_->issued_at != std::chrono::system_clock::time_point{}
                          ? token_->issued_at
                          : options_.now();
  const auto lifetime = std::max<std::chrono::system_clock::duration>(
      token_->expires_at - issued, std::chrono::system_clock::duration::zero());
  const auto margin =
      std::min<std::chrono::system_clock::duration>(options_.refresh_margin, lifetime / 4);
  refresh_at_ = token_->expires_at - margin;
  return token_->id;
}

Result<std::string> Session::endpoint(const std::string& service_type) {
  if (Result<std::string> t = fresh_token(); !t.ok()) return t.error();
  std::lock_guard<std::mutex> lock(mutex_);
  // Another thread may have invalidated the token in between.
  if (!token_) return make_error(ErrorKind::kConfig, "token invalidated during lookup; retry");
  Result<std::string> url =
      find_endpoint(token_->catalog, service_type, config_.interface, config_.region_name);
  if (!url.ok()) return scrubbed(url.error());
  return url;
}

Result<HttpResponse> Session::send_with_retries(const HttpRequest& request, bool idempotent) {
  const RetryPolicy& retry = options_.retry;
  auto delay = retry.initial_delay;
  for (int attempt = 1;; ++attempt) {
    Result<HttpResponse> response = transport_.send(request);
    bool retriable = !response.ok() || response->status >= 500;
    if (!retriable || !idempotent || attempt >= std::max(1, retry.max_attempts)) return response;
    if (options_.sleep) {
      options_.sleep(delay);
    } else {
      std::this_thread::sleep_for(delay);
    }
    auto next = std::chrono::duration_cast<std::chrono::milliseconds>(delay * retry.multiplier);
    delay = std::min(next, retry.max_delay);
  }
}

Result<HttpResponse> Session::call(const ServiceCall& call, const HttpUpload* upload) {
  if (is_absolute(call.path)) return call_url(call.path, call, upload);
  Result<std::string> base = endpoint(call.service_type);
  if (!base.ok()) return base.error();
  std::string path = call.path;
  if (!path.empty() && path.front() != '/') path.insert(path.begin(), '/');
  return call_url(*base + path, call, upload);
}

Result<HttpResponse> Session::call_url(const std::string& url, const ServiceCall& call,
                                       const HttpUpload* upload) {
  HttpRequest request;
  request.method = call.method;
  request.url = url;
  request.body = call.body;
  request.headers = call.headers;
  request.headers.emplace_back("Accept", "application/json");
  if (upload != nullptr) {
    request.headers.emplace_back("Content-Type", "application/octet-stream");
  } else if (!call.body.empty()) {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  // One retry after a 401: the token may have been revoked or expired early.
  for (int pass = 0; pass < 2; ++pass) {
    Result<std::string> token = fresh_token();
    if (!token.ok()) return token.error();
    HttpRequest sent = request;
    sent.headers.emplace_back("X-Auth-Token", *token);
    // An upload is sent once: a failed one leaves the image queued for the caller to retry.
    Result<HttpResponse> response = upload != nullptr ? transport_.send_file(sent, *upload)
                                                      : send_with_retries(sent, call.idempotent);
    if (!response.ok()) return scrubbed(response.error());
    if (response->status == 401 && pass == 0) {
      invalidate();
      continue;
    }
    if (response->status >= 400) return scrubbed(http_error(*response));
    return response;
  }
  return make_error(ErrorKind::kHttp, "unreachable");
}

}  // namespace migprobe::control
