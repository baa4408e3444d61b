#pragma once
// What the control tests share: the project's own OpenStack fixtures (request and response
// bodies under tests/fixtures/openstack, in the shapes of the published API reference; the
// compile definition MIGPROBE_FIXTURES_DIR from tests/control/CMakeLists.txt points there),
// and a Keystone that answers with the fixture token whose catalog points at the test
// server.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "control/cloud_config.h"
#include "control/session.h"
#include "http_test_server.h"

namespace migprobe::control::testing {

// The contents of a file under tests/fixtures/openstack/, e.g. "nova/2.96/server.json".
std::string fixture(const std::string& relative_path);
// The same, parsed.
nlohmann::json fixture_json(const std::string& relative_path);

// The user, project and secrets of the fixtures; the password and secret must never show
// up in returned text.
inline constexpr const char* kTestUserId = "421683ca813022318bf7eb08cbd7b5a3";
inline constexpr const char* kTestProjectId = "d1a3f7e17a0504788f9999aa740ff3ec";
inline constexpr const char* kTestPassword = "lab-probe-pw-7c1f";
inline constexpr const char* kTestSecret = "rN3uIp8P-E64zdqdpob4gg";

// Password credentials for the fixture user and project (by name), against base_url: the
// body keystone/password-project-name-request.json.
CloudConfig fixture_password_config(const std::string& base_url);

// keystone/password-project-scoped-response.json with every catalog URL's
// "http://198.51.100.7:<port>" replaced by base_url, so the compute endpoint is
// base_url + "/v2.1/" + kTestProjectId. URLs without a port (identity) stay as they are.
std::string fixture_token_body(const std::string& base_url);

// The token's issued_at: the tests' clock, so that the fixture token is fresh.
std::chrono::system_clock::time_point fixture_issued_at();

// Session options for tests: clock pinned at fixture_issued_at(), no real sleeping.
SessionOptions test_session_options();

// The reply to POST /v3/auth/tokens: 201, X-Subject-Token, the fixture body.
Reply keystone_token_reply(const std::string& base_url, const std::string& token_id);

}  // namespace migprobe::control::testing
