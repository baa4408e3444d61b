// The Nova client against a real HTTP server on 127.0.0.1 that answers with the project's
// Nova fixtures: microversion negotiation and headers, every call's path and body,
// pagination, errors with Nova's own message, and retries only where the call is safe to
// repeat.
#include "control/nova_client.h"

#include <gtest/gtest.h>

#include <atomic>

#include "control/curl_transport.h"
#include "fixture_cloud.h"

namespace migprobe::control {
namespace {

using nlohmann::json;
using testing::fixture;
using testing::fixture_json;
using testing::ReceivedRequest;
using testing::Reply;

const std::string kProject = std::string("/v2.1/") + testing::kTestProjectId;
// vm-blue: the server of the migration and instance-action fixtures.
const std::string kServer = "93652f1a-f496-45f3-b489-90c75fe23862";
// The migration in progress in nova/2.80/server-migration*.json.
constexpr int64_t kMigration = 17;
const std::string kMigrationPath = "/servers/" + kServer + "/migrations/17";

// A Keystone and a Nova on one test server. Compute routes answer the fixtures; a test
// can override a route with `special`, which returns true when it answered.
class FakeNova : public ::testing::Test {
 protected:
  std::function<bool(const ReceivedRequest&, Reply&)> special;
  std::atomic<int> action_calls{0};

  // The answer of the fake cloud to r.
  Reply route(const ReceivedRequest& r) {
    const std::string path = r.path();
    if (path == "/identity/v3/auth/tokens") {
      return testing::keystone_token_reply(server.base_url(), "token-nova");
    }
    if (path == "/v2.1/" || path == "/v2.1") {
      return Reply{200, fixture("nova/versions/v2.1.json")};
    }
    Reply special_reply;
    if (special && special(r, special_reply)) return special_reply;
    if (path.rfind(kProject, 0) != 0) return Reply{404, "{}"};
    const std::string api = path.substr(kProject.size());
    const Reply::Headers ids = {{"x-openstack-request-id", "req-" + r.method + api}};
    if (api == "/servers/detail") {
      if (r.query("marker").empty()) {
        return Reply{200, fixture("nova/2.96/servers-detail.json"), ids};
      }
      return Reply{200, R"({"servers": []})", ids};
    }
    if (api == "/os-hypervisors") {
      return Reply{200, fixture("nova/2.88/hypervisors-with-servers.json"), ids};
    }
    if (api == "/os-hypervisors/cmp-a07.rack3.lab.example/servers") {
      return Reply{200, fixture("nova/2.1/hypervisors-with-servers.json"), ids};
    }
    if (api == "/servers/" + kServer + "/action") {
      ++action_calls;
      return Reply{202, "", ids};
    }
    if (api == "/servers/" + kServer + "/migrations") {
      return Reply{200, fixture("nova/2.80/server-migrations.json"), ids};
    }
    if (api == kMigrationPath) {
      if (r.method == "DELETE") return Reply{202, "", ids};
      return Reply{200, fixture("nova/2.80/server-migration.json"), ids};
    }
    if (api == kMigrationPath + "/action") return Reply{202, "", ids};
    if (api == "/os-migrations") {
      if (r.query("marker").empty()) {
        return Reply{200, fixture("nova/2.80/os-migrations-limit.json"), ids};
      }
      return Reply{200, fixture("nova/2.80/os-migrations-marker.json"), ids};
    }
    if (api == "/servers/" + kServer + "/os-instance-actions") {
      if (r.query("marker").empty()) {
        return Reply{200, fixture("nova/2.84/instance-actions-limit.json"), ids};
      }
      return Reply{200, fixture("nova/2.84/instance-actions-marker.json"), ids};
    }
    if (api.rfind("/servers/" + kServer + "/os-instance-actions/", 0) == 0) {
      return Reply{200, fixture("nova/2.84/instance-action.json"), ids};
    }
    if (api == "/servers/" + kServer + "/diagnostics") {
      return Reply{200, fixture("nova/2.48/server-diagnostics.json"), ids};
    }
    if (api == "/flavors" && r.method == "POST") {
      return Reply{200, fixture("nova/2.75/flavor.json"), ids};
    }
    if (api == "/flavors/b8f0e6b2-4a51-4c3e-9f1d-2c7e5a9d3b64" && r.method == "DELETE") {
      return Reply{202, "", ids};
    }
    if (api == "/os-keypairs" && r.method == "POST") {
      return Reply{201, fixture("nova/2.92/keypair-import.json"), ids};
    }
    if (api == "/os-keypairs/migprobe-c1") {
      if (r.method == "DELETE") return Reply{204, "", ids};
      return Reply{200, fixture("nova/2.92/keypair-import.json"), ids};
    }
    return Reply{404,
                 R"({"itemNotFound": {"code": 404, "message": "Instance could not be found."}})",
                 {{"x-openstack-request-id", "req-notfound"}}};
  }

