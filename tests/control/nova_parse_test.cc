// Every compute response the client reads, parsed from the Nova samples and compared with
// the sample JSON field by field.
#include "control/nova_parse.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "sample_cloud.h"

namespace migprobe::control {
namespace {

using nlohmann::json;
using testing::sample;
using testing::sample_json;

// Every file under nova/<folder> whose name contains part.
std::vector<std::string> samples_named(const std::string& folder, const std::string& part) {
  std::vector<std::string> out;
  std::string root = std::string(MIGPROBE_API_SAMPLES_DIR) + "/";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root + folder)) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.find(part) != std::string::npos) {
      out.push_back(entry.path().string().substr(root.size()));
    }
  }
  EXPECT_FALSE(out.empty()) << "no samples " << folder << "/*" << part << "*";
  return out;
}

// j[key] as a string, "" when absent or null.
std::string str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

TEST(NovaParse, ServersDetailEverySample) {
  for (const std::string& path : samples_named("nova/servers", "servers-details")) {
    json doc = sample_json(path);
    auto page = parse_servers(sample(path));
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
      EXPECT_EQ(got.vm_state, str(s, "OS-EXT-STS:vm_state")) << path;
      size_t addresses = 0;
      // A server in a down cell (2.69) has no addresses at all.
      const json no_addresses = json::object();
      const json& by_network = s.contains("addresses") ? s["addresses"] : no_addresses;
      for (const auto& [net, list] : by_network.items()) {
        addresses += list.size();
      }
      EXPECT_EQ(got.addresses.size(), addresses) << path;
    }
  }
  auto page = parse_servers(sample("nova/servers/servers-details-resp.json")).value();
  ASSERT_FALSE(page.items.empty());
  EXPECT_EQ(page.items[0].addresses[0].mac, "00:0c:29:0d:11:74");
  EXPECT_EQ(page.items[0].addresses[0].addr, "192.168.1.30");
  EXPECT_EQ(page.items[0].host, "c3f14e9812ad496baf92ccfb3c61e15f");
  EXPECT_EQ(page.next_query, "limit=1&marker=f5dc173b-6804-445a-a6d8-c705dad5b5eb");
}

TEST(NovaParse, ServerGetEverySample) {
  for (const std::string& path : samples_named("nova/servers", "server-get-resp")) {
    auto s = parse_server(sample(path));
    ASSERT_TRUE(s.ok()) << path;
    EXPECT_EQ(s->id, str(sample_json(path)["server"], "id")) << path;
  }
}

TEST(NovaParse, HypervisorsWithServersEverySample) {
  for (const std::string& path : samples_named("nova/os-hypervisors", "with-servers")) {
    json doc = sample_json(path);
    json list = doc.contains("hypervisors") ? doc["hypervisors"] : json::array();
    if (!doc.contains("hypervisors")) continue;  // the show-with-servers form: one object
    auto hypervisors = parse_hypervisors(sample(path));
    ASSERT_TRUE(hypervisors.ok()) << path;
    ASSERT_EQ(hypervisors->size(), list.size()) << path;
    for (size_t i = 0; i < list.size(); ++i) {
      EXPECT_EQ((*hypervisors)[i].hypervisor_hostname, str(list[i], "hypervisor_hostname"));
      EXPECT_EQ((*hypervisors)[i].servers.size(), list[i].value("servers", json::array()).size());
    }
  }
  auto h = parse_hypervisors(sample("nova/os-hypervisors/hypervisors-with-servers-resp.json"));
  EXPECT_EQ(h->at(0).id, "1");
  EXPECT_EQ(h->at(0).servers.at(1).uuid, "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb");
  auto v253 =
      parse_hypervisors(sample("nova/os-hypervisors/v2.53/hypervisors-with-servers-resp.json"));
  EXPECT_EQ(v253->at(0).id, "b1e43b5f-eec1-44e0-9f10-7b4945c0226d");
}

