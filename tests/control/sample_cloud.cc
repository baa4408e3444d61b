// Shared fixtures of the control tests.
#include "sample_cloud.h"

#include <gtest/gtest.h>

#include <cctype>

#include "control/keystone_auth.h"

namespace migprobe::control::testing {

std::string sample(const std::string& relative_path) {
  return read_file(std::string(MIGPROBE_API_SAMPLES_DIR) + "/" + relative_path);
}

nlohmann::json sample_json(const std::string& relative_path) {
  nlohmann::json doc = nlohmann::json::parse(sample(relative_path), nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << relative_path << " is not JSON";
  return doc;
}

CloudConfig sample_password_config(const std::string& base_url) {
  CloudConfig c;
  c.auth_url = base_url + "/identity";
  c.user_id = "ee4dfb6e5540447cb3741905149d9b6e";
  c.password = kTestPassword;
  c.project_name = "admin";
  c.project_domain_id = "default";
  c.region_name = "RegionOne";
  return c;
}

std::string sample_token_body(const std::string& base_url) {
  std::string body = sample("keystone/admin/auth-password-project-scoped-response.json");
  const std::string host = "http://23.253.248.171:";
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

std::chrono::system_clock::time_point sample_issued_at() {
  return parse_iso8601("2015-11-07T01:58:43.578929Z").value();
}

SessionOptions test_session_options() {
  SessionOptions options;
  options.now = [] { return sample_issued_at(); };
  options.sleep = [](std::chrono::milliseconds) {};
  options.retry.initial_delay = std::chrono::milliseconds(1);
  return options;
}

Reply keystone_token_reply(const std::string& base_url, const std::string& token_id) {
  return Reply{201,
               sample_token_body(base_url),
               {{"X-Subject-Token", token_id},
                {"x-openstack-request-id", "req-f2f3f6ca-e342-4cd8-bc12-71a5436ef5fc"}}};
}

}  // namespace migprobe::control::testing