  // Requests to compute (not Keystone, not version discovery).
  std::vector<ReceivedRequest> compute_requests() const {
    std::vector<ReceivedRequest> out;
    for (const auto& r : server.requests()) {
      if (r.path().rfind(kProject, 0) == 0) out.push_back(r);
    }
    return out;
  }

  // A client of the fake cloud that asks for at most max.
  NovaClient client(Microversion max = kClientMaxMicroversion) {
    return NovaClient(session, NovaOptions{max, "compute", 0});
  }

  testing::TestHttpServer server{[this](const ReceivedRequest& r) { return route(r); }};
  CurlTransport transport;
  Session session{transport, testing::fixture_password_config(server.base_url()),
                  testing::test_session_options()};
};

TEST_F(FakeNova, NegotiatesAndSendsBothMicroversionHeaders) {
  NovaClient nova = client();
  EXPECT_EQ(nova.negotiate().value(), kClientMaxMicroversion);
  EXPECT_EQ(client({2, 200}).negotiate().value(), (Microversion{2, 100}));
  ASSERT_TRUE(nova.server_migrations(kServer).ok());
  auto requests = compute_requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().headers["openstack-api-version"], "compute 2.96");
  EXPECT_EQ(requests.back().headers["x-openstack-nova-api-version"], "2.96");
  EXPECT_EQ(requests.back().headers["x-auth-token"], "token-nova");
}

TEST_F(FakeNova, FlavorCreateAndDelete) {
  NovaClient nova = client();
  FlavorCreate f;
  f.name = "migprobe-c1-small";
  f.id = "b8f0e6b2-4a51-4c3e-9f1d-2c7e5a9d3b64";
  f.vcpus = 2;
  f.ram_mb = 4096;
  f.disk_gb = 40;
  f.description = "migprobe campaign c1";
  auto created = nova.create_flavor(f);
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_EQ(created->value.id, f.id);
  EXPECT_EQ(created->value.vcpus, 2);
  EXPECT_EQ(created->value.ram_mb, 4096);
  EXPECT_EQ(created->value.disk_gb, 40);
  auto requests = compute_requests();
  ASSERT_EQ(requests.size(), 1U);
  const json sent = json::parse(requests[0].body);
  EXPECT_EQ(sent, json::parse(R"({"flavor": {"name": "migprobe-c1-small", "ram": 4096,
      "vcpus": 2, "disk": 40, "os-flavor-access:is_public": true,
      "id": "b8f0e6b2-4a51-4c3e-9f1d-2c7e5a9d3b64", "description": "migprobe campaign c1"}})"));
  // Before 2.55 there is no description to send.
  EXPECT_FALSE(flavor_create_body(f, {2, 54})["flavor"].contains("description"));
  EXPECT_TRUE(nova.delete_flavor(f.id).ok());
  EXPECT_EQ(compute_requests().back().method, "DELETE");
}

TEST_F(FakeNova, KeypairImportShowDelete) {
  NovaClient nova = client();
  const json want = fixture_json("nova/2.92/keypair-import-request.json");
  auto imported = nova.import_keypair(want["keypair"]["name"], want["keypair"]["public_key"],
                                      want["keypair"]["user_id"]);
  ASSERT_TRUE(imported.ok()) << imported.error().to_string();
  EXPECT_EQ(imported->value.fingerprint, "7e:43:23:43:a5:7d:0d:4f:c9:2a:6d:72:5d:14:7c:ee");
  auto requests = compute_requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(json::parse(requests[0].body), want);
  auto shown = nova.keypair("migprobe-c1");
  ASSERT_TRUE(shown.ok()) << shown.error().to_string();
  EXPECT_EQ(shown->value.public_key, want["keypair"]["public_key"]);
  EXPECT_TRUE(nova.delete_keypair("migprobe-c1").ok());
  // No type before 2.2, no user_id before 2.10.
  const json old = keypair_import_body("k", "ssh-ed25519 AAAA", "u", {2, 1});
  EXPECT_FALSE(old["keypair"].contains("type"));
  EXPECT_FALSE(old["keypair"].contains("user_id"));
  EXPECT_TRUE(
      keypair_import_body("k", "ssh-ed25519 AAAA", "u", {2, 10})["keypair"].contains("user_id"));
}

