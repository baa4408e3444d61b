// Every compute response the client reads, parsed from the project's Nova fixtures (at each
// microversion there is one for) and compared with the fixture's JSON field by field.
#include "control/nova_parse.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "fixture_cloud.h"

namespace migprobe::control {
namespace {

using nlohmann::json;
using testing::fixture;
using testing::fixture_json;

// Every fixture nova/<microversion>/<name>, in path order ("nova/2.1/servers-detail.json",
// "nova/2.96/servers-detail.json"); at least `expected` of them.
std::vector<std::string> fixtures_named(const std::string& name, size_t expected) {
  std::vector<std::string> out;
  const std::string root = std::string(MIGPROBE_FIXTURES_DIR) + "/";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root + "nova")) {
    if (entry.is_regular_file() && entry.path().filename() == name) {
      out.push_back(entry.path().string().substr(root.size()));
    }
  }
  std::sort(out.begin(), out.end());
  EXPECT_GE(out.size(), expected) << "fixtures nova/*/" << name;
  return out;
}

// j[key] as a string, "" when absent or null.
std::string str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

TEST(NovaParse, ServersDetailEveryFixture) {
  for (const std::string& path : fixtures_named("servers-detail.json", 2)) {
    json doc = fixture_json(path);
    auto page = parse_servers(fixture(path));
    ASSERT_TRUE(page.ok()) << path << ": " << page.error().to_string();
    ASSERT_EQ(page->items.size(), doc["servers"].size()) << path;
    for (size_t i = 0; i < page->items.size(); ++i) {
      const json& s = doc["servers"][i];
      const Server& got = page->items[i];
      EXPECT_EQ(got.id, str(s, "id")) << path;
      EXPECT_EQ(got.name, str(s, "name")) << path;
      EXPECT_EQ(got.status, str(s, "status")) << path;
      EXPECT_EQ(got.host, str(s, "OS-EXT-SRV-ATTR:host")) << path;
      EXPECT_EQ(got.hypervisor_hostname, str(s, "OS-EXT-SRV-ATTR:hypervisor_hostname")) << path;
      EXPECT_EQ(got.task_state, str(s, "OS-EXT-STS:task_state")) << path;
      EXPECT_EQ(got.vm_state, str(s, "OS-EXT-STS:vm_state")) << path;
      size_t addresses = 0;
      const json by_network = s.value("addresses", json::object());
      for (const auto& [net, list] : by_network.items()) addresses += list.size();
      EXPECT_EQ(got.addresses.size(), addresses) << path;
    }
    // Both microversions: the admin view, with the server's compute host.
    EXPECT_EQ(page->items.at(0).host, "cmp-a07") << path;
  }
  auto page = parse_servers(fixture("nova/2.1/servers-detail.json")).value();
  ASSERT_EQ(page.items.size(), 2u);
  // Three addresses on two networks, read network by network in name order.
  const std::vector<ServerAddress>& a = page.items[0].addresses;
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].network, "lab-net");
  EXPECT_EQ(a[0].addr, "10.20.0.15");
  EXPECT_EQ(a[0].mac, "fa:16:3e:4c:19:a2");
  EXPECT_EQ(a[0].type, "fixed");
  EXPECT_EQ(a[0].version, 4);
  EXPECT_EQ(a[1].addr, "203.0.113.41");
  EXPECT_EQ(a[1].type, "floating");
  EXPECT_EQ(a[2].network, "storage-net");
  EXPECT_EQ(a[2].addr, "2001:db8:20::15");
  EXPECT_EQ(a[2].mac, "fa:16:3e:8d:02:5b");
  EXPECT_EQ(a[2].version, 6);
  EXPECT_EQ(page.items[0].hypervisor_hostname, "cmp-a07.rack3.lab.example");
  EXPECT_EQ(page.items[0].task_state, "");  // null
  EXPECT_EQ(page.items[1].status, "MIGRATING");
  EXPECT_EQ(page.items[1].task_state, "migrating");
  EXPECT_EQ(page.next_query, "limit=2&marker=3c9f93a2-608b-4016-85e4-fb9fa9350ce9");
  // Before 2.47 a server names its flavor by id; from 2.47 Nova embeds it, named.
  EXPECT_EQ(page.items[0].flavor_id, "m2.small");
  EXPECT_EQ(page.items[0].flavor_name, "");
  auto embedded = parse_servers(fixture("nova/2.96/servers-detail.json")).value();
  EXPECT_EQ(embedded.items.at(0).flavor_id, "");
  EXPECT_EQ(embedded.items.at(0).flavor_name, "m2.small");
}

