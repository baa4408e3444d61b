// Keystone v3 request bodies and token responses, checked against the project's Keystone
// fixtures (tests/fixtures/openstack/keystone).
#include <gtest/gtest.h>

#include "control/curl_transport.h"
#include "control/keystone_auth.h"
#include "fixture_cloud.h"

namespace migprobe::control {
namespace {

using testing::fixture_json;
using testing::kTestPassword;
using testing::kTestProjectId;
using testing::kTestSecret;
using testing::kTestUserId;

TEST(KeystoneBody, PasswordUserIdProjectNameMatchesFixture) {
  CloudConfig c;
  c.user_id = kTestUserId;
  c.password = kTestPassword;
  c.project_name = "migprobe";
  c.project_domain_id = "default";
  EXPECT_EQ(auth_request_body(c), fixture_json("keystone/password-project-name-request.json"));
}

TEST(KeystoneBody, PasswordUserIdProjectIdMatchesFixture) {
  CloudConfig c;
  c.user_id = kTestUserId;
  c.password = kTestPassword;
  c.project_id = kTestProjectId;
  c.project_name = "ignored";  // the id wins
  EXPECT_EQ(auth_request_body(c), fixture_json("keystone/password-project-id-request.json"));
}

TEST(KeystoneBody, PasswordUserNameWithDomainUnscopedMatchesFixture) {
  CloudConfig c;
  c.username = "probe-admin";
  c.user_domain_name = "Default";
  c.password = kTestPassword;
  EXPECT_EQ(auth_request_body(c), fixture_json("keystone/password-unscoped-domain-request.json"));
}

TEST(KeystoneBody, ProjectByNameWithDomainName) {
  CloudConfig c;
  c.username = "probe-admin";
  c.user_domain_name = "Default";
  c.password = kTestPassword;
  c.project_name = "demo";
  c.project_domain_name = "Default";
  nlohmann::json body = auth_request_body(c);
  EXPECT_EQ(body["auth"]["scope"]["project"]["name"], "demo");
  EXPECT_EQ(body["auth"]["scope"]["project"]["domain"]["name"], "Default");
}

TEST(KeystoneBody, ApplicationCredentialByIdMatchesFixture) {
  CloudConfig c;
  c.application_credential_id = "9362ce3d64d4b60cf792ad830d9c1b1b";
  c.application_credential_secret = kTestSecret;
  c.project_name = "ignored";  // an application credential carries its own scope
  EXPECT_EQ(auth_request_body(c), fixture_json("keystone/application-credential-id-request.json"));
}

TEST(KeystoneBody, ApplicationCredentialByNameMatchesFixture) {
  CloudConfig c;
  c.auth_type = "v3applicationcredential";
  c.application_credential_name = "migprobe-evacuate";
  c.application_credential_secret = kTestSecret;
  c.user_id = kTestUserId;
  EXPECT_EQ(auth_request_body(c),
            fixture_json("keystone/application-credential-name-request.json"));
}

TEST(KeystoneUrl, AddsV3Once) {
  EXPECT_EQ(keystone_v3_url("https://k:5000"), "https://k:5000/v3");
  EXPECT_EQ(keystone_v3_url("https://k:5000/v3/"), "https://k:5000/v3");
  EXPECT_EQ(keystone_v3_url("https://k/identity"), "https://k/identity/v3");
}

TEST(Iso8601, ParsesFractionAndZone) {
  auto t = parse_iso8601("2015-11-07T02:58:43.578887Z");
  ASSERT_TRUE(t.ok());
  auto since_epoch = std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch());
  EXPECT_EQ(since_epoch.count(), 1446865123578887LL);
  EXPECT_TRUE(parse_iso8601("2016-01-29T13:42:02").ok());
  EXPECT_FALSE(parse_iso8601("yesterday").ok());
}

// The fixture token responses, received over real HTTP as Keystone sends them.
TEST(KeystoneToken, ParsesFixtureResponsesOverHttp) {
  struct Case {
    const char* path;
    const char* project_id;
    size_t services;
  };
  for (const Case& c : {Case{"keystone/password-project-scoped-response.json", kTestProjectId, 5},
                        Case{"keystone/application-credential-response.json",
                             "dc65b16e6fc40e9615740a627412edca", 1}}) {
    testing::TestHttpServer server([&](const testing::ReceivedRequest&) {
      return testing::Reply{201,
                            testing::fixture(c.path),
                            {{"X-Subject-Token", "7f3d2a91c5e84b06a1d9e2f4b8c6a0d3"},
                             {"x-openstack-request-id", "req-5b2e8c14"}}};
    });
    CurlTransport transport;
    auto response = transport.send({.method = "POST",
                                    .url = server.base_url() + "/v3/auth/tokens",
                                    .headers = {},
                                    .body = "{}"});
    ASSERT_TRUE(response.ok()) << response.error().to_string();
    auto token = parse_token_response(*response);
    ASSERT_TRUE(token.ok()) << c.path << ": " << token.error().to_string();
    EXPECT_EQ(token->id, "7f3d2a91c5e84b06a1d9e2f4b8c6a0d3");
    EXPECT_EQ(token->request_id, "req-5b2e8c14");
    EXPECT_EQ(token->project_id, c.project_id) << c.path;
    nlohmann::json doc = testing::fixture_json(c.path);
    EXPECT_EQ(token->expires_at,
              parse_iso8601(doc["token"]["expires_at"].get<std::string>()).value());
    EXPECT_EQ(token->catalog, doc["token"]["catalog"]);
    EXPECT_EQ(token->catalog.size(), c.services) << c.path;
  }
}

TEST(KeystoneToken, MissingSubjectTokenIsAnError) {
  HttpResponse r;
  r.status = 201;
  r.body = testing::fixture("keystone/password-project-scoped-response.json");
  auto token = parse_token_response(r);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().kind, ErrorKind::kParse);
}

TEST(KeystoneCatalog, FindsComputeByInterfaceAndRegion) {
  nlohmann::json catalog =
      fixture_json("keystone/password-project-scoped-response.json")["token"]["catalog"];
  auto url = find_endpoint(catalog, "compute", "public", "RegionOne");
  ASSERT_TRUE(url.ok());
  // Not the compute_legacy service listed before it.
  EXPECT_EQ(*url, "http://198.51.100.7:8774/v2.1/" + std::string(kTestProjectId));
  // The v2 spelling of the interface; the trailing slash is dropped.
  EXPECT_EQ(find_endpoint(catalog, "network", "internalURL", "").value(),
            "http://198.51.100.7:9696");
  EXPECT_EQ(find_endpoint(catalog, "identity", "admin", "").value(),
            "http://198.51.100.7/identity-admin");
  EXPECT_FALSE(find_endpoint(catalog, "compute", "public", "RegionTwo").ok());
  EXPECT_FALSE(find_endpoint(catalog, "image", "admin", "").ok());
  EXPECT_FALSE(find_endpoint(catalog, "placement", "public", "").ok());
}

}  // namespace
}  // namespace migprobe::control