// Checks every field of a parsed server migration against the sample object.
void expect_server_migration(const ServerMigration& got, const json& m, const std::string& path) {
  EXPECT_EQ(got.id, m["id"].get<int64_t>()) << path;
  EXPECT_EQ(got.uuid, str(m, "uuid")) << path;
  EXPECT_EQ(got.server_uuid, str(m, "server_uuid")) << path;
  EXPECT_EQ(got.status, str(m, "status")) << path;
  EXPECT_EQ(got.source_compute, str(m, "source_compute")) << path;
  EXPECT_EQ(got.dest_compute, str(m, "dest_compute")) << path;
  EXPECT_EQ(got.dest_host, str(m, "dest_host")) << path;
  EXPECT_EQ(got.memory_total_bytes, m["memory_total_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.memory_processed_bytes, m["memory_processed_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.memory_remaining_bytes, m["memory_remaining_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.disk_total_bytes, m["disk_total_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.disk_processed_bytes, m["disk_processed_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.disk_remaining_bytes, m["disk_remaining_bytes"].get<uint64_t>()) << path;
  EXPECT_EQ(got.created_at, str(m, "created_at")) << path;
}

TEST(NovaParse, ServerMigrationsEverySample) {
  for (const std::string& path : samples_named("nova/server-migrations", "migrations-index")) {
    auto list = parse_server_migrations(sample(path));
    ASSERT_TRUE(list.ok()) << path;
    json doc = sample_json(path);
    ASSERT_EQ(list->size(), doc["migrations"].size());
    for (size_t i = 0; i < list->size(); ++i) {
      expect_server_migration((*list)[i], doc["migrations"][i], path);
    }
  }
  for (const std::string& path : samples_named("nova/server-migrations", "migrations-get")) {
    auto m = parse_server_migration(sample(path));
    ASSERT_TRUE(m.ok()) << path;
    expect_server_migration(*m, sample_json(path)["migration"], path);
  }
}

TEST(NovaParse, OsMigrationsEverySample) {
  for (const std::string& path : samples_named("nova/os-migrations", "migrations-get")) {
    auto page = parse_migrations(sample(path));
    ASSERT_TRUE(page.ok()) << path;
    json doc = sample_json(path);
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
      EXPECT_EQ(got.updated_at, str(m, "updated_at")) << path;
      EXPECT_EQ(got.user_id, str(m, "user_id")) << path;
      EXPECT_EQ(got.project_id, str(m, "project_id")) << path;
    }
    bool has_next = doc.contains("migrations_links");
    EXPECT_EQ(!page->next_query.empty(), has_next) << path;
  }
  auto limited =
      parse_migrations(sample("nova/os-migrations/v2.80/migrations-get-with-limit.json"));
  EXPECT_EQ(limited->next_query, "limit=1&marker=42341d4b-346a-40d0-83c6-5f4f6892b650");
}

TEST(NovaParse, InstanceActionsEverySample) {
  for (const std::string& path : samples_named("nova/os-instance-actions", "instance-actions")) {
    auto page = parse_instance_actions(sample(path));
    ASSERT_TRUE(page.ok()) << path;
    json doc = sample_json(path);
    ASSERT_EQ(page->items.size(), doc["instanceActions"].size()) << path;
    for (size_t i = 0; i < page->items.size(); ++i) {
      EXPECT_EQ(page->items[i].request_id, str(doc["instanceActions"][i], "request_id")) << path;
      EXPECT_EQ(page->items[i].action, str(doc["instanceActions"][i], "action")) << path;
    }
  }
  for (const std::string& path : samples_named("nova/os-instance-actions", "instance-action-get")) {
    auto action = parse_instance_action(sample(path));
    ASSERT_TRUE(action.ok()) << path;
    json a = sample_json(path)["instanceAction"];
    EXPECT_EQ(action->request_id, str(a, "request_id")) << path;
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
}

TEST(NovaParse, Diagnostics248) {
  const std::string path = "nova/os-server-diagnostics/v2.48/server-diagnostics-get-resp.json";
  auto d = parse_server_diagnostics(sample(path));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, "running");
  EXPECT_EQ(d->driver, "libvirt");
  EXPECT_EQ(d->hypervisor, "kvm");
  EXPECT_EQ(d->uptime, 46664u);
  EXPECT_TRUE(d->config_drive);
  EXPECT_EQ(d->num_cpus, 1);
  EXPECT_EQ(d->memory_maximum, 524288u);
  ASSERT_EQ(d->cpu_details.size(), 1u);
  EXPECT_EQ(d->cpu_details[0].time, 17300000000u);
  EXPECT_EQ(d->cpu_details[0].utilisation, 15);
  ASSERT_EQ(d->nic_details.size(), 1u);
  EXPECT_EQ(d->nic_details[0].mac_address, "01:23:45:67:89:ab");
  EXPECT_EQ(d->nic_details[0].rx_octets, 2070139u);
  EXPECT_EQ(d->nic_details[0].rx_drop, 200u);
  EXPECT_EQ(d->nic_details[0].tx_drop, 500u);
  EXPECT_EQ(d->nic_details[0].tx_rate, 600u);
  ASSERT_EQ(d->disk_details.size(), 1u);
  EXPECT_EQ(d->disk_details[0].write_bytes, 5778432u);
  EXPECT_EQ(d->disk_details[0].errors_count, 1u);
  // The pre-2.48 free-form document is refused, not misread.
  EXPECT_FALSE(parse_server_diagnostics(
                   sample("nova/os-server-diagnostics/server-diagnostics-get-resp.json"))
                   .ok());
}

TEST(NovaParse, WrongShapesAreParseErrors) {
  EXPECT_EQ(parse_servers("{\"servers\": 3}").error().kind, ErrorKind::kParse);
  EXPECT_EQ(parse_servers("not json").error().kind, ErrorKind::kParse);
  EXPECT_EQ(parse_server_migration("{}").error().kind, ErrorKind::kParse);
}

}  // namespace
}  // namespace migprobe::control
