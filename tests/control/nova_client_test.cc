// The Nova client against a real HTTP server on 127.0.0.1 that answers with the Nova
// samples: microversion negotiation and headers, every call's path and body, pagination,
// errors with Nova's own message, and retries only where the call is safe to repeat.
#include "control/nova_client.h"

#include <gtest/gtest.h>

#include <atomic>

#include "control/curl_transport.h"
#include "sample_cloud.h"

namespace migprobe::control {
namespace {

using nlohmann::json;
using testing::ReceivedRequest;
using testing::Reply;
using testing::sample;
using testing::sample_json;

const std::string kProject = "/v2.1/a6944d763bf64ee6a275f1263fae0352";
const std::string kServer = "4cfba335-03d8-49b2-8c52-e69043d1e8fe";

// A Keystone and a Nova on one test server. Compute routes answer the samples; a test
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
      return Reply{200, sample("nova/versions/v21-version-get-resp.json")};
    }
    Reply special_reply;
    if (special && special(r, special_reply)) return special_reply;
    if (path.rfind(kProject, 0) != 0) return Reply{404, "{}"};
    const std::string api = path.substr(kProject.size());
    const Reply::Headers ids = {{"x-openstack-request-id", "req-" + r.method + api}};
    if (api == "/servers/detail") {
      if (r.query("marker").empty()) {
        return Reply{200, sample("nova/servers/v2.96/servers-details-resp.json"), ids};
      }
      return Reply{200, R"({"servers": []})", ids};
    }
    if (api == "/os-hypervisors") {
      return Reply{200, sample("nova/os-hypervisors/v2.88/hypervisors-with-servers-resp.json"),
                   ids};
    }
    if (api == "/os-hypervisors/fake-mini/servers") {
      return Reply{200, sample("nova/os-hypervisors/hypervisors-with-servers-resp.json"), ids};
    }
    if (api == "/servers/" + kServer + "/action") {
      ++action_calls;
      return Reply{202, "", ids};
    }
    if (api == "/servers/" + kServer + "/migrations") {
      return Reply{200, sample("nova/server-migrations/v2.80/migrations-index.json"), ids};
    }
    if (api == "/servers/" + kServer + "/migrations/1") {
      if (r.method == "DELETE") return Reply{202, "", ids};
      return Reply{200, sample("nova/server-migrations/v2.80/migrations-get.json"), ids};
    }
    if (api == "/servers/" + kServer + "/migrations/1/action") return Reply{202, "", ids};
    if (api == "/os-migrations") {
      if (r.query("marker").empty()) {
        return Reply{200, sample("nova/os-migrations/v2.80/migrations-get-with-limit.json"), ids};
      }
      return Reply{200, sample("nova/os-migrations/v2.80/migrations-get-with-marker.json"), ids};
    }
    if (api == "/servers/" + kServer + "/os-instance-actions") {
      if (r.query("marker").empty()) {
        return Reply{
            200,
            sample("nova/os-instance-actions/v2.84/instance-actions-list-with-limit-resp.json"),
            ids};
      }
      return Reply{
          200, sample("nova/os-instance-actions/v2.84/instance-actions-list-with-marker-resp.json"),
          ids};
    }
    if (api.rfind("/servers/" + kServer + "/os-instance-actions/", 0) == 0) {
      return Reply{200, sample("nova/os-instance-actions/v2.84/instance-action-get-resp.json"),
                   ids};
    }
    if (api == "/servers/" + kServer + "/diagnostics") {
      return Reply{200, sample("nova/os-server-diagnostics/v2.48/server-diagnostics-get-resp.json"),
                   ids};
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
  Session session{transport, testing::sample_password_config(server.base_url()),
                  testing::test_session_options()};
};

TEST_F(FakeNova, NegotiatesAndSendsBothMicroversionHeaders) {
  NovaClient nova = client();
  EXPECT_EQ(nova.negotiate().value(), kClientMaxMicroversion);
  EXPECT_EQ(client({2, 200}).negotiate().value(), (Microversion{2, 104}));
  ASSERT_TRUE(nova.server_migrations(kServer).ok());
  auto requests = compute_requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().headers["openstack-api-version"], "compute 2.96");
  EXPECT_EQ(requests.back().headers["x-openstack-nova-api-version"], "2.96");
  EXPECT_EQ(requests.back().headers["x-auth-token"], "token-nova");
}