TEST(NovaParse, Flavors) {
  auto page = parse_flavors(fixture("nova/2.1/flavors-detail.json"));
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, "7f3c2a61-0b1e-4c9d-9e55-3f0d5b7a9c11");
  EXPECT_EQ(page->items[0].name, "bench.small");
  EXPECT_EQ(page->items[0].vcpus, 2);
  EXPECT_EQ(page->items[0].ram_mb, 4096);
  EXPECT_EQ(page->items[0].disk_gb, 40);
  EXPECT_EQ(page->items[1].id, "42");
  EXPECT_EQ(page->items[1].disk_gb, 160);
  EXPECT_EQ(page->next_query, "");
  EXPECT_FALSE(parse_flavors(R"({"flavor": {}})").ok());
}

TEST(NovaParse, ServerGetEveryFixture) {
  for (const std::string& path : fixtures_named("server.json", 1)) {
    auto s = parse_server(fixture(path));
    ASSERT_TRUE(s.ok()) << path;
    const json doc = fixture_json(path)["server"];
    EXPECT_EQ(s->id, str(doc, "id")) << path;
    EXPECT_EQ(s->host, str(doc, "OS-EXT-SRV-ATTR:host")) << path;
  }
  auto s = parse_server(fixture("nova/2.96/server.json")).value();
  EXPECT_EQ(s.name, "vm-red");
  EXPECT_EQ(s.host, "cmp-b02");
  ASSERT_EQ(s.addresses.size(), 2u);
  EXPECT_EQ(s.addresses[1].network, "probe-net");
  EXPECT_EQ(s.addresses[1].addr, "10.30.0.23");
}

// A bootstrap's reads: the new server's id, and a server in ERROR with Nova's fault and the
// metadata that tags it with its campaign.
TEST(NovaParse, ServerCreateAndAServerInError) {
  auto id = parse_created_server(fixture("nova/2.74/server-create-response.json"));
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(*id, "0c7a3d1e-5b2f-4e8a-9c6d-1f2e3a4b5c6d");
  EXPECT_FALSE(parse_created_server(R"({"server": {"links": []}})").ok());
  EXPECT_FALSE(parse_created_server(R"({"badRequest": {"code": 400}})").ok());
  auto s = parse_server(fixture("nova/2.96/server-error.json")).value();
  EXPECT_EQ(s.status, "ERROR");
  EXPECT_EQ(s.fault, "No valid host was found. There are not enough hosts available.");
  EXPECT_EQ(s.metadata.at("migprobe_campaign"), "c1");
  EXPECT_TRUE(s.host.empty());
  EXPECT_TRUE(s.addresses.empty());
  EXPECT_TRUE(parse_server(fixture("nova/2.96/server.json")).value().fault.empty());
}

