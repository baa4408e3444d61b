#pragma once
// What the control tests share: where the OpenStack API samples are (a compile definition
// set by tests/control/CMakeLists.txt, relative to the repository), and a Keystone that
// answers with the sample token whose catalog points at the test server.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "control/cloud_config.h"
#include "control/session.h"
#include "http_test_server.h"

namespace migprobe::control::testing {

// The contents of a file under openstack-api-samples/, e.g. "nova/versions/...json".
std::string sample(const std::string& relative_path);
// The same, parsed.
nlohmann::json sample_json(const std::string& relative_path);

// The password and secret the tests use; they must never show up in returned text.
inline constexpr const char* kTestPassword = "devstacker";
inline constexpr const char* kTestSecret = "rEaqvJka48mpv";

// Password credentials for the sample user and project, against base_url.
CloudConfig sample_password_config(const std::string& base_url);

// keystone/admin/auth-password-project-scoped-response.json with every catalog URL's
// "http://23.253.248.171:<port>" replaced by base_url, so the compute endpoint is
// base_url + "/v2.1/a6944d763bf64ee6a275f1263fae0352".
std::string sample_token_body(const std::string& base_url);

// The token's issued_at: the tests' clock, so that the sample token is fresh.
std::chrono::system_clock::time_point sample_issued_at();

// Session options for tests: clock pinned at sample_issued_at(), no real sleeping.
SessionOptions test_session_options();

// The reply to POST /v3/auth/tokens: 201, X-Subject-Token, the sample body.
Reply keystone_token_reply(const std::string& base_url, const std::string& token_id);

}  // namespace migprobe::control::testing