TEST_F(FakeNova, ServersOnHostAsHostEvacuateLiveFindsThem) {
  auto servers = client().servers_on_host("compute1");
  ASSERT_TRUE(servers.ok()) << servers.error().to_string();
  json doc = sample_json("nova/servers/v2.96/servers-details-resp.json");
  ASSERT_EQ(servers->value.size(), doc["servers"].size());
  EXPECT_EQ(servers->value[0].id, doc["servers"][0]["id"]);
  auto requests = compute_requests();
  ASSERT_EQ(requests.size(), 2u);  // the sample has a next link; the second page is empty
  EXPECT_EQ(requests[0].query("host"), "compute1");
  EXPECT_EQ(requests[0].query("all_tenants"), "1");
  EXPECT_EQ(requests[1].query("marker"), "f5dc173b-6804-445a-a6d8-c705dad5b5eb");
  EXPECT_EQ(requests[1].query("host"), "compute1");
  EXPECT_EQ(servers->request_id, "req-GET/servers/detail");
}

TEST_F(FakeNova, HypervisorServersPerMicroversion) {
  auto modern = client().hypervisor_servers("fake-mini");
  ASSERT_TRUE(modern.ok()) << modern.error().to_string();
  EXPECT_EQ(modern->value.at(0).servers.size(), 2u);
  EXPECT_EQ(compute_requests().back().query("hypervisor_hostname_pattern"), "fake-mini");
  EXPECT_EQ(compute_requests().back().query("with_servers"), "true");
  auto pattern = client().hypervisor_servers("fake");
  ASSERT_TRUE(pattern.ok());
  EXPECT_EQ(pattern->value.size(), 1u);
  auto strict = client().hypervisor_servers("fake", true);
  ASSERT_TRUE(strict.ok());
  EXPECT_TRUE(strict->value.empty());
  auto exact = client().hypervisor_servers("fake-mini", true);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->value.size(), 1u);
  auto old = client({2, 52}).hypervisor_servers("fake-mini");
  ASSERT_TRUE(old.ok()) << old.error().to_string();
  EXPECT_EQ(old->value.at(0).id, "1");
  EXPECT_EQ(compute_requests().back().path(), kProject + "/os-hypervisors/fake-mini/servers");
}

TEST_F(FakeNova, LiveMigrateBodyPerNegotiatedMicroversion) {
  LiveMigrateOptions o;
  o.host = "01c0cadef72d47e28a672a76060d492c";
  struct Case {
    Microversion max;
    const char* sample_path;
  };
  for (const Case& c : {Case{{2, 1}, "nova/os-migrate-server/live-migrate-server.json"},
                        Case{{2, 25}, "nova/os-migrate-server/v2.25/live-migrate-server.json"},
                        Case{{2, 30}, "nova/os-migrate-server/v2.30/live-migrate-server.json"},
                        Case{{2, 96}, "nova/os-migrate-server/v2.68/live-migrate-server.json"}}) {
    auto accepted = client(c.max).live_migrate(kServer, o);
    ASSERT_TRUE(accepted.ok()) << accepted.error().to_string();
    EXPECT_EQ(accepted->request_id, "req-POST/servers/" + kServer + "/action");
    const ReceivedRequest sent = compute_requests().back();
    EXPECT_EQ(sent.method, "POST");
    EXPECT_EQ(sent.headers.at("content-type"), "application/json");
    EXPECT_EQ(json::parse(sent.body), sample_json(c.sample_path)) << c.sample_path;
  }
}