TEST_F(FakeNova, ServersOnHostAsHostEvacuateLiveFindsThem) {
  auto servers = client().servers_on_host("compute1");
  ASSERT_TRUE(servers.ok()) << servers.error().to_string();
  json doc = fixture_json("nova/2.96/servers-detail.json");
  ASSERT_EQ(servers->value.size(), doc["servers"].size());
  EXPECT_EQ(servers->value[0].id, doc["servers"][0]["id"]);
  EXPECT_EQ(servers->value[1].name, "vm-green");
  EXPECT_EQ(servers->value[0].addresses.size(), 3u);
  auto requests = compute_requests();
  ASSERT_EQ(requests.size(), 2u);  // the fixture has a next link; the second page is empty
  EXPECT_EQ(requests[0].query("host"), "compute1");
  EXPECT_EQ(requests[0].query("all_tenants"), "1");
  EXPECT_EQ(requests[1].query("marker"), "19706aef-ddc9-4d91-b310-5118ae042de3");
  EXPECT_EQ(requests[1].query("host"), "compute1");
  EXPECT_EQ(servers->request_id, "req-GET/servers/detail");
}

TEST_F(FakeNova, HypervisorServersPerMicroversion) {
  // From 2.53 a pattern search: Nova answers every hypervisor whose name contains it.
  auto modern = client().hypervisor_servers("cmp-b0");
  ASSERT_TRUE(modern.ok()) << modern.error().to_string();
  ASSERT_EQ(modern->value.size(), 2u);
  EXPECT_EQ(modern->value[0].servers.size(), 2u);
  EXPECT_TRUE(modern->value[1].servers.empty());
  EXPECT_EQ(compute_requests().back().query("hypervisor_hostname_pattern"), "cmp-b0");
  EXPECT_EQ(compute_requests().back().query("with_servers"), "true");
  auto strict = client().hypervisor_servers("cmp-b0", true);
  ASSERT_TRUE(strict.ok());
  EXPECT_TRUE(strict->value.empty());
  auto exact = client().hypervisor_servers("cmp-b02.rack4.lab.example", true);
  ASSERT_TRUE(exact.ok());
  ASSERT_EQ(exact->value.size(), 1u);
  EXPECT_EQ(exact->value[0].servers.at(0).name, "vm-red");
  auto old = client({2, 52}).hypervisor_servers("cmp-a07.rack3.lab.example");
  ASSERT_TRUE(old.ok()) << old.error().to_string();
  EXPECT_EQ(old->value.at(0).id, "7");
  EXPECT_EQ(compute_requests().back().path(),
            kProject + "/os-hypervisors/cmp-a07.rack3.lab.example/servers");
}

TEST_F(FakeNova, LiveMigrateBodyPerNegotiatedMicroversion) {
  struct Case {
    Microversion max;
    const char* host;
    const char* fixture_path;
  };
  for (const Case& c : {Case{{2, 1}, "cmp-b02", "nova/2.1/live-migrate.json"},
                        Case{{2, 24}, "cmp-b02", "nova/2.24/live-migrate.json"},
                        Case{{2, 25}, "cmp-b02", "nova/2.25/live-migrate.json"},
                        Case{{2, 30}, "cmp-b02", "nova/2.30/live-migrate.json"},
                        Case{{2, 96}, "cmp-b02", "nova/2.68/live-migrate.json"},
                        Case{{2, 96}, "", "nova/2.80/live-migrate-any-host.json"}}) {
    LiveMigrateOptions o;
    o.host = c.host;
    auto accepted = client(c.max).live_migrate(kServer, o);
    ASSERT_TRUE(accepted.ok()) << accepted.error().to_string();
    EXPECT_EQ(accepted->request_id, "req-POST/servers/" + kServer + "/action");
    const ReceivedRequest sent = compute_requests().back();
    EXPECT_EQ(sent.method, "POST");
    EXPECT_EQ(sent.headers.at("content-type"), "application/json");
    EXPECT_EQ(json::parse(sent.body), fixture_json(c.fixture_path)) << c.fixture_path;
  }
}

