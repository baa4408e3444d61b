#pragma once
// Keystone v3 pieces with no state: the POST /v3/auth/tokens body for password and
// application-credential auth, reading the token response (X-Subject-Token, expires_at,
// catalog), and finding an endpoint in the catalog.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "control/cloud_config.h"
#include "control/http_transport.h"
#include "control/result.h"

namespace migprobe::control {

// A token as Keystone issued it.
struct Token {
  // The X-Subject-Token value. A credential: never logged.
  std::string id;
  // expires_at from the body.
  std::chrono::system_clock::time_point expires_at;
  // issued_at from the body; the epoch when Keystone gave none.
  std::chrono::system_clock::time_point issued_at{};
  // token.catalog; empty for an unscoped token.
  nlohmann::json catalog = nlohmann::json::array();
  // token.project.id, empty when not project-scoped.
  std::string project_id;
  // x-openstack-request-id of the auth response.
  std::string request_id;
};

// The Keystone v3 base URL for auth_url: adds "/v3" unless it is already there.
std::string keystone_v3_url(const std::string& auth_url);

// The body of POST /v3/auth/tokens for config: password (user by id, or by name with its
// domain; project scope by id or by name with its domain; unscoped without a project) or
// application credential (by id, or by name with the user).
nlohmann::json auth_request_body(const CloudConfig& config);

// Reads a 201 from POST /v3/auth/tokens.
Result<Token> parse_token_response(const HttpResponse& response);

// Parses an ISO 8601 UTC time as Keystone and Nova write it ("2015-11-07T02:58:43.578887Z",
// with or without fraction and zone).
Result<std::chrono::system_clock::time_point> parse_iso8601(const std::string& text);

// The URL of the endpoint of service_type with interface ("public", "internal", "admin";
// "publicURL" style accepted) in region (any when empty).
Result<std::string> find_endpoint(const nlohmann::json& catalog, const std::string& service_type,
                                  const std::string& interface, const std::string& region);

}  // namespace migprobe::control
