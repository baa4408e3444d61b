#pragma once
// The Nova (compute) client of migprobe-control: microversion negotiation, finding the
// servers on a host, live migration and its follow-up (progress, force complete, abort),
// the migration history, instance actions and diagnostics. Every call returns the
// x-openstack-request-id of its response; errors carry Nova's own message.

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "control/microversion.h"
#include "control/migration_api.h"
#include "control/nova_requests.h"
#include "control/nova_types.h"
#include "control/result.h"
#include "control/session.h"

namespace migprobe::control {

// Client tuning.
struct NovaOptions {
  // The highest microversion to ask for; the server's maximum caps it.
  Microversion max_microversion = kClientMaxMicroversion;
  // Catalog service type of Nova.
  std::string service_type = "compute";
  // Page size for paginated lists (os-migrations 2.59+); 0 leaves it to Nova.
  int page_size = 0;
};

// Talks to Nova through an authenticated session. Thread-safe.
class NovaClient : public MigrationApi {
 public:
  // session must outlive the client.
  explicit NovaClient(Session& session, NovaOptions options = {});

  // Reads the compute endpoint's version document and picks the microversion. Done
  // lazily by every other call; call it first to fail early.
  Result<Microversion> negotiate();

  // The servers whose compute host is host (GET /servers/detail?host=H&all_tenants=1),
  // every page.
  Result<Traced<std::vector<Server>>> servers_on_host(const std::string& host);
  // The hypervisors matching hostname with their servers, the way `nova
  // host-evacuate-live` lists what to move (os-hypervisors/{h}/servers before 2.53,
  // ?hypervisor_hostname_pattern=h&with_servers=true from 2.53). Nova matches a pattern
  // ("compute1" also finds "compute10"); strict keeps only hypervisor_hostname == hostname,
  // like host-evacuate-live --strict.
  Result<Traced<std::vector<Hypervisor>>> hypervisor_servers(const std::string& hostname,
                                                             bool strict = false);
  // The caller's project's servers whose name matches name_regex (Nova matches it as a
  // regular expression: "^mp-c1-"), every page.
  Result<Traced<std::vector<Server>>> servers_named(const std::string& name_regex);
  // One server.
  Result<Traced<Server>> server(const std::string& server_id) override;
  // POST /servers: boots one server; its id. Never retried (a retry could boot two).
  Result<Traced<std::string>> create_server(const ServerCreate& server);
  // DELETE /servers/{id} (Nova deletes it in the background: 404 once gone).
  Result<Traced<Done>> delete_server(const std::string& server_id);
  // Every flavor the caller may use, public and private for an admin (GET
  // /flavors/detail?is_public=None), every page.
  Result<Traced<std::vector<Flavor>>> flavors();
  // POST /flavors (an admin call): a public flavor. Never retried (409 when the name or id
  // is taken).
  Result<Traced<Flavor>> create_flavor(const FlavorCreate& flavor);
  // DELETE /flavors/{id}.
  Result<Traced<Done>> delete_flavor(const std::string& flavor_id);

  // POST /os-keypairs importing an ssh public key for user_id ("" for the caller). Never
  // retried.
  Result<Traced<Keypair>> import_keypair(const std::string& name, const std::string& public_key,
                                         const std::string& user_id = {});
  // GET /os-keypairs/{name}.
  Result<Traced<Keypair>> keypair(const std::string& name);
  // DELETE /os-keypairs/{name}.
  Result<Traced<Done>> delete_keypair(const std::string& name);

  // POST os-migrateLive; Nova answers 202 with no body. Never retried.
  Result<Traced<Done>> live_migrate(const std::string& server_id,
                                    const LiveMigrateOptions& options) override;
  // The in-progress migrations of a server (2.23+).
  Result<Traced<std::vector<ServerMigration>>> server_migrations(
      const std::string& server_id) override;
  // One in-progress migration, with its memory and disk progress (2.23+).
  Result<Traced<ServerMigration>> server_migration(const std::string& server_id,
                                                   int64_t migration_id);
  // Asks a running live migration to finish now (pauses the guest; 2.22+). Never retried.
  Result<Traced<Done>> force_complete(const std::string& server_id, int64_t migration_id) override;
  // Aborts a live migration (2.24+).
  Result<Traced<Done>> abort_migration(const std::string& server_id, int64_t migration_id) override;

  // GET /os-migrations with filter; from 2.59, every page is fetched (marker/limit and
  // the migrations_links next link).
  Result<Traced<std::vector<Migration>>> migrations(const MigrationFilter& filter) override;
  // The actions of a server, newest first; every page from 2.58.
  Result<Traced<std::vector<InstanceAction>>> instance_actions(const std::string& server_id);
  // One action with its events; request_id is the one of the call that started it.
  Result<Traced<InstanceAction>> instance_action(const std::string& server_id,
                                                 const std::string& request_id) override;
  // How many times the session authenticated (token renewals included).
  int authentications() const { return session_.auth_count(); }

  // A server's diagnostics in the 2.48 shape (2.48+).
  Result<Traced<ServerDiagnostics>> diagnostics(const std::string& server_id) override;

 private:
  // A call at the negotiated microversion.
  Result<HttpResponse> send(const std::string& method, const std::string& path,
                            const std::string& body = {}, bool idempotent = true);
  // GET /servers/detail?query, every page.
  Result<Traced<std::vector<Server>>> servers_detail(const std::string& query);
  // Fails with kUnsupported when the negotiated version is below minimum.
  Result<Microversion> require(Microversion minimum, const char* what);

  Session& session_;
  const NovaOptions options_;
  // Guards version_.
  std::mutex mutex_;
  // The negotiated microversion, none until negotiate() succeeds.
  std::optional<Microversion> version_;
};

}  // namespace migprobe::control
