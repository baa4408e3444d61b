// Compute request bodies, queries and version negotiation, checked against the Nova samples.
#include "control/nova_requests.h"

#include <gtest/gtest.h>

#include "control/microversion.h"
#include "sample_cloud.h"

namespace migprobe::control {
namespace {

using testing::sample;
using testing::sample_json;
using Block = LiveMigrateOptions::BlockMigration;

constexpr const char* kHost = "01c0cadef72d47e28a672a76060d492c";

TEST(LiveMigrateBody, Before225SendsBoolAndDiskOverCommit) {
  LiveMigrateOptions o{kHost, Block::kNo, false, false};
  EXPECT_EQ(live_migrate_body(o, {2, 1}).value(),
            sample_json("nova/os-migrate-server/live-migrate-server.json"));
  EXPECT_EQ(live_migrate_body(o, {2, 24}).value(),
            sample_json("nova/server-migrations/v2.24/live-migrate-server.json"));
  // "auto" did not exist yet: shared-storage migration.
  LiveMigrateOptions automatic{kHost, Block::kAuto, false, false};
  EXPECT_EQ(live_migrate_body(automatic, {2, 1}).value(),
            sample_json("nova/os-migrate-server/live-migrate-server.json"));
}

TEST(LiveMigrateBody, From225BlockMigrationAuto) {
  LiveMigrateOptions o{kHost, Block::kAuto, false, false};
  EXPECT_EQ(live_migrate_body(o, {2, 25}).value(),
            sample_json("nova/os-migrate-server/v2.25/live-migrate-server.json"));
  LiveMigrateOptions yes{kHost, Block::kYes, false, false};
  EXPECT_EQ(live_migrate_body(yes, {2, 25}).value()["os-migrateLive"]["block_migration"], true);
}

TEST(LiveMigrateBody, From230ForceWithHost) {
  LiveMigrateOptions o{kHost, Block::kAuto, false, false};
  EXPECT_EQ(live_migrate_body(o, {2, 30}).value(),
            sample_json("nova/os-migrate-server/v2.30/live-migrate-server.json"));
  o.force = true;
  EXPECT_EQ(live_migrate_body(o, {2, 67}).value()["os-migrateLive"]["force"], true);
}

TEST(LiveMigrateBody, From268NoForce) {
  LiveMigrateOptions o{kHost, Block::kAuto, false, false};
  EXPECT_EQ(live_migrate_body(o, {2, 68}).value(),
            sample_json("nova/os-migrate-server/v2.68/live-migrate-server.json"));
  o.force = true;
  auto forced = live_migrate_body(o, {2, 68});
  ASSERT_FALSE(forced.ok());
  EXPECT_EQ(forced.error().kind, ErrorKind::kUnsupported);
  EXPECT_FALSE(live_migrate_body(o, {2, 29}).ok());
}

TEST(LiveMigrateBody, NoHostLetsSchedulerChoose) {
  LiveMigrateOptions o;
  EXPECT_EQ(live_migrate_body(o, {2, 80}).value(),
            sample_json("nova/server-migrations/v2.80/live-migrate-server.json"));
  EXPECT_EQ(live_migrate_body(o, {2, 65}).value(),
            sample_json("nova/server-migrations/v2.65/live-migrate-server.json"));
}

TEST(ForceComplete, BodyMatchesSample) {
  EXPECT_EQ(force_complete_body(), sample_json("nova/server-migrations/v2.22/force_complete.json"));
}

TEST(MigrationsQuery, PaginationOnlyFrom259) {
  MigrationFilter f;
  f.instance_uuid = "9128d044-7b61-403e-b766-7547076ff6c1";
  f.migration_type = "live-migration";
  f.limit = 1;
  f.marker = "42341d4b-346a-40d0-83c6-5f4f6892b650";
  EXPECT_EQ(migrations_query(f, {2, 59}),
            "instance_uuid=9128d044-7b61-403e-b766-7547076ff6c1&migration_type=live-migration"
            "&limit=1&marker=42341d4b-346a-40d0-83c6-5f4f6892b650");
  EXPECT_EQ(migrations_query(f, {2, 58}),
            "instance_uuid=9128d044-7b61-403e-b766-7547076ff6c1&migration_type=live-migration");
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
  for (const char* path :
       {"nova/versions/versions-get-resp.json", "nova/versions/v21-version-get-resp.json"}) {
    auto v = parse_compute_version_document(sample(path));
    ASSERT_TRUE(v.ok()) << path << ": " << v.error().to_string();
    EXPECT_EQ(v->id, "v2.1");
    EXPECT_EQ(v->min_version, (Microversion{2, 1}));
    EXPECT_EQ(v->max_version, (Microversion{2, 104}));
    EXPECT_EQ(negotiate_microversion(*v, {2, 96}).value(), (Microversion{2, 96}));
    EXPECT_EQ(negotiate_microversion(*v, {2, 200}).value(), (Microversion{2, 104}));
  }
  auto legacy = parse_compute_version_document(sample("nova/versions/v2-version-get-resp.json"));
  ASSERT_FALSE(legacy.ok());
  EXPECT_EQ(legacy.error().kind, ErrorKind::kUnsupported);
}

TEST(Microversion, RefusesServerAboveClient) {
  ComputeVersion v{"v2.1", {2, 60}, {2, 90}, "CURRENT"};
  EXPECT_FALSE(negotiate_microversion(v, {2, 50}).ok());
}

}  // namespace
}  // namespace migprobe::control
