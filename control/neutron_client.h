#pragma once
// Neutron v2.0 calls a bootstrap makes: find the network to boot on, and a security group
// that lets the probe's flows in (created with its rules, found by name, deleted).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/result.h"
#include "control/session.h"
#include "control/traced.h"

namespace migprobe::control {

struct Network {
  std::string id;
  std::string name;
  std::string status;
  std::vector<std::string> subnets;
};

// One rule of a security group.
struct SecurityGroupRule {
  std::string id;
  std::string security_group_id;
  // "ingress" or "egress".
  std::string direction = "ingress";
  // "IPv4" or "IPv6".
  std::string ethertype = "IPv4";
  // "icmp", "tcp", "udp", ... or "" for any.
  std::string protocol;
  // Ports for tcp/udp; ICMP type and code for icmp. Unset: any.
  std::optional<int> port_range_min;
  std::optional<int> port_range_max;
  // "" for any address.
  std::string remote_ip_prefix;
};

struct SecurityGroup {
  std::string id;
  std::string name;
  std::string description;
  std::vector<SecurityGroupRule> rules;
};

// The bodies of POST /v2.0/security-groups and /v2.0/security-group-rules.
std::string security_group_create_body(const std::string& name, const std::string& description);
std::string security_group_rule_create_body(const SecurityGroupRule& rule);
Result<SecurityGroup> parse_security_group(const std::string& body);
Result<std::vector<SecurityGroup>> parse_security_groups(const std::string& body);
Result<SecurityGroupRule> parse_security_group_rule(const std::string& body);
Result<std::vector<Network>> parse_networks(const std::string& body);

class NeutronClient {
 public:
  // session must outlive the client. service_type: the catalog's ("network").
  explicit NeutronClient(Session& session, std::string service_type = "network");

  // The networks named name (GET /v2.0/networks?name=).
  Result<Traced<std::vector<Network>>> find_networks(const std::string& name);
  Result<Traced<SecurityGroup>> create_security_group(const std::string& name,
                                                      const std::string& description);
  // The groups named name (GET /v2.0/security-groups?name=).
  Result<Traced<std::vector<SecurityGroup>>> find_security_groups(const std::string& name);
  // POST a rule (rule.security_group_id names its group). Never retried (409 when the same
  // rule exists).
  Result<Traced<SecurityGroupRule>> create_rule(const SecurityGroupRule& rule);
  Result<Traced<Done>> delete_security_group(const std::string& id);
  // DELETE /v2.0/security-group-rules/{id}.
  Result<Traced<Done>> delete_rule(const std::string& id);

 private:
  Session& session_;
  const std::string service_type_;
};

}  // namespace migprobe::control
