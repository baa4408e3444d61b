// The Neutron client against a real HTTP server on 127.0.0.1 that answers with the project's
// Neutron fixtures: the network found by name, a security group created with the fixture's
// body and read back with its rules, a rule for the probe's UDP flow from the probe's address
// (the fixture's body), a duplicate rule's 409 with Neutron's message, delete.
#include "control/neutron_client.h"

#include <gtest/gtest.h>

#include "control/curl_transport.h"
#include "fixture_cloud.h"

namespace migprobe::control {
namespace {

using nlohmann::json;
using testing::fixture;
using testing::fixture_json;
using testing::ReceivedRequest;
using testing::Reply;

const std::string kGroup = "3c1f9a2e-5b7d-4e8f-a0b1-c2d3e4f5a6b7";

class FakeNeutron : public ::testing::Test {
 protected:
  Reply route(const ReceivedRequest& r) {
    const std::string path = r.path();
    if (path == "/identity/v3/auth/tokens") {
      return testing::keystone_token_reply(server.base_url(), "token-neutron");
    }
    const Reply::Headers ids = {{"x-openstack-request-id", "req-" + r.method + path}};
    if (path == "/v2.0/networks") {
      return Reply{200, fixture("neutron/networks-list-response.json"), ids};
    }
    if (path == "/v2.0/security-groups" && r.method == "POST") {
      return Reply{201, fixture("neutron/security-group-create-response.json"), ids};
    }
    if (path == "/v2.0/security-groups") {
      json list = {
          {"security_groups",
           {fixture_json("neutron/security-group-create-response.json")["security_group"]}}};
      return Reply{200, list.dump(), ids};
    }
    if (path == "/v2.0/security-group-rules" && ++rules == 1) {
      return Reply{201, fixture("neutron/security-group-rule-create-response.json"), ids};
    }
    if (path == "/v2.0/security-group-rules") {
      return Reply{409,
                   R"({"NeutronError": {"type": "SecurityGroupRuleExists", "message": )"
                   R"("Security group rule already exists. Rule id is 8c3d.", "detail": ""}})",
                   ids};
    }
    if (path == "/v2.0/security-groups/" + kGroup && r.method == "DELETE") {
      return Reply{204, "", ids};
    }
    return Reply{404, R"({"NeutronError": {"type": "NotFound", "message": "no", "detail": ""}})",
                 ids};
  }

  std::vector<ReceivedRequest> neutron_requests() const {
    std::vector<ReceivedRequest> out;
    for (const auto& r : server.requests()) {
      if (r.path().rfind("/v2.0/", 0) == 0) out.push_back(r);
    }
    return out;
  }

  int rules = 0;
  testing::TestHttpServer server{[this](const ReceivedRequest& r) { return route(r); }};
  CurlTransport transport;
  Session session{transport, testing::fixture_password_config(server.base_url()),
                  testing::test_session_options()};
  NeutronClient neutron{session};
};

TEST_F(FakeNeutron, NetworkByName) {
  auto nets = neutron.find_networks("bench-net");
  ASSERT_TRUE(nets.ok()) << nets.error().to_string();
  ASSERT_EQ(nets->value.size(), 1U);
  EXPECT_EQ(nets->value[0].name, "bench-net");
  EXPECT_EQ(nets->value[0].subnets.size(), 1U);
  EXPECT_EQ(neutron_requests()[0].query("name"), "bench-net");
}

TEST_F(FakeNeutron, SecurityGroupWithTheProbesRules) {
  const json want = fixture_json("neutron/security-group-create-request.json");
  auto sg = neutron.create_security_group(want["security_group"]["name"],
                                          want["security_group"]["description"]);
  ASSERT_TRUE(sg.ok()) << sg.error().to_string();
  EXPECT_EQ(sg->value.id, kGroup);
  ASSERT_EQ(sg->value.rules.size(), 2U);
  EXPECT_EQ(sg->value.rules[0].direction, "egress");
  EXPECT_FALSE(sg->value.rules[0].port_range_min.has_value());
  EXPECT_EQ(json::parse(neutron_requests()[0].body), want);

  const json rule_want = fixture_json("neutron/security-group-rule-create-request.json");
  SecurityGroupRule rule;
  rule.security_group_id = kGroup;
  rule.protocol = "udp";
  rule.port_range_min = 7077;
  rule.port_range_max = 7077;
  rule.remote_ip_prefix = "198.51.100.20/32";
  auto created = neutron.create_rule(rule);
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_EQ(created->value.port_range_max, 7077);
  EXPECT_EQ(created->value.remote_ip_prefix, "198.51.100.20/32");
  EXPECT_EQ(json::parse(neutron_requests()[1].body), rule_want);
  // ICMP from anywhere: no ports, no prefix, sent as nulls.
  SecurityGroupRule icmp;
  icmp.security_group_id = kGroup;
  icmp.protocol = "icmp";
  const json icmp_body = json::parse(security_group_rule_create_body(icmp));
  EXPECT_TRUE(icmp_body["security_group_rule"]["port_range_min"].is_null());
  EXPECT_TRUE(icmp_body["security_group_rule"]["remote_ip_prefix"].is_null());
  // The same rule again: Neutron's 409 with its message.
  auto again = neutron.create_rule(rule);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().http_status, 409);
  EXPECT_NE(again.error().message.find("already exists"), std::string::npos)
      << again.error().message;

  auto found = neutron.find_security_groups("migprobe-c1");
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  ASSERT_EQ(found->value.size(), 1U);
  EXPECT_EQ(found->value[0].name, "migprobe-c1");
  EXPECT_TRUE(neutron.delete_security_group(kGroup).ok());
  auto missing = neutron.delete_security_group("other");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().http_status, 404);
}

TEST(NeutronParse, WrongShapesAreParseErrors) {
  EXPECT_FALSE(parse_networks(R"({"networks": {}})").ok());
  EXPECT_FALSE(parse_security_group("[]").ok());
  EXPECT_FALSE(parse_security_group_rule(R"({"security_group_rule": 3})").ok());
  auto rule = parse_security_group_rule(
      R"({"security_group_rule": {"port_range_min": "80", "port_range_max": null}})");
  ASSERT_TRUE(rule.ok());
  EXPECT_EQ(rule->port_range_min, 80);
  EXPECT_FALSE(rule->port_range_max.has_value());
}

}  // namespace
}  // namespace migprobe::control
