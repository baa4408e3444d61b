// Error bodies of Nova and Keystone.
#include "control/api_error.h"

#include <nlohmann/json.hpp>

namespace migprobe::control {

std::string api_error_message(const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object()) {
    for (const auto& [fault, detail] : doc.items()) {
      if (detail.is_object() && detail.contains("message") && detail["message"].is_string()) {
        std::string message = detail["message"].get<std::string>();
        if (fault != "error" && !fault.empty()) return message + " (" + fault + ")";
        return message;
      }
    }
    if (doc.contains("message") && doc["message"].is_string()) return doc["message"];
  }
  constexpr size_t kExcerpt = 200;
  std::string excerpt = body.substr(0, kExcerpt);
  for (char& c : excerpt) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return excerpt.empty() ? "no error message in the response" : excerpt;
}

Error http_error(const HttpResponse& response) {
  return make_error(ErrorKind::kHttp, api_error_message(response.body), response.status,
                    response.request_id);
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "***");
      at += 3;
    }
  }
  return text;
}

Error scrub(Error error, const std::vector<std::string>& secrets) {
  error.message = scrub(std::move(error.message), secrets);
  error.request_id = scrub(std::move(error.request_id), secrets);
  return error;
}

}  // namespace migprobe::control
