// Our OpenStack fixtures (tests/fixtures/openstack) against the samples the OpenStack
// projects publish with their API reference, for the same call and microversion: the same
// key structure, recursively (the keys of every object; arrays compared by their first
// element; a value's kind where both sides have one). Values are ours and are not compared.
//
// The published samples are not part of this repository. The comparison runs only when
// MIGPROBE_API_SAMPLES names a folder holding them in the projects' own layout
// (keystone/admin/..., nova/servers/v2.96/...), and is skipped with a message otherwise.
// That every fixture has its line in the table below, and that the comparison itself
// catches differences, is checked always.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "fixture_cloud.h"

namespace migprobe::control {
namespace {

using nlohmann::json;

// How a fixture is compared with its published counterpart.
enum class Compare {
  // The same keys everywhere.
  kKeys,
  // The same keys, and the server attributes Nova shows an admin on top: the published
  // samples from 2.90 on show a non-admin view, while migprobe-control runs as an admin
  // and reads OS-EXT-SRV-ATTR:host.
  kKeysAdminServer,
  // A flat object of numbers whose keys are named after the guest's devices (the
  // diagnostics before 2.48): nothing to compare key by key.
  kNumbersByDevice,
  // The same keys, and the optional fields of Glance's image create that the published
  // request leaves out (visibility, tags: the API reference documents both).
  kKeysImageCreate,
  // The same keys, but the rule's remote is an address prefix (remote_ip_prefix) where the
  // published request shows a remote group (Neutron takes one of the three).
  kKeysRuleRemotePrefix,
  // A server create request: the same keys but for the optional ones we do not send
  // (adminPass, accessIPv4/6, OS-DCF:diskConfig, user_data, personality, the scheduler
  // hints), and the optional key_name and tags the published request leaves out (the API
  // reference documents both).
  kKeysServerCreate,
  // A server in ERROR as an admin sees it: the admin keys and Nova's fault (code, created,
  // message, details: documented in the API reference; no published sample shows one).
  kKeysAdminServerFault,
};

// One fixture and the published sample for the same call and microversion.
struct Counterpart {
  const char* fixture;
  // Relative to $MIGPROBE_API_SAMPLES.
  const char* published;
  Compare compare;
};

// Every fixture, with its published counterpart (a fixture may have more than one).
constexpr Counterpart kCounterparts[] = {
    {"keystone/password-project-name-request.json",
     "keystone/auth/requests/project-name-password.json", Compare::kKeys},
    {"keystone/password-project-id-request.json", "keystone/auth/requests/project-id-password.json",
     Compare::kKeys},
    {"keystone/password-unscoped-domain-request.json",
     "keystone/admin/auth-password-unscoped-request-with-domain.json", Compare::kKeys},
    {"keystone/application-credential-id-request.json",
     "keystone/admin/auth-application-credential-id-request.json", Compare::kKeys},
    {"keystone/application-credential-name-request.json",
     "keystone/admin/auth-application-credential-name-request.json", Compare::kKeys},
    {"keystone/password-project-scoped-response.json",
     "keystone/admin/auth-password-project-scoped-response.json", Compare::kKeys},
    {"keystone/password-project-scoped-response.json",
     "keystone/auth/responses/project-scoped-password.json", Compare::kKeys},
    {"keystone/application-credential-response.json",
     "keystone/admin/auth-application-credential-response.json", Compare::kKeys},
    {"nova/versions/root.json", "nova/versions/versions-get-resp.json", Compare::kKeys},
    {"nova/versions/v2.1.json", "nova/versions/v21-version-get-resp.json", Compare::kKeys},
    {"nova/versions/v2.0.json", "nova/versions/v2-version-get-resp.json", Compare::kKeys},
    {"nova/2.1/servers-detail.json", "nova/servers/servers-details-resp.json", Compare::kKeys},
    {"nova/2.1/flavors-detail.json", "nova/flavors/flavors-detail-resp.json", Compare::kKeys},
    {"nova/2.96/servers-detail.json", "nova/servers/v2.96/servers-details-resp.json",
     Compare::kKeysAdminServer},
    {"nova/2.96/server.json", "nova/servers/v2.96/server-get-resp.json", Compare::kKeysAdminServer},
    {"nova/2.96/server-error.json", "nova/servers/v2.96/server-get-resp.json",
     Compare::kKeysAdminServerFault},
    {"nova/2.1/hypervisors-with-servers.json",
     "nova/os-hypervisors/hypervisors-with-servers-resp.json", Compare::kKeys},
    {"nova/2.53/hypervisors-with-servers.json",
     "nova/os-hypervisors/v2.53/hypervisors-with-servers-resp.json", Compare::kKeys},
    {"nova/2.88/hypervisors-with-servers.json",
     "nova/os-hypervisors/v2.88/hypervisors-with-servers-resp.json", Compare::kKeys},
    {"nova/2.1/live-migrate.json", "nova/os-migrate-server/live-migrate-server.json",
     Compare::kKeys},
    {"nova/2.24/live-migrate.json", "nova/server-migrations/v2.24/live-migrate-server.json",
     Compare::kKeys},
    {"nova/2.25/live-migrate.json", "nova/os-migrate-server/v2.25/live-migrate-server.json",
     Compare::kKeys},
    {"nova/2.30/live-migrate.json", "nova/os-migrate-server/v2.30/live-migrate-server.json",
     Compare::kKeys},
    {"nova/2.68/live-migrate.json", "nova/os-migrate-server/v2.68/live-migrate-server.json",
     Compare::kKeys},
    {"nova/2.65/live-migrate-any-host.json",
     "nova/server-migrations/v2.65/live-migrate-server.json", Compare::kKeys},
    {"nova/2.80/live-migrate-any-host.json",
     "nova/server-migrations/v2.80/live-migrate-server.json", Compare::kKeys},
    {"nova/2.22/force-complete.json", "nova/server-migrations/v2.22/force_complete.json",
     Compare::kKeys},
    {"nova/2.80/server-migrations.json", "nova/server-migrations/v2.80/migrations-index.json",
     Compare::kKeys},
    {"nova/2.80/server-migration.json", "nova/server-migrations/v2.80/migrations-get.json",
     Compare::kKeys},
    {"nova/2.23/server-migration.json", "nova/server-migrations/v2.23/migrations-get.json",
     Compare::kKeys},
    {"nova/2.1/os-migrations.json", "nova/os-migrations/migrations-get.json", Compare::kKeys},
    {"nova/2.80/os-migrations-limit.json",
     "nova/os-migrations/v2.80/migrations-get-with-limit.json", Compare::kKeys},
    {"nova/2.80/os-migrations-marker.json",
     "nova/os-migrations/v2.80/migrations-get-with-marker.json", Compare::kKeys},
    {"nova/2.84/instance-actions-limit.json",
     "nova/os-instance-actions/v2.84/instance-actions-list-with-limit-resp.json", Compare::kKeys},
    {"nova/2.84/instance-actions-marker.json",
     "nova/os-instance-actions/v2.84/instance-actions-list-with-marker-resp.json", Compare::kKeys},
    {"nova/2.84/instance-action.json",
     "nova/os-instance-actions/v2.84/instance-action-get-resp.json", Compare::kKeys},
    {"nova/2.48/server-diagnostics.json",
     "nova/os-server-diagnostics/v2.48/server-diagnostics-get-resp.json", Compare::kKeys},
    {"nova/2.1/server-diagnostics.json",
     "nova/os-server-diagnostics/server-diagnostics-get-resp.json", Compare::kNumbersByDevice},
    {"nova/2.75/flavor.json", "nova/flavors/v2.75/flavor-get-resp.json", Compare::kKeys},
    {"nova/2.92/keypair-import-request.json",
     "nova/os-keypairs/v2.92/keypairs-import-post-req.json", Compare::kKeys},
    {"nova/2.92/keypair-import.json", "nova/os-keypairs/v2.92/keypairs-import-post-resp.json",
     Compare::kKeys},
    {"neutron/security-group-create-request.json",
     "neutron/security-groups/security-group-create-request.json", Compare::kKeys},
    {"neutron/security-group-create-response.json",
     "neutron/security-groups/security-group-create-response.json", Compare::kKeys},
    {"neutron/security-group-rule-create-request.json",
     "neutron/security-groups/security-group-rule-create-request.json",
     Compare::kKeysRuleRemotePrefix},
    {"neutron/security-group-rule-create-response.json",
     "neutron/security-groups/security-group-rule-create-response.json", Compare::kKeys},
    {"neutron/networks-list-response.json", "neutron/networks/networks-list-response.json",
     Compare::kKeys},
    {"neutron/ports-list-response.json", "neutron/ports/ports-list-response.json", Compare::kKeys},
    {"nova/2.74/server-create-request.json",
     "nova/servers/v2.74/server-create-req-with-only-host.json", Compare::kKeysServerCreate},
    {"nova/2.74/server-create-response.json", "nova/servers/v2.74/server-create-resp.json",
     Compare::kKeys},
    {"glance/image-create-request.json", "glance/image-create-request.json",
     Compare::kKeysImageCreate},
    {"glance/image-create-response.json", "glance/image-create-response.json", Compare::kKeys},
    {"glance/image-show-response.json", "glance/image-show-response.json", Compare::kKeys},
    {"glance/images-list-response.json", "glance/images-list-response.json", Compare::kKeys},
};

// The optional image create fields beyond the published request.
const std::set<std::string> kImageCreateKeys = {"visibility", "tags"};
// A security group rule's remote as a prefix, for the remote group the published request
// shows.
const std::set<std::string> kRulePrefixKeys = {"remote_ip_prefix"};
const std::set<std::string> kRuleRemoteGroupKeys = {"remote_group_id", "remote_address_group_id"};
const std::set<std::string> kServerCreateExtraKeys = {"key_name", "tags"};
const std::set<std::string> kServerCreateOptionalKeys = {"adminPass",
                                                         "accessIPv4",
                                                         "accessIPv6",
                                                         "OS-DCF:diskConfig",
                                                         "user_data",
                                                         "personality",
                                                         "OS-SCH-HNT:scheduler_hints"};

// The server attributes an admin sees beyond the published 2.90+ (non-admin) samples.
const std::set<std::string> kAdminServerKeys = {
    "OS-EXT-SRV-ATTR:host",           "OS-EXT-SRV-ATTR:hypervisor_hostname",
    "OS-EXT-SRV-ATTR:instance_name",  "OS-EXT-SRV-ATTR:kernel_id",
    "OS-EXT-SRV-ATTR:launch_index",   "OS-EXT-SRV-ATTR:ramdisk_id",
    "OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:root_device_name",
    "OS-EXT-SRV-ATTR:user_data",      "host_status"};

// Objects whose keys are data (the user's metadata, flavor extra specs): not compared.
const std::set<std::string> kAdminServerFaultKeys = [] {
  std::set<std::string> keys = kAdminServerKeys;
  keys.insert("fault");
  return keys;
}();

const std::set<std::string> kFreeFormObjects = {"metadata", "extra_specs"};

// The kind of a JSON value, for messages and comparison; "" for null (a nullable field
// may be null on either side).
std::string kind(const json& v) {
  if (v.is_null()) return "";
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  return "string";
}

// Appends to `differences` every place where ours and published differ in structure;
// `where` is the JSON path so far, `key` the member name that led here.
void compare_structure(const json& ours, const json& published, const std::string& where,
                       const std::string& key, const std::set<std::string>& extra_keys,
                       const std::set<std::string>& may_lack,
                       std::vector<std::string>& differences) {
  const std::string ours_kind = kind(ours);
  const std::string published_kind = kind(published);
  if (ours_kind.empty() || published_kind.empty()) return;
  // A server's networks: "auto", "none" or a list of networks (the samples show both).
  const bool either = key == "networks" && (ours_kind == "string" || published_kind == "string");
  if (ours_kind != published_kind && !either) {
    differences.push_back(where + ": " + ours_kind + " here, " + published_kind + " there");
    return;
  }
  if (ours.is_array() || published.is_array()) {
    if (ours.is_array() && published.is_array() && !ours.empty() && !published.empty()) {
      compare_structure(ours[0], published[0], where + "[0]", key, extra_keys, may_lack,
                        differences);
    }
    return;
  }
  if (!ours.is_object() || kFreeFormObjects.count(key) != 0) return;
  if (key == "addresses") {
    // Keyed by network name: compare the first address of the first network of each.
    if (!ours.empty() && !published.empty()) {
      compare_structure(ours.begin().value(), published.begin().value(), where + ".<network>", "",
                        extra_keys, may_lack, differences);
    }
    return;
  }
  for (const auto& [name, value] : published.items()) {
    // A key no API has ("revisio[n_number" in Neutron's security group sample) is the
    // sample's typo.
    if (name.find('[') != std::string::npos || may_lack.count(name) != 0) continue;
    if (!ours.contains(name)) differences.push_back(where + ": no \"" + name + "\"");
  }
  for (const auto& [name, value] : ours.items()) {
    if (!published.contains(name)) {
      if (extra_keys.count(name) == 0) {
        differences.push_back(where + ": \"" + name + "\" is not in the published sample");
      }
      continue;
    }
    compare_structure(value, published[name], where + "." + name, name, extra_keys, may_lack,
                      differences);
  }
}

// The differences between ours and published under `compare`, one line each.
std::vector<std::string> differences(const json& ours, const json& published, Compare compare) {
  std::vector<std::string> out;
  if (compare == Compare::kNumbersByDevice) {
    for (const json* doc : {&ours, &published}) {
      if (!doc->is_object() || doc->empty()) {
        out.push_back(std::string(doc == &ours ? "ours" : "published") +
                      ": not an object of numbers");
        continue;
      }
      for (const auto& [name, value] : doc->items()) {
        if (!value.is_number()) out.push_back("$." + name + ": not a number");
      }
    }
    return out;
  }
  const std::set<std::string> none;
  const Compare c = compare;
  const std::set<std::string>& extra = c == Compare::kKeysAdminServer        ? kAdminServerKeys
                                       : c == Compare::kKeysAdminServerFault ? kAdminServerFaultKeys
                                       : c == Compare::kKeysImageCreate      ? kImageCreateKeys
                                       : c == Compare::kKeysRuleRemotePrefix ? kRulePrefixKeys
                                       : c == Compare::kKeysServerCreate ? kServerCreateExtraKeys
                                                                         : none;
  const std::set<std::string>& may_lack = c == Compare::kKeysRuleRemotePrefix ? kRuleRemoteGroupKeys
                                          : c == Compare::kKeysServerCreate
                                              ? kServerCreateOptionalKeys
                                              : none;
  compare_structure(ours, published, "$", "", extra, may_lack, out);
  return out;
}

// Every file under tests/fixtures/openstack, relative to it ("nova/2.1/...json").
std::vector<std::string> all_fixtures() {
  std::vector<std::string> out;
  const std::filesystem::path root = MIGPROBE_FIXTURES_DIR;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) {
      out.push_back(std::filesystem::relative(entry.path(), root).generic_string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FixtureStructure, EveryFixtureHasItsPublishedCounterpartNamed) {
  std::set<std::string> in_table;
  for (const Counterpart& c : kCounterparts) in_table.insert(c.fixture);
  std::set<std::string> on_disk;
  for (const std::string& path : all_fixtures()) {
    if (path.size() < 5 || path.compare(path.size() - 5, 5, ".json") != 0) continue;
    on_disk.insert(path);
    EXPECT_EQ(in_table.count(path), 1u)
        << path << " has no line in kCounterparts (fixture_structure_test.cc)";
    EXPECT_FALSE(testing::fixture_json(path).is_discarded()) << path;
  }
  for (const std::string& path : in_table) {
    EXPECT_EQ(on_disk.count(path), 1u) << "kCounterparts names " << path << ", which is missing";
  }
}

TEST(FixtureStructure, ComparisonFindsEveryKindOfDifference) {
  const json published = json::parse(R"({
    "servers": [{"id": "a", "addresses": {"private": [{"addr": "x", "version": 4}]},
                 "metadata": {"k": "v"}, "flavor": {"id": "1"}, "tags": []}],
    "servers_links": [{"href": "h", "rel": "next"}]})");
  const json same = json::parse(R"({
    "servers": [{"id": "b", "addresses": {"net1": [{"addr": "y", "version": 6}], "net2": []},
                 "metadata": {"other": "w"}, "flavor": {"id": "2"}, "tags": ["t"]},
                {"unchecked": "only the first element counts"}],
    "servers_links": [{"href": "i", "rel": "next"}]})");
  EXPECT_TRUE(differences(same, published, Compare::kKeys).empty());