TEST_F(FakeNova, MigrationProgressForceCompleteAndAbort) {
  NovaClient nova = client();
  auto list = nova.server_migrations(kServer);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->value.size(), 1u);
  auto m = nova.server_migration(kServer, list->value[0].id);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->value.status, "running");
  EXPECT_EQ(m->value.memory_total_bytes, 123456u);
  EXPECT_EQ(m->value.memory_processed_bytes, 12345u);
  EXPECT_EQ(m->value.memory_remaining_bytes, 111111u);

  auto forced = nova.force_complete(kServer, 1);
  ASSERT_TRUE(forced.ok()) << forced.error().to_string();
  auto sent = compute_requests().back();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path(), kProject + "/servers/" + kServer + "/migrations/1/action");
  EXPECT_EQ(json::parse(sent.body),
            sample_json("nova/server-migrations/v2.22/force_complete.json"));

  auto aborted = nova.abort_migration(kServer, 1);
  ASSERT_TRUE(aborted.ok()) << aborted.error().to_string();
  EXPECT_EQ(compute_requests().back().method, "DELETE");
  EXPECT_EQ(aborted->request_id, "req-DELETE/servers/" + kServer + "/migrations/1");
}

TEST_F(FakeNova, OperationsBelowTheirMicroversionAreRefusedLocally) {
  NovaClient old = client({2, 21});
  size_t before = compute_requests().size();
  EXPECT_EQ(old.force_complete(kServer, 1).error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(old.abort_migration(kServer, 1).error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(old.diagnostics(kServer).error().kind, ErrorKind::kUnsupported);
  EXPECT_EQ(compute_requests().size(), before);
}

TEST_F(FakeNova, OsMigrationsFollowsPages) {
  MigrationFilter f;
  f.limit = 1;
  auto all = client().migrations(f);
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  auto requests = compute_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].query("limit"), "1");
  EXPECT_EQ(requests[1].query("marker"), "42341d4b-346a-40d0-83c6-5f4f6892b650");
  size_t expected =
      sample_json("nova/os-migrations/v2.80/migrations-get-with-limit.json")["migrations"].size() +
      sample_json("nova/os-migrations/v2.80/migrations-get-with-marker.json")["migrations"].size();
  EXPECT_EQ(all->value.size(), expected);
  EXPECT_EQ(all->value[0].uuid, "42341d4b-346a-40d0-83c6-5f4f6892b650");
}

TEST_F(FakeNova, InstanceActionsAndEvents) {
  NovaClient nova = client();
  auto actions = nova.instance_actions(kServer);
  ASSERT_TRUE(actions.ok()) << actions.error().to_string();
  EXPECT_EQ(compute_requests().size(), 2u);  // the limit sample links to a second page
  EXPECT_EQ(compute_requests().back().query("marker"), "req-4dbefbb7-d743-4d42-b0a1-a79cbe256138");
  ASSERT_FALSE(actions->value.empty());
  auto action = nova.instance_action(kServer, "req-0d819d5c-1527-4669-bdf0-ffad31b5105b");
  ASSERT_TRUE(action.ok()) << action.error().to_string();
  EXPECT_EQ(action->value.request_id, "req-0d819d5c-1527-4669-bdf0-ffad31b5105b");
  ASSERT_EQ(action->value.events.size(), 1u);
  EXPECT_EQ(action->value.events[0].event, "compute_stop_instance");
  EXPECT_EQ(action->value.events[0].result, "Success");
}

TEST_F(FakeNova, Diagnostics) {
  auto d = client().diagnostics(kServer);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->value.nic_details.at(0).rx_packets, 26701u);
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
      reply = Reply{200, sample("nova/servers/v2.96/server-get-resp.json")};
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
      std::string body = testing::sample_token_body(server.base_url());
      const std::string old = server.base_url() + kProject;
      for (size_t at = body.find(old); at != std::string::npos; at = body.find(old, at)) {
        body.replace(at, old.size(), server.base_url() + "/compute/v2.1");
      }
      return testing::Reply{201, body, {{"X-Subject-Token", "t"}}};
    }
    if (path == "/") return testing::Reply{200, sample("nova/versions/versions-get-resp.json")};
    if (path == "/compute/v2.1/servers/" + kServer + "/migrations") {
      return testing::Reply{200, sample("nova/server-migrations/v2.80/migrations-index.json")};
    }
    return testing::Reply{404, R"({"itemNotFound": {"code": 404, "message": "no"}})"};
  });
  CurlTransport transport;
  Session session(transport, testing::sample_password_config(server.base_url()),
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