TEST(NovaParse, HypervisorsWithServersEveryFixture) {
  for (const std::string& path : fixtures_named("hypervisors-with-servers.json", 3)) {
    json list = fixture_json(path)["hypervisors"];
    auto hypervisors = parse_hypervisors(fixture(path));
    ASSERT_TRUE(hypervisors.ok()) << path;
    ASSERT_EQ(hypervisors->size(), list.size()) << path;
    for (size_t i = 0; i < list.size(); ++i) {
      const Hypervisor& got = (*hypervisors)[i];
      EXPECT_EQ(got.hypervisor_hostname, str(list[i], "hypervisor_hostname")) << path;
      EXPECT_EQ(got.state, str(list[i], "state")) << path;
      EXPECT_EQ(got.status, str(list[i], "status")) << path;
      const json servers = list[i].value("servers", json::array());
      ASSERT_EQ(got.servers.size(), servers.size()) << path;
      for (size_t k = 0; k < servers.size(); ++k) {
        EXPECT_EQ(got.servers[k].uuid, str(servers[k], "uuid")) << path;
        EXPECT_EQ(got.servers[k].name, str(servers[k], "name")) << path;
      }
    }
  }
  // The id is an integer before 2.53, a UUID from 2.53 on.
  auto h = parse_hypervisors(fixture("nova/2.1/hypervisors-with-servers.json"));
  EXPECT_EQ(h->at(0).id, "7");
  EXPECT_EQ(h->at(0).servers.at(1).uuid, "3c9f93a2-608b-4016-85e4-fb9fa9350ce9");
  EXPECT_EQ(h->at(0).servers.at(1).name, "db-01");
  auto v253 = parse_hypervisors(fixture("nova/2.53/hypervisors-with-servers.json"));
  EXPECT_EQ(v253->at(0).id, "c74b7e53-c961-496f-bf5a-9c9ae412e192");
  EXPECT_EQ(v253->at(0).servers.size(), 4u);
  // Nova leaves "servers" out for a hypervisor without any.
  EXPECT_EQ(v253->at(1).hypervisor_hostname, "cmp-a08.rack3.lab.example");
  EXPECT_TRUE(v253->at(1).servers.empty());
  auto v288 = parse_hypervisors(fixture("nova/2.88/hypervisors-with-servers.json"));
  EXPECT_EQ(v288->at(1).state, "down");
  EXPECT_EQ(v288->at(1).status, "disabled");
}