  json missing = same;
  missing["servers"][0].erase("flavor");
  EXPECT_EQ(differences(missing, published, Compare::kKeys),
            std::vector<std::string>{"$.servers[0]: no \"flavor\""});
  json extra = same;
  extra["servers"][0]["OS-EXT-SRV-ATTR:host"] = "h1";
  EXPECT_EQ(differences(extra, published, Compare::kKeys),
            std::vector<std::string>{
                "$.servers[0]: \"OS-EXT-SRV-ATTR:host\" is not in the published sample"});
  EXPECT_TRUE(differences(extra, published, Compare::kKeysAdminServer).empty());
  json address = same;
  address["servers"][0]["addresses"]["net1"][0].erase("version");
  EXPECT_EQ(differences(address, published, Compare::kKeys),
            std::vector<std::string>{"$.servers[0].addresses.<network>[0]: no \"version\""});
  json reshaped = same;
  reshaped["servers"][0]["flavor"] = "m2.small";
  EXPECT_EQ(differences(reshaped, published, Compare::kKeys),
            std::vector<std::string>{"$.servers[0].flavor: string here, object there"});
  json top = same;
  top.erase("servers_links");
  EXPECT_EQ(differences(top, published, Compare::kKeys),
            std::vector<std::string>{"$: no \"servers_links\""});

