#pragma once
// The Nova calls that drive and follow one live migration: what the migration driver
// (orchestrator/migration_driver.h) needs of Nova, and no more. NovaClient implements it
// over HTTP; unit tests drive the driver with a fake that plays Nova's states.

#include <string>
#include <vector>

#include "control/nova_requests.h"
#include "control/nova_types.h"
#include "control/result.h"
#include "control/traced.h"

namespace migprobe::control {

class MigrationApi {
 public:
  virtual ~MigrationApi() = default;

  // One server.
  virtual Result<Traced<Server>> server(const std::string& server_id) = 0;
  // POST os-migrateLive; Nova answers 202 with no body. Never retried.
  virtual Result<Traced<Done>> live_migrate(const std::string& server_id,
                                            const LiveMigrateOptions& options) = 0;
  // The in-progress migrations of a server (2.23+).
  virtual Result<Traced<std::vector<ServerMigration>>> server_migrations(
      const std::string& server_id) = 0;
  // Asks a running live migration to finish now (pauses the guest; 2.22+). Never retried.
  virtual Result<Traced<Done>> force_complete(const std::string& server_id,
                                              int64_t migration_id) = 0;
  // Aborts a live migration (2.24+).
  virtual Result<Traced<Done>> abort_migration(const std::string& server_id,
                                               int64_t migration_id) = 0;
  // GET /os-migrations with filter, every page.
  virtual Result<Traced<std::vector<Migration>>> migrations(const MigrationFilter& filter) = 0;
  // One action with its events; request_id is the one of the call that started it.
  virtual Result<Traced<InstanceAction>> instance_action(const std::string& server_id,
                                                         const std::string& request_id) = 0;
  // A server's diagnostics in the 2.48 shape (2.48+; ErrorKind::kUnsupported before).
  virtual Result<Traced<ServerDiagnostics>> diagnostics(const std::string& server_id) = 0;
};

}  // namespace migprobe::control
