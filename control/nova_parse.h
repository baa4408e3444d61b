#pragma once
// Reading the compute API's response bodies into nova_types.h structs. Each function takes
// the whole body and fails with kParse when the expected top-level key is missing.

#include <string>

#include "control/nova_types.h"
#include "control/result.h"

namespace migprobe::control {

// {"servers": [...], "servers_links": [...]}.
Result<Page<Server>> parse_servers(const std::string& body);
// POST /servers' answer: the new server's id.
Result<std::string> parse_created_server(const std::string& body);
// {"server": {...}}.
Result<Server> parse_server(const std::string& body);
// GET /flavors/detail.
Result<Page<Flavor>> parse_flavors(const std::string& body);
// {"flavor": {...}}: the answer of create and show.
Result<Flavor> parse_flavor(const std::string& body);
// {"keypair": {...}}: the answer of import and show.
Result<Keypair> parse_keypair(const std::string& body);
// {"hypervisors": [...]} with or without "servers" in each.
Result<std::vector<Hypervisor>> parse_hypervisors(const std::string& body);
// {"migrations": [...]} of GET /servers/{id}/migrations.
Result<std::vector<ServerMigration>> parse_server_migrations(const std::string& body);
// {"migration": {...}} of GET /servers/{id}/migrations/{mid}.
Result<ServerMigration> parse_server_migration(const std::string& body);
// {"migrations": [...], "migrations_links": [...]} of GET /os-migrations.
Result<Page<Migration>> parse_migrations(const std::string& body);
// {"instanceActions": [...], "links": [...]}.
Result<Page<InstanceAction>> parse_instance_actions(const std::string& body);
// {"instanceAction": {..., "events": [...]}}.
Result<InstanceAction> parse_instance_action(const std::string& body);
// The 2.48 diagnostics document.
Result<ServerDiagnostics> parse_server_diagnostics(const std::string& body);

}  // namespace migprobe::control
