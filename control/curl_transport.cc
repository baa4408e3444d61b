// libcurl implementation of HttpTransport.
#include "control/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace migprobe::control {
namespace {

// s in lower case (header names are case-insensitive).
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// s without surrounding blanks and line ends.
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// libcurl write callback: appends to the response body.
size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// libcurl header callback: one header line into response->headers.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after a 100 Continue or a redirect): start over.
    response->headers.clear();
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    response->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * count;
}

// libcurl read callback: the next piece of the streamed body file.
size_t on_read(char* data, size_t size, size_t count, void* user) {
  std::FILE* f = static_cast<std::FILE*>(user);
  const size_t n = std::fread(data, 1, size * count, f);
  if (n == 0 && std::ferror(f)) return CURL_READFUNC_ABORT;
  return n;
}

// libcurl progress callback for a streamed body.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t total, curl_off_t sent) {
  const auto* upload = static_cast<const HttpUpload*>(user);
  if (upload->on_progress) {
    upload->on_progress(static_cast<uint64_t>(sent), static_cast<uint64_t>(total));
  }
  return 0;
}

// curl_global_init, once per process, before the first handle.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

TransportOptions transport_options_for(const CloudConfig& cloud) {
  TransportOptions options;
  options.verify_tls = !cloud.insecure;
  options.ca_bundle = cloud.cacert;
  return options;
}

CurlTransport::CurlTransport(TransportOptions options) : options_(std::move(options)) {
  global_init();
}

Result<HttpResponse> CurlTransport::send(const HttpRequest& request) {
  return perform(request, nullptr);
}

Result<HttpResponse> CurlTransport::send_file(const HttpRequest& request,
                                              const HttpUpload& upload) {
  return perform(request, &upload);
}

Result<HttpResponse> CurlTransport::perform(const HttpRequest& request, const HttpUpload* upload) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return make_error(ErrorKind::kTransport, "curl_easy_init failed");
  CURL* h = curl.get();

  struct curl_slist* raw_headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    raw_headers = curl_slist_append(raw_headers, (name + ": " + value).c_str());
  }
  // libcurl adds "Expect: 100-continue" to larger POSTs; OpenStack services do not need it.
  raw_headers = curl_slist_append(raw_headers, "Expect:");
  std::unique_ptr<struct curl_slist, decltype(&curl_slist_free_all)> header_list(
      raw_headers, curl_slist_free_all);

  HttpResponse response;
  char error_text[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  const auto total_timeout =
      upload != nullptr ? std::chrono::milliseconds(0) : options_.total_timeout;
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(total_timeout.count()));
  if (total_timeout.count() == 0) {
    // No overall limit: a stalled transfer still ends.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1000L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  }
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_bundle.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(nullptr, std::fclose);
  bool has_body = !request.body.empty() || request.method == "POST" || request.method == "PUT" ||
                  request.method == "PATCH";
  if (upload != nullptr) {
    file.reset(std::fopen(upload->path.c_str(), "rb"));
    if (!file) {
      return make_error(ErrorKind::kIo,
                        "cannot read " + upload->path + ": " + std::strerror(errno));
    }
    if (std::fseek(file.get(), 0, SEEK_END) != 0) {
      return make_error(ErrorKind::kIo, "cannot read " + upload->path + ": not seekable");
    }
    const long size = std::ftell(file.get());
    std::rewind(file.get());
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, file.get());
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, upload);
  } else if (has_body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response);

  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    // The error buffer names the host and the failure, never the request body.
    std::string what = error_text[0] != '\0' ? error_text : curl_easy_strerror(rc);
    // The URL without its query: enough to say where, nothing a caller put in parameters.
    std::string where = request.url.substr(0, request.url.find('?'));
    return make_error(ErrorKind::kTransport, request.method + " " + where + ": " + what);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  response.request_id = response.header("x-openstack-request-id");
  if (response.request_id.empty()) response.request_id = response.header("x-compute-request-id");
  return response;
}

}  // namespace migprobe::control
