// Shared fixtures of the control tests.
#include "fixture_cloud.h"

#include <gtest/gtest.h>

#include <cctype>

#include "control/keystone_auth.h"

namespace migprobe::control::testing {

std::string fixture(const std::string& relative_path) {
  return read_file(std::string(MIGPROBE_FIXTURES_DIR) + "/" + relative_path);
}

nlohmann::json fixture_json(const std::string& relative_path) {
  nlohmann::json doc = nlohmann::json::parse(fixture(relative_path), nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << relative_path << " is not JSON";
  return doc;
}

CloudConfig fixture_password_config(const std::string& base_url) {
  CloudConfig c;
  c.auth_url = base_url + "/identity";
  c.user_id = kTestUserId;
  c.password = kTestPassword;
  c.project_name = "migprobe";
  c.project_domain_id = "default";
  c.region_name = "RegionOne";
  return c;
}

std::string fixture_token_body(const std::string& base_url) {
  std::string body = fixture("keystone/password-project-scoped-response.json");
  const std::string host = "http://198.51.100.7:";
  for (size_t at = body.find(host); at != std::string::npos; at = body.find(host, at)) {
    size_t port_end = at + host.size();
    while (port_end < body.size() && std::isdigit(static_cast<unsigned char>(body[port_end]))) {
      ++port_end;
    }
    body.replace(at, port_end - at, base_url);
    at += base_url.size();
  }
  return body;
}

std::chrono::system_clock::time_point fixture_issued_at() {
  return parse_iso8601("2025-03-14T09:26:53.589793Z").value();
}

SessionOptions test_session_options() {
  SessionOptions options;
  options.now = [] { return fixture_issued_at(); };
  options.sleep = [](std::chrono::milliseconds) {};
  options.retry.initial_delay = std::chrono::milliseconds(1);
  return options;
}

Reply keystone_token_reply(const std::string& base_url, const std::string& token_id) {
  return Reply{201,
               fixture_token_body(base_url),
               {{"X-Subject-Token", token_id},
                {"x-openstack-request-id", "req-5b2e8c14-9f3a-4d71-b6e0-2c8a7d9f1e43"}}};
}

}  // namespace migprobe::control::testing