// Checks every field of a parsed server migration against the fixture object.
void expect_server_migration(const ServerMigration& got, const json& m, const std::string& path) {
  EXPECT_EQ(got.id, m["id"].get<int64_t>()) << path;
  EXPECT_EQ(got.uuid, str(m, "uuid")) << path;
  EXPECT_EQ(got.server_uuid, str(m, "server_uuid")) << path;
  EXPECT_EQ(got.status, str(m, "status")) << path;
  EXPECT_EQ(got.source_compute, str(m, "source_compute")) << path;
  EXPECT_EQ(got.source_node, str(m, "source_node")) << path;
  EXPECT_EQ(got.dest_compute, str(m, "dest_compute")) << path;
  EXPECT_EQ(got.dest_node, str(m, "dest_node")) << path;
  EXPECT_EQ(got.dest_host, str(m, "dest_host")) << path;
  EXPECT_EQ(got.memory_total_bytes, m["memory_total_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.memory_processed_bytes, m["memory_processed_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.memory_remaining_bytes, m["memory_remaining_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.disk_total_bytes, m["disk_total_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.disk_processed_bytes, m["disk_processed_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.disk_remaining_bytes, m["disk_remaining_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.created_at, str(m, "created_at")) << path;
  EXPECT_EQ(got.updated_at, str(m, "updated_at")) << path;
}

TEST(NovaParse, ServerMigrationsEveryFixture) {
  for (const std::string& path : fixtures_named("server-migrations.json", 1)) {
    auto list = parse_server_migrations(fixture(path));
    ASSERT_TRUE(list.ok()) << path;
    json doc = fixture_json(path);
    ASSERT_EQ(list->size(), doc["migrations"].size()) << path;
    for (size_t i = 0; i < list->size(); ++i) {
      expect_server_migration((*list)[i], doc["migrations"][i], path);
    }
  }
  for (const std::string& path : fixtures_named("server-migration.json", 2)) {
    auto m = parse_server_migration(fixture(path));
    ASSERT_TRUE(m.ok()) << path;
    expect_server_migration(*m, fixture_json(path)["migration"], path);
  }
  auto v280 = parse_server_migration(fixture("nova/2.80/server-migration.json")).value();
  EXPECT_EQ(v280.uuid, "e9c4a1f0-5b7d-4e28-a3c6-0d1f2b4e6a80");
  EXPECT_EQ(v280.memory_remaining_bytes, 536870912u);
  EXPECT_EQ(v280.disk_processed_bytes, 12884901888u);
  // Before 2.59 a migration has no uuid.
  auto v223 = parse_server_migration(fixture("nova/2.23/server-migration.json")).value();
  EXPECT_EQ(v223.id, 9);
  EXPECT_EQ(v223.uuid, "");
  EXPECT_EQ(v223.memory_processed_bytes, 104857600u);
}

TEST(NovaParse, OsMigrationsEveryFixture) {
  std::vector<std::string> paths;
  for (const char* name :
       {"os-migrations.json", "os-migrations-limit.json", "os-migrations-marker.json"}) {
    for (std::string& path : fixtures_named(name, 1)) paths.push_back(std::move(path));
  }
  for (const std::string& path : paths) {
    auto page = parse_migrations(fixture(path));
    ASSERT_TRUE(page.ok()) << path;
    json doc = fixture_json(path);
    ASSERT_EQ(page->items.size(), doc["migrations"].size()) << path;
    for (size_t i = 0; i < page->items.size(); ++i) {
      const json& m = doc["migrations"][i];
      const Migration& got = page->items[i];
      EXPECT_EQ(got.id, m["id"].get<int64_t>()) << path;
      EXPECT_EQ(got.uuid, str(m, "uuid")) << path;
      EXPECT_EQ(got.instance_uuid, str(m, "instance_uuid")) << path;
      EXPECT_EQ(got.status, str(m, "status")) << path;
      EXPECT_EQ(got.migration_type, str(m, "migration_type")) << path;
      EXPECT_EQ(got.source_compute, str(m, "source_compute")) << path;
      EXPECT_EQ(got.dest_compute, str(m, "dest_compute")) << path;
      EXPECT_EQ(got.dest_host, str(m, "dest_host")) << path;
      EXPECT_EQ(got.created_at, str(m, "created_at")) << path;
      EXPECT_EQ(got.updated_at, str(m, "updated_at")) << path;
      EXPECT_EQ(got.user_id, str(m, "user_id")) << path;
      EXPECT_EQ(got.project_id, str(m, "project_id")) << path;
    }
    bool has_next = doc.contains("migrations_links");
    EXPECT_EQ(!page->next_query.empty(), has_next) << path;
  }
  auto limited = parse_migrations(fixture("nova/2.80/os-migrations-limit.json")).value();
  ASSERT_EQ(limited.items.size(), 2u);
  EXPECT_EQ(limited.items[1].status, "error");
  EXPECT_EQ(limited.items[1].user_id, testing::kTestUserId);
  EXPECT_EQ(limited.next_query, "limit=2&marker=819a7f58-f3e1-4f84-8320-2d1d329728b8");
  // Before 2.23 there is no migration_type, before 2.59 no uuid, before 2.80 no user.
  auto base = parse_migrations(fixture("nova/2.1/os-migrations.json")).value();
  ASSERT_EQ(base.items.size(), 2u);
  EXPECT_EQ(base.items[0].id, 5);
  EXPECT_EQ(base.items[0].status, "completed");
  EXPECT_EQ(base.items[0].migration_type, "");
  EXPECT_EQ(base.items[0].uuid, "");
  EXPECT_EQ(base.items[0].user_id, "");
}

TEST(NovaParse, InstanceActionsEveryFixture) {
  for (const char* name : {"instance-actions-limit.json", "instance-actions-marker.json"}) {
    for (const std::string& path : fixtures_named(name, 1)) {
      auto page = parse_instance_actions(fixture(path));
      ASSERT_TRUE(page.ok()) << path;
      json doc = fixture_json(path);
      ASSERT_EQ(page->items.size(), doc["instanceActions"].size()) << path;
      for (size_t i = 0; i < page->items.size(); ++i) {
        const json& a = doc["instanceActions"][i];
        EXPECT_EQ(page->items[i].request_id, str(a, "request_id")) << path;
        EXPECT_EQ(page->items[i].action, str(a, "action")) << path;
        EXPECT_EQ(page->items[i].instance_uuid, str(a, "instance_uuid")) << path;
        EXPECT_EQ(page->items[i].start_time, str(a, "start_time")) << path;
        EXPECT_EQ(page->items[i].updated_at, str(a, "updated_at")) << path;
      }
      EXPECT_EQ(!page->next_query.empty(), doc.contains("links")) << path;
    }
  }
  auto limited = parse_instance_actions(fixture("nova/2.84/instance-actions-limit.json")).value();
  EXPECT_EQ(limited.next_query, "limit=1&marker=req-78b24749-af09-4ba3-b7f5-e9be2a64a484");
  for (const std::string& path : fixtures_named("instance-action.json", 1)) {
    auto action = parse_instance_action(fixture(path));
    ASSERT_TRUE(action.ok()) << path;
    json a = fixture_json(path)["instanceAction"];
    EXPECT_EQ(action->request_id, str(a, "request_id")) << path;
    EXPECT_EQ(action->action, str(a, "action")) << path;
    EXPECT_EQ(action->instance_uuid, str(a, "instance_uuid")) << path;
    EXPECT_EQ(action->start_time, str(a, "start_time")) << path;
    ASSERT_EQ(action->events.size(), a["events"].size()) << path;
    for (size_t i = 0; i < action->events.size(); ++i) {
      const json& e = a["events"][i];
      EXPECT_EQ(action->events[i].event, str(e, "event")) << path;
      EXPECT_EQ(action->events[i].result, str(e, "result")) << path;
      EXPECT_EQ(action->events[i].start_time, str(e, "start_time")) << path;
      EXPECT_EQ(action->events[i].finish_time, str(e, "finish_time")) << path;
      EXPECT_EQ(action->events[i].host, str(e, "host")) << path;
    }
  }
  auto action = parse_instance_action(fixture("nova/2.84/instance-action.json")).value();
  ASSERT_EQ(action.events.size(), 2u);
  EXPECT_EQ(action.events[1].event, "compute_live_migration");
  EXPECT_EQ(action.events[1].host, "cmp-a07");
  EXPECT_EQ(action.events[1].finish_time, "2025-03-14T09:41:44.288731");
}

TEST(NovaParse, Diagnostics248) {
  auto d = parse_server_diagnostics(fixture("nova/2.48/server-diagnostics.json"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, "running");
  EXPECT_EQ(d->driver, "libvirt");
  EXPECT_EQ(d->hypervisor, "kvm");
  EXPECT_EQ(d->hypervisor_os, "debian");
  EXPECT_EQ(d->uptime, 86412u);
  EXPECT_TRUE(d->config_drive);
  EXPECT_EQ(d->num_cpus, 2);
  EXPECT_EQ(d->num_disks, 1);
  EXPECT_EQ(d->num_nics, 1);
  EXPECT_EQ(d->memory_maximum, 2097152u);
  EXPECT_EQ(d->memory_used, 1572864u);
  ASSERT_EQ(d->cpu_details.size(), 2u);
  EXPECT_EQ(d->cpu_details[1].id, 1);
  EXPECT_EQ(d->cpu_details[1].time, 39770000000u);
  EXPECT_EQ(d->cpu_details[1].utilisation, 22);
  ASSERT_EQ(d->nic_details.size(), 1u);
  EXPECT_EQ(d->nic_details[0].mac_address, "fa:16:3e:0a:6e:11");
  EXPECT_EQ(d->nic_details[0].rx_octets, 98234112u);
  EXPECT_EQ(d->nic_details[0].rx_drop, 4u);
  EXPECT_EQ(d->nic_details[0].rx_rate, 1200u);
  EXPECT_EQ(d->nic_details[0].tx_drop, 7u);
  EXPECT_EQ(d->nic_details[0].tx_rate, 900u);
  ASSERT_EQ(d->disk_details.size(), 1u);
  EXPECT_EQ(d->disk_details[0].write_bytes, 73400320u);
  EXPECT_EQ(d->disk_details[0].errors_count, 3u);
  // The pre-2.48 free-form document is refused, not misread.
  EXPECT_FALSE(parse_server_diagnostics(fixture("nova/2.1/server-diagnostics.json")).ok());
}

TEST(NovaParse, WrongShapesAreParseErrors) {
  EXPECT_EQ(parse_servers("{\"servers\": 3}").error().kind, ErrorKind::kParse);
  EXPECT_EQ(parse_servers("not json").error().kind, ErrorKind::kParse);
  EXPECT_EQ(parse_server_migration("{}").error().kind, ErrorKind::kParse);
}

}  // namespace
}  // namespace migprobe::control
