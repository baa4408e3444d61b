// Keystone v3 request bodies and token responses, checked against the Keystone samples.
#include <gtest/gtest.h>

#include "control/curl_transport.h"
#include "control/keystone_auth.h"
#include "sample_cloud.h"

namespace migprobe::control {
namespace {

using testing::sample_json;

TEST(KeystoneBody, PasswordUserIdProjectNameMatchesSample) {
  CloudConfig c;
  c.user_id = "ee4dfb6e5540447cb3741905149d9b6e";
  c.password = "devstacker";
  c.project_name = "admin";
  c.project_domain_id = "default";
  EXPECT_EQ(auth_request_body(c), sample_json("keystone/auth/requests/project-name-password.json"));
}

TEST(KeystoneBody, PasswordUserIdProjectIdMatchesSample) {
  CloudConfig c;
  c.user_id = "ee4dfb6e5540447cb3741905149d9b6e";
  c.password = "devstacker";
  c.project_id = "a6944d763bf64ee6a275f1263fae0352";
  EXPECT_EQ(auth_request_body(c), sample_json("keystone/auth/requests/project-id-password.json"));
}

TEST(KeystoneBody, PasswordUserNameWithDomainUnscopedMatchesSample) {
  CloudConfig c;
  c.username = "admin";
  c.user_domain_name = "Default";
  c.password = "devstacker";
  EXPECT_EQ(auth_request_body(c),
            sample_json("keystone/admin/auth-password-unscoped-request-with-domain.json"));
}

TEST(KeystoneBody, ProjectByNameWithDomainName) {
  CloudConfig c;
  c.username = "admin";
  c.user_domain_name = "Default";
  c.password = "devstacker";
  c.project_name = "demo";
  c.project_domain_name = "Default";
  nlohmann::json body = auth_request_body(c);
  EXPECT_EQ(body["auth"]["scope"]["project"]["name"], "demo");
  EXPECT_EQ(body["auth"]["scope"]["project"]["domain"]["name"], "Default");
}

TEST(KeystoneBody, ApplicationCredentialByIdMatchesSample) {
  CloudConfig c;
  c.application_credential_id = "423f19a4ac1e4f48bbb4180756e6eb6c";
  c.application_credential_secret = "rEaqvJka48mpv";
  c.project_name = "ignored";  // an application credential carries its own scope
  EXPECT_EQ(auth_request_body(c),
            sample_json("keystone/admin/auth-application-credential-id-request.json"));
}

TEST(KeystoneBody, ApplicationCredentialByNameMatchesSample) {
  CloudConfig c;
  c.auth_type = "v3applicationcredential";
  c.application_credential_name = "monitoring";
  c.application_credential_secret = "rEaqvJka48mpv";
  c.user_id = "423f19a4ac1e4f48bbb4180756e6eb6c";
  EXPECT_EQ(auth_request_body(c),
            sample_json("keystone/admin/auth-application-credential-name-request.json"));
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

// The samples' token responses, received over real HTTP as Keystone sends them.
TEST(KeystoneToken, ParsesSampleResponsesOverHttp) {
  for (const char* path : {"keystone/admin/auth-password-project-scoped-response.json",
                           "keystone/auth/responses/project-scoped-password.json",
                           "keystone/admin/auth-application-credential-response.json"}) {
    testing::TestHttpServer server([&](const testing::ReceivedRequest&) {
      return testing::Reply{201,
                            testing::sample(path),
                            {{"X-Subject-Token", "ffe47524401e4d61adc7310f7e5b6191"},
                             {"x-openstack-request-id", "req-f2f3f6ca"}}};
    });
    CurlTransport transport;
    auto response = transport.send({"POST", server.base_url() + "/v3/auth/tokens", {}, "{}"});
    ASSERT_TRUE(response.ok()) << response.error().to_string();
    auto token = parse_token_response(*response);
    ASSERT_TRUE(token.ok()) << path << ": " << token.error().to_string();
    EXPECT_EQ(token->id, "ffe47524401e4d61adc7310f7e5b6191");
    EXPECT_EQ(token->request_id, "req-f2f3f6ca");
    nlohmann::json doc = testing::sample_json(path);
    EXPECT_EQ(token->expires_at,
              parse_iso8601(doc["token"]["expires_at"].get<std::string>()).value());
    EXPECT_EQ(token->catalog, doc["token"]["catalog"]);
  }
}

TEST(KeystoneToken, MissingSubjectTokenIsAnError) {
  HttpResponse r;
  r.status = 201;
  r.body = testing::sample("keystone/auth/responses/project-scoped-password.json");
  auto token = parse_token_response(r);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().kind, ErrorKind::kParse);
}

TEST(KeystoneCatalog, FindsComputeByInterfaceAndRegion) {
  nlohmann::json catalog =
      sample_json("keystone/admin/auth-password-project-scoped-response.json")["token"]["catalog"];
  auto url = find_endpoint(catalog, "compute", "public", "RegionOne");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, "http://23.253.248.171:8774/v2.1/a6944d763bf64ee6a275f1263fae0352");
  EXPECT_EQ(find_endpoint(catalog, "network", "internalURL", "").value(),
            "http://23.253.248.171:9696");
  EXPECT_EQ(find_endpoint(catalog, "identity", "admin", "").value(),
            "http://example.com/identity_v2_admin/v2.0");
  EXPECT_FALSE(find_endpoint(catalog, "compute", "public", "RegionTwo").ok());
  EXPECT_FALSE(find_endpoint(catalog, "placement", "public", "").ok());
}

}  // namespace
}  // namespace migprobe::control