TEST_F(FakeNova, MigrationProgressForceCompleteAndAbort) {
  NovaClient nova = client();
  auto list = nova.server_migrations(kServer);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->value.size(), 1u);
  EXPECT_EQ(list->value[0].memory_processed_bytes, 3221225472u);
  auto m = nova.server_migration(kServer, list->value[0].id);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->value.id, kMigration);
  EXPECT_EQ(m->value.status, "running");
  EXPECT_EQ(m->value.memory_total_bytes, 4294967296u);
  EXPECT_EQ(m->value.memory_processed_bytes, 3758096384u);
  EXPECT_EQ(m->value.memory_remaining_bytes, 536870912u);

  auto forced = nova.force_complete(kServer, kMigration);
  ASSERT_TRUE(forced.ok()) << forced.error().to_string();
  auto sent = compute_requests().back();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path(), kProject + kMigrationPath + "/action");
  EXPECT_EQ(json::parse(sent.body), fixture_json("nova/2.22/force-complete.json"));

  auto aborted = nova.abort_migration(kServer, kMigration);
  ASSERT_TRUE(aborted.ok()) << aborted.error().to_string();
  EXPECT_EQ(compute_requests().back().method, "DELETE");
  EXPECT_EQ(aborted->request_id, "req-DELETE" + kMigrationPath);
}

TEST_F(FakeNova, OperationsBelowTheirMicroversionAreRefusedLocally) {
  NovaClient old = client({2, 21});
  size_t before = compute_requests().size();
  EXPECT_EQ(old.force_complete(kServer, kMigration).error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(old.abort_migration(kServer, kMigration).error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(old.diagnostics(kServer).error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(compute_requests().size(), before);
}

TEST_F(FakeNova, OsMigrationsFollowsPages) {
  MigrationFilter f;
  f.limit = 2;
  auto all = client().migrations(f);
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  auto requests = compute_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].query("limit"), "2");
  EXPECT_EQ(requests[1].query("marker"), "819a7f58-f3e1-4f84-8320-2d1d329728b8");
  size_t expected = fixture_json("nova/2.80/os-migrations-limit.json")["migrations"].size() +
                    fixture_json("nova/2.80/os-migrations-marker.json")["migrations"].size();
  ASSERT_EQ(all->value.size(), expected);
  EXPECT_EQ(all->value[0].uuid, "81d52509-bcd5-40fe-8821-048c1fa48c2c");
  EXPECT_EQ(all->value[2].id, kMigration);
  EXPECT_EQ(all->value[2].status, "running");
}

TEST_F(FakeNova, InstanceActionsAndEvents) {
  NovaClient nova = client();
  auto actions = nova.instance_actions(kServer);
  ASSERT_TRUE(actions.ok()) << actions.error().to_string();
  EXPECT_EQ(compute_requests().size(), 2u);  // the limit fixture links to a second page
  EXPECT_EQ(compute_requests().back().query("marker"), "req-78b24749-af09-4ba3-b7f5-e9be2a64a484");
  ASSERT_EQ(actions->value.size(), 2u);
  EXPECT_EQ(actions->value[0].action, "live-migration");
  EXPECT_EQ(actions->value[1].action, "create");
  auto action = nova.instance_action(kServer, "req-78b24749-af09-4ba3-b7f5-e9be2a64a484");
  ASSERT_TRUE(action.ok()) << action.error().to_string();
  EXPECT_EQ(action->value.request_id, "req-78b24749-af09-4ba3-b7f5-e9be2a64a484");
  ASSERT_EQ(action->value.events.size(), 2u);
  EXPECT_EQ(action->value.events[0].event, "compute_check_can_live_migrate_destination");
  EXPECT_EQ(action->value.events[0].result, "Success");
  EXPECT_EQ(action->value.events[0].host, "cmp-b02");
}

TEST_F(FakeNova, Diagnostics) {
  auto d = client().diagnostics(kServer);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->value.nic_details.at(0).rx_packets, 812003u);
}

