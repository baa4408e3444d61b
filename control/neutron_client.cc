// Neutron v2.0 calls.
#include "control/neutron_client.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "control/json_fields.h"
#include "control/nova_requests.h"

namespace migprobe::control {
namespace {

using nlohmann::json;

std::string text(const json& j, const char* key) {
  return json_text(j, key);
}

std::optional<int> port(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int>();
  if (it->is_string()) {
    try {
      return std::stoi(it->get<std::string>());
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

SecurityGroupRule rule_of(const json& j) {
  SecurityGroupRule r;
  r.id = text(j, "id");
  r.security_group_id = text(j, "security_group_id");
  r.direction = text(j, "direction");
  r.ethertype = text(j, "ethertype");
  r.protocol = text(j, "protocol");
  r.port_range_min = port(j, "port_range_min");
  r.port_range_max = port(j, "port_range_max");
  r.remote_ip_prefix = text(j, "remote_ip_prefix");
  return r;
}

SecurityGroup group_of(const json& j) {
  SecurityGroup g;
  g.id = text(j, "id");
  g.name = text(j, "name");
  g.description = text(j, "description");
  if (auto rules = j.find("security_group_rules"); rules != j.end() && rules->is_array()) {
    for (const json& r : *rules) {
      if (r.is_object()) g.rules.push_back(rule_of(r));
    }
  }
  return g;
}

// The object at doc[key], or a kParse error naming it.
Result<json> member(const std::string& body, const char* key, bool array) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains(key) ||
      (array ? !doc[key].is_array() : !doc[key].is_object())) {
    return make_error(ErrorKind::kParse, std::string("response has no \"") + key + "\"");
  }
  return doc[key];
}

}  // namespace

std::string security_group_create_body(const std::string& name, const std::string& description) {
  return json{
      {"security_group", {{"name", name}, {"description", description}, {"stateful", true}}}}
      .dump();
}

std::string security_group_rule_create_body(const SecurityGroupRule& r) {
  json rule = {{"security_group_id", r.security_group_id},
               {"direction", r.direction},
               {"ethertype", r.ethertype}};
  rule["protocol"] = r.protocol.empty() ? json(nullptr) : json(r.protocol);
  // As strings, as the API reference's sample sends them (Neutron converts either).
  rule["port_range_min"] =
      r.port_range_min ? json(std::to_string(*r.port_range_min)) : json(nullptr);
  rule["port_range_max"] =
      r.port_range_max ? json(std::to_string(*r.port_range_max)) : json(nullptr);
  rule["remote_ip_prefix"] = r.remote_ip_prefix.empty() ? json(nullptr) : json(r.remote_ip_prefix);
  return json{{"security_group_rule", rule}}.dump();
}

Result<SecurityGroup> parse_security_group(const std::string& body) {
  auto m = member(body, "security_group", false);
  if (!m.ok()) return m.error();
  return group_of(*m);
}

Result<std::vector<SecurityGroup>> parse_security_groups(const std::string& body) {
  auto m = member(body, "security_groups", true);
  if (!m.ok()) return m.error();
  std::vector<SecurityGroup> out;
  for (const json& g : *m) {
    if (g.is_object()) out.push_back(group_of(g));
  }
  return out;
}

Result<SecurityGroupRule> parse_security_group_rule(const std::string& body) {
  auto m = member(body, "security_group_rule", false);
  if (!m.ok()) return m.error();
  return rule_of(*m);
}

Result<std::vector<Network>> parse_networks(const std::string& body) {
  auto m = member(body, "networks", true);
  if (!m.ok()) return m.error();
  std::vector<Network> out;
  for (const json& n : *m) {
    if (!n.is_object()) continue;
    Network net{text(n, "id"), text(n, "name"), text(n, "status"), {}};
    if (auto s = n.find("subnets"); s != n.end() && s->is_array()) {
      for (const json& id : *s) {
        if (id.is_string()) net.subnets.push_back(id.get<std::string>());
      }
    }
    out.push_back(std::move(net));
  }
  return out;
}

NeutronClient::NeutronClient(Session& session, std::string service_type)
    : session_(session), service_type_(std::move(service_type)) {}

Result<Traced<std::vector<Network>>> NeutronClient::find_networks(const std::string& name) {
  auto r = session_.call(
      {service_type_, "GET", "/v2.0/networks?name=" + url_encode(name), "", {}, true});
  if (!r.ok()) return r.error();
  return traced(parse_networks(r->body), *r);
}

Result<Traced<SecurityGroup>> NeutronClient::create_security_group(const std::string& name,
                                                                   const std::string& description) {
  auto r = session_.call({service_type_,
                          "POST",
                          "/v2.0/security-groups",
                          security_group_create_body(name, description),
                          {},
                          false});
  if (!r.ok()) return r.error();
  return traced(parse_security_group(r->body), *r);
}

Result<Traced<std::vector<SecurityGroup>>> NeutronClient::find_security_groups(
    const std::string& name) {
  auto r = session_.call(
      {service_type_, "GET", "/v2.0/security-groups?name=" + url_encode(name), "", {}, true});
  if (!r.ok()) return r.error();
  return traced(parse_security_groups(r->body), *r);
}

Result<Traced<SecurityGroupRule>> NeutronClient::create_rule(const SecurityGroupRule& rule) {
  auto r = session_.call({service_type_,
                          "POST",
                          "/v2.0/security-group-rules",
                          security_group_rule_create_body(rule),
                          {},
                          false});
  if (!r.ok()) return r.error();
  return traced(parse_security_group_rule(r->body), *r);
}

Result<Traced<Done>> NeutronClient::delete_security_group(const std::string& id) {
  auto r = session_.call(
      {service_type_, "DELETE", "/v2.0/security-groups/" + url_encode(id), "", {}, true});
  if (!r.ok()) return r.error();
  return Traced<Done>{Done{}, r->request_id};
}

Result<Traced<Done>> NeutronClient::delete_rule(const std::string& id) {
  auto r = session_.call(
      {service_type_, "DELETE", "/v2.0/security-group-rules/" + url_encode(id), "", {}, true});
  if (!r.ok()) return r.error();
  return Traced<Done>{Done{}, r->request_id};
}

}  // namespace migprobe::control