  EXPECT_TRUE(differences(json{{"cpu0_time", 1}}, json{{"vda_read", 2}}, Compare::kNumbersByDevice)
                  .empty());
  EXPECT_FALSE(
      differences(json{{"state", "running"}}, json{{"vda_read", 2}}, Compare::kNumbersByDevice)
          .empty());
}

TEST(FixtureStructure, SameKeysAsThePublishedSamples) {
  const char* env = std::getenv("MIGPROBE_API_SAMPLES");
  if (env == nullptr || *env == '\0') {
    GTEST_SKIP() << "MIGPROBE_API_SAMPLES is not set: our fixtures are not compared with the "
                    "published OpenStack API samples (set it to a folder holding them, "
                    "keystone/ and nova/ as the OpenStack projects publish them)";
  }
  const std::filesystem::path root = env;
  ASSERT_TRUE(std::filesystem::is_directory(root))
      << "MIGPROBE_API_SAMPLES=" << env << " is not a directory";
  for (const Counterpart& c : kCounterparts) {
    const std::filesystem::path published_path = root / c.published;
    ASSERT_TRUE(std::filesystem::is_regular_file(published_path))
        << "no published sample " << published_path << " (for " << c.fixture << ")";
    json published = json::parse(testing::read_file(published_path.string()), nullptr, false);
    ASSERT_FALSE(published.is_discarded()) << published_path << " is not JSON";
    std::vector<std::string> found =
        differences(testing::fixture_json(c.fixture), published, c.compare);
    std::string listed;
    for (const std::string& d : found) listed += "\n  " + d;
    EXPECT_TRUE(found.empty()) << c.fixture << " vs " << c.published << ":" << listed;
  }
}

}  // namespace
}  // namespace migprobe::control