TEST_F(FakeNova, ErrorsCarryNovaMessageStatusAndRequestId) {
  special = [](const ReceivedRequest& r, Reply& reply) {
    if (r.path().find("/servers/busy/action") == std::string::npos) return false;
    reply = Reply{409,
                  R"({"conflictingRequest": {"code": 409, "message": "Cannot 'os-migrateLive')"
                  R"( instance busy while it is in task_state migrating"}})",
                  {{"x-openstack-request-id", "req-409"}}};
    return true;
  };
  NovaClient nova = client();
  auto busy = nova.live_migrate("busy", {});
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().kind, ErrorKind::kHttp);
  EXPECT_EQ(busy.error().http_status, 409);
  EXPECT_EQ(busy.error().request_id, "req-409");
  EXPECT_NE(busy.error().message.find("task_state migrating"), std::string::npos);
  EXPECT_NE(busy.error().to_string().find("HTTP 409 [req-409]"), std::string::npos);

  auto missing = nova.server("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().http_status, 404);
  EXPECT_EQ(missing.error().message, "Instance could not be found. (itemNotFound)");
}

TEST_F(FakeNova, RetriesGetButNeverLiveMigrate) {
  std::atomic<int> gets{0};
  std::atomic<int> posts{0};
  special = [&](const ReceivedRequest& r, Reply& reply) {
    if (r.path().find("/servers/flaky") == std::string::npos) return false;
    int n = r.method == "GET" ? ++gets : ++posts;
    if (r.method == "GET" && n > 1) {
      reply = Reply{200, fixture("nova/2.96/server.json")};
    } else {
      reply = Reply{500,
                    R"({"computeFault": {"code": 500, "message": "Unexpected API Error."}})",
                    {{"x-openstack-request-id", "req-500"}}};
    }
    return true;
  };
  NovaClient nova = client();
  auto got = nova.server("flaky");
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(gets, 2);
  auto migrate = nova.live_migrate("flaky", {});
  ASSERT_FALSE(migrate.ok());
  EXPECT_EQ(posts, 1);
  EXPECT_EQ(migrate.error().http_status, 500);
  EXPECT_EQ(migrate.error().request_id, "req-500");
  EXPECT_NE(migrate.error().message.find("Unexpected API Error."), std::string::npos);
}

}  // namespace
}  // namespace migprobe::control

namespace migprobe::control {
namespace {

// A catalog whose compute endpoint has no project id, under a path prefix, and a Nova
// that only answers the version list at the server root.
TEST(NovaDiscovery, EndpointWithoutProjectIdAndVersionListFallback) {
  testing::TestHttpServer server([&server](const testing::ReceivedRequest& r) {
    const std::string path = r.path();
    if (path == "/identity/v3/auth/tokens") {
      std::string body = testing::fixture_token_body(server.base_url());
      const std::string old = server.base_url() + kProject;
      for (size_t at = body.find(old); at != std::string::npos; at = body.find(old, at)) {
        body.replace(at, old.size(), server.base_url() + "/compute/v2.1");
      }
      return testing::Reply{201, body, {{"X-Subject-Token", "t"}}};
    }
    if (path == "/") return testing::Reply{200, fixture("nova/versions/root.json")};
    if (path == "/compute/v2.1/servers/" + kServer + "/migrations") {
      return testing::Reply{200, fixture("nova/2.80/server-migrations.json")};
    }
    return testing::Reply{404, R"({"itemNotFound": {"code": 404, "message": "no"}})"};
  });
  CurlTransport transport;
  Session session(transport, testing::fixture_password_config(server.base_url()),
                  testing::test_session_options());
  NovaClient nova(session);
  auto v = nova.negotiate();
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(*v, kClientMaxMicroversion);
  auto requests = server.requests();
  ASSERT_GE(requests.size(), 3u);
  EXPECT_EQ(requests[1].path(), "/compute/v2.1/");  // the version root, kept whole
  EXPECT_EQ(requests[2].path(), "/");               // then the server root's list
  auto migrations = nova.server_migrations(kServer);
  ASSERT_TRUE(migrations.ok()) << migrations.error().to_string();
  EXPECT_EQ(migrations->value.size(), 1u);
}

}  // namespace
}  // namespace migprobe::control
