// Keystone v3 auth bodies, token responses and catalog lookup.
#include "control/keystone_auth.h"

#include <cstdio>
#include <ctime>

#include "control/api_error.h"

namespace migprobe::control {
namespace {

using nlohmann::json;

// {"id": ...} or {"name": ...}, the way Keystone names a domain.
json domain_ref(const std::string& id, const std::string& name) {
  if (!id.empty()) return json{{"id", id}};
  return json{{"name", name}};
}

// A user by id, or by name within its domain.
json user_ref(const CloudConfig& c) {
  if (!c.user_id.empty()) return json{{"id", c.user_id}};
  json user{{"name", c.username}};
  if (!c.user_domain_id.empty() || !c.user_domain_name.empty()) {
    user["domain"] = domain_ref(c.user_domain_id, c.user_domain_name);
  }
  return user;
}

// "publicURL" (the v2 spelling) -> "public"; "" -> "public".
std::string normalize_interface(std::string interface) {
  const std::string suffix = "URL";
  if (interface.size() > suffix.size() &&
      interface.compare(interface.size() - suffix.size(), suffix.size(), suffix) == 0) {
    interface.resize(interface.size() - suffix.size());
  }
  return interface.empty() ? "public" : interface;
}

}  // namespace

std::string keystone_v3_url(const std::string& auth_url) {
  std::string url = auth_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v3") == 0) return url;
  return url + "/v3";
}

json auth_request_body(const CloudConfig& c) {
  json identity;
  json auth;
  if (c.uses_application_credential()) {
    json cred{{"secret", c.application_credential_secret}};
    if (!c.application_credential_id.empty()) {
      cred["id"] = c.application_credential_id;
    } else {
      cred["name"] = c.application_credential_name;
      cred["user"] = user_ref(c);
    }
    identity = json{{"methods", {"application_credential"}}, {"application_credential", cred}};
    auth["identity"] = identity;
    // An application credential carries its own scope; Keystone rejects another one.
    return json{{"auth", auth}};
  }
  json user = user_ref(c);
  user["password"] = c.password;
  identity = json{{"methods", {"password"}}, {"password", {{"user", user}}}};
  auth["identity"] = identity;
  if (!c.project_id.empty()) {
    auth["scope"] = json{{"project", {{"id", c.project_id}}}};
  } else if (!c.project_name.empty()) {
    auth["scope"] = json{{"project",
                          {{"name", c.project_name},
                           {"domain", domain_ref(c.project_domain_id, c.project_domain_name)}}}};
  }
  return json{{"auth", auth}};
}

Result<std::chrono::system_clock::time_point> parse_iso8601(const std::string& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6) {
    return make_error(ErrorKind::kParse, "not an ISO 8601 time: '" + text + "'");
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  auto point = std::chrono::system_clock::from_time_t(timegm(&tm));
  size_t at = static_cast<size_t>(consumed);
  if (at < text.size() && text[at] == '.') {
    long long micros = 0;
    int digits = 0;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits) {
      if (digits < 6) micros = micros * 10 + (text[at] - '0');
    }
    for (int d = digits; d < 6; ++d) micros *= 10;
    point += std::chrono::microseconds(micros);
  }
  return point;
}

Result<Token> parse_token_response(const HttpResponse& response) {
  Token token;
  token.request_id = response.request_id;
  token.id = response.header("x-subject-token");
  if (token.id.empty()) {
    return make_error(ErrorKind::kParse, "Keystone response has no X-Subject-Token",
                      response.status, response.request_id);
  }
  json doc = json::parse(response.body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("token") || !doc["token"].is_object()) {
    return make_error(ErrorKind::kParse, "Keystone response has no token object", response.status,
                      response.request_id);
  }
  const json& t = doc["token"];
  if (!t.contains("expires_at") || !t["expires_at"].is_string()) {
    return make_error(ErrorKind::kParse, "Keystone token has no expires_at", response.status,
                      response.request_id);
  }
  auto expires = parse_iso8601(t["expires_at"].get<std::string>());
  if (!expires.ok()) return expires.error();
  token.expires_at = *expires;
  if (t.contains("issued_at") && t["issued_at"].is_string()) {
    auto issued = parse_iso8601(t["issued_at"].get<std::string>());
    if (!issued.ok()) return issued.error();
    token.issued_at = *issued;
  }
  if (t.contains("catalog") && t["catalog"].is_array()) token.catalog = t["catalog"];
  if (t.contains("project") && t["project"].is_object() && t["project"].contains("id")) {
    token.project_id = t["project"]["id"].get<std::string>();
  }
  return token;
}

Result<std::string> find_endpoint(const json& catalog, const std::string& service_type,
                                  const std::string& interface, const std::string& region) {
  const std::string wanted = normalize_interface(interface);
  if (!catalog.is_array()) return make_error(ErrorKind::kConfig, "the token has no catalog");
  for (const json& service : catalog) {
    if (!service.is_object() || service.value("type", "") != service_type) continue;
    if (!service.contains("endpoints") || !service["endpoints"].is_array()) continue;
    for (const json& endpoint : service["endpoints"]) {
      if (!endpoint.is_object()) continue;
      if (normalize_interface(endpoint.value("interface", "")) != wanted) continue;
      if (!region.empty() && endpoint.value("region_id", "") != region &&
          endpoint.value("region", "") != region) {
        continue;
      }
      std::string url = endpoint.value("url", "");
      while (!url.empty() && url.back() == '/') url.pop_back();
      if (!url.empty()) return url;
    }
  }
  return make_error(ErrorKind::kConfig, "no " + wanted + " endpoint for service '" + service_type +
                                            "'" + (region.empty() ? "" : " in region " + region));
}

}  // namespace migprobe::control
