// Compute request bodies, queries and version negotiation, checked against the project's Nova
// fixtures (tests/fixtures/openstack/nova).
#include "control/nova_requests.h"

#include <gtest/gtest.h>

#include "control/microversion.h"
#include "control/nova_types.h"
#include "fixture_cloud.h"

namespace migprobe::control {
namespace {

using testing::fixture;
using testing::fixture_json;
using Block = LiveMigrateOptions::BlockMigration;

constexpr const char* kHost = "cmp-b02";

TEST(LiveMigrateBody, Before225SendsBoolAndDiskOverCommit) {
  LiveMigrateOptions o{kHost, Block::kNo, false, false};
  EXPECT_EQ(live_migrate_body(o, {2, 1}).value(), fixture_json("nova/2.1/live-migrate.json"));
  EXPECT_EQ(live_migrate_body(o, {2, 24}).value(), fixture_json("nova/2.24/live-migrate.json"));
  // "auto" did not exist yet: shared-storage migration.
  LiveMigrateOptions automatic{kHost, Block::kAuto, false, false};
  EXPECT_EQ(live_migrate_body(automatic, {2, 1}).value(),
            fixture_json("nova/2.1/live-migrate.json"));
}

TEST(LiveMigrateBody, From225BlockMigrationAuto) {
  LiveMigrateOptions o{kHost, Block::kAuto, false, false};
  EXPECT_EQ(live_migrate_body(o, {2, 25}).value(), fixture_json("nova/2.25/live-migrate.json"));
  LiveMigrateOptions yes{kHost, Block::kYes, false, false};
  EXPECT_EQ(live_migrate_body(yes, {2, 25}).value()["os-migrateLive"]["block_migration"], true);
}

TEST(LiveMigrateBody, From230ForceWithHost) {
  LiveMigrateOptions o{kHost, Block::kAuto, false, false};
  EXPECT_EQ(live_migrate_body(o, {2, 30}).value(), fixture_json("nova/2.30/live-migrate.json"));
  o.force = true;
  EXPECT_EQ(live_migrate_body(o, {2, 67}).value()["os-migrateLive"]["force"], true);
}

TEST(LiveMigrateBody, From268NoForce) {
  LiveMigrateOptions o{kHost, Block::kAuto, false, false};
  EXPECT_EQ(live_migrate_body(o, {2, 68}).value(), fixture_json("nova/2.68/live-migrate.json"));
  o.force = true;
  auto forced = live_migrate_body(o, {2, 68});
  ASSERT_FALSE(forced.ok());
  EXPECT_EQ(forced.error().kind, ErrorKind::kUnsupported);
  EXPECT_FALSE(live_migrate_body(o, {2, 29}).ok());
}

TEST(LiveMigrateBody, NoHostLetsSchedulerChoose) {
  LiveMigrateOptions o;
  EXPECT_EQ(live_migrate_body(o, {2, 80}).value(),
            fixture_json("nova/2.80/live-migrate-any-host.json"));
  EXPECT_EQ(live_migrate_body(o, {2, 65}).value(),
            fixture_json("nova/2.65/live-migrate-any-host.json"));
}

TEST(ForceComplete, BodyMatchesFixture) {
  EXPECT_EQ(force_complete_body(), fixture_json("nova/2.22/force-complete.json"));
}

// The bootstrap's server: host targeting by the host field from 2.74, by the availability
// zone before it; tags from 2.52; networks "auto" when none is named (2.37+).
TEST(ServerCreateBody, HostTargetingByMicroversion) {
  ServerCreate c;
  c.name = "mp-test-1";
  c.image_id = "70a599e0-31e7-49b7-b260-868f441e862b";
  c.flavor_id = "1";
  c.network_id = "5d4b8a3e-7c61-4f0e-9a1b-2c3d4e5f6a70";
  c.key_name = "mp-test-key";
  c.security_groups = {"default"};
  c.metadata = {{"migprobe_campaign", "c1"}};
  c.tags = {"migprobe"};
  c.host = "hostB";
  EXPECT_EQ(server_create_body(c, {2, 74}), fixture_json("nova/2.74/server-create-request.json"));
  const nlohmann::json before = server_create_body(c, {2, 73})["server"];
  EXPECT_FALSE(before.contains("host"));
  EXPECT_EQ(before["availability_zone"], "nova:hostB");
  EXPECT_EQ(before["tags"], nlohmann::json::array({"migprobe"}));
  const nlohmann::json old = server_create_body(c, {2, 51})["server"];
  EXPECT_FALSE(old.contains("tags"));
  c.network_id.clear();
  c.host.clear();
  EXPECT_EQ(server_create_body(c, {2, 37})["server"]["networks"], "auto");
  EXPECT_FALSE(server_create_body(c, {2, 36})["server"].contains("networks"));
  EXPECT_FALSE(server_create_body(c, {2, 74})["server"].contains("host"));
}

TEST(MigrationsQuery, PaginationOnlyFrom259) {
  MigrationFilter f;
  f.instance_uuid = "435d167e-b05b-461e-b469-e13504bb2af5";
  f.migration_type = "live-migration";
  f.limit = 1;
  f.marker = "819a7f58-f3e1-4f84-8320-2d1d329728b8";
  EXPECT_EQ(migrations_query(f, {2, 59}),
            "instance_uuid=435d167e-b05b-461e-b469-e13504bb2af5&migration_type=live-migration"
            "&limit=1&marker=819a7f58-f3e1-4f84-8320-2d1d329728b8");
  EXPECT_EQ(migrations_query(f, {2, 58}),
            "instance_uuid=435d167e-b05b-461e-b469-e13504bb2af5&migration_type=live-migration");
  EXPECT_EQ(url_encode("a b/c"), "a%20b%2Fc");
  EXPECT_EQ(query_value("limit=1&marker=x", "marker"), "x");
}

TEST(Microversion, ParsesAndOrders) {
  EXPECT_EQ(parse_microversion("2.104").value(), (Microversion{2, 104}));
  EXPECT_LT((Microversion{2, 9}), (Microversion{2, 10}));
  EXPECT_FALSE(parse_microversion("").ok());
  EXPECT_FALSE(parse_microversion("2.x").ok());
  EXPECT_EQ((Microversion{2, 25}).to_string(), "2.25");
}

TEST(Microversion, ReadsBothVersionDocuments) {
  for (const char* path : {"nova/versions/root.json", "nova/versions/v2.1.json"}) {
    auto v = parse_compute_version_document(fixture(path));
    ASSERT_TRUE(v.ok()) << path << ": " << v.error().to_string();
    EXPECT_EQ(v->id, "v2.1");
    EXPECT_EQ(v->min_version, (Microversion{2, 1}));
    EXPECT_EQ(v->max_version, (Microversion{2, 100}));
    EXPECT_EQ(negotiate_microversion(*v, {2, 96}).value(), (Microversion{2, 96}));
    EXPECT_EQ(negotiate_microversion(*v, {2, 200}).value(), (Microversion{2, 100}));
  }
  auto legacy = parse_compute_version_document(fixture("nova/versions/v2.0.json"));
  ASSERT_FALSE(legacy.ok());
  EXPECT_EQ(legacy.error().kind, ErrorKind::kUnsupported);
}

TEST(Microversion, RefusesServerAboveClient) {
  ComputeVersion v{"v2.1", {2, 60}, {2, 90}, "CURRENT"};
  EXPECT_FALSE(negotiate_microversion(v, {2, 50}).ok());
}

}  // namespace
}  // namespace migprobe::control
