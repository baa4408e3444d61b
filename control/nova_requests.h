#pragma once
// Request bodies and query strings of the compute API, built per microversion. Pure
// functions, so that tests compare them with the samples directly.

#include <nlohmann/json.hpp>
#include <string>

#include "control/microversion.h"
#include "control/result.h"

namespace migprobe::control {

// How to live-migrate one server.
struct LiveMigrateOptions {
  // Target compute host; empty lets the scheduler choose (sent as null).
  std::string host;
  // Block migration: kAuto (2.25+, Nova decides from the storage) or forced on/off.
  enum class BlockMigration { kAuto, kYes, kNo };
  BlockMigration block_migration = BlockMigration::kAuto;
  // Before 2.25 only: skip the disk over-commit check.
  bool disk_over_commit = false;
  // 2.30 to 2.67 only: bypass the scheduler's checks of host. An error elsewhere.
  bool force = false;
};

// The os-migrateLive action body for microversion: before 2.25 block_migration is a bool
// and disk_over_commit is sent; from 2.25 block_migration may be "auto"; from 2.30 force
// is sent with a host; from 2.68 force no longer exists.
Result<nlohmann::json> live_migrate_body(const LiveMigrateOptions& options, Microversion version);

// The force-complete action body (2.22+): {"force_complete": null}.
nlohmann::json force_complete_body();

struct ServerCreate;
// POST /servers for one server: host targeting by microversion (the host field from 2.74,
// availability_zone "nova:HOST" before), networks as a list of one network or "auto"
// (2.37+), tags from 2.52.
nlohmann::json server_create_body(const ServerCreate& server, Microversion version);

struct FlavorCreate;
// POST /flavors: a public flavor; the description from 2.55 on.
nlohmann::json flavor_create_body(const FlavorCreate& flavor, Microversion version);

// POST /os-keypairs importing public_key for user_id (an ssh key; type from 2.2, user_id
// from 2.10).
nlohmann::json keypair_import_body(const std::string& name, const std::string& public_key,
                                   const std::string& user_id, Microversion version);

// Filters of GET /os-migrations.
struct MigrationFilter {
  std::string instance_uuid;
  // "live-migration", "migration", "resize", "evacuation" (2.23+).
  std::string migration_type;
  std::string source_compute;
  std::string host;
  std::string status;
  // 2.59+: changes-since (ISO 8601).
  std::string changes_since;
  // 2.59+: page size (0: the server's default) and the uuid to start after.
  int limit = 0;
  std::string marker;
};

// The query string (without "?") for filter at version; 2.59-only parameters are left out
// below 2.59.
std::string migrations_query(const MigrationFilter& filter, Microversion version);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
std::string url_encode(const std::string& value);

// The value of parameter name in a query string, "" when absent.
std::string query_value(const std::string& query, const std::string& name);

}  // namespace migprobe::control
