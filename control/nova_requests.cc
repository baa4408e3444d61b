// Compute API request bodies per microversion.
#include "control/nova_requests.h"

#include <cctype>
#include <cstdio>
#include <sstream>

#include "control/nova_types.h"

namespace migprobe::control {

Result<nlohmann::json> live_migrate_body(const LiveMigrateOptions& options, Microversion v) {
  using Block = LiveMigrateOptions::BlockMigration;
  nlohmann::json body;
  body["host"] = options.host.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.host);
  if (v < Microversion{2, 25}) {
    // No "auto" yet: the old default was a shared-storage migration.
    body["block_migration"] = options.block_migration == Block::kYes;
    body["disk_over_commit"] = options.disk_over_commit;
  } else if (options.block_migration == Block::kAuto) {
    body["block_migration"] = "auto";
  } else {
    body["block_migration"] = options.block_migration == Block::kYes;
  }
  const bool force_exists = v >= Microversion{2, 30} && v < Microversion{2, 68};
  if (options.force && !force_exists) {
    return make_error(
        ErrorKind::kUnsupported,
        "live migration 'force' needs microversion 2.30 to 2.67, using " + v.to_string());
  }
  if (force_exists && !options.host.empty()) body["force"] = options.force;
  return nlohmann::json{{"os-migrateLive", body}};
}

nlohmann::json force_complete_body() {
  return nlohmann::json{{"force_complete", nullptr}};
}

nlohmann::json flavor_create_body(const FlavorCreate& f, Microversion version) {
  nlohmann::json flavor = {{"name", f.name},
                           {"ram", f.ram_mb},
                           {"vcpus", f.vcpus},
                           {"disk", f.disk_gb},
                           {"os-flavor-access:is_public", true}};
  if (!f.id.empty()) flavor["id"] = f.id;
  if (version >= Microversion{2, 55} && !f.description.empty()) {
    flavor["description"] = f.description;
  }
  return nlohmann::json{{"flavor", flavor}};
}

nlohmann::json server_create_body(const ServerCreate& c, Microversion version) {
  nlohmann::json server = {{"name", c.name}, {"imageRef", c.image_id}, {"flavorRef", c.flavor_id}};
  if (!c.network_id.empty()) {
    server["networks"] = nlohmann::json::array({{{"uuid", c.network_id}}});
  } else if (version >= Microversion{2, 37}) {
    server["networks"] = "auto";
  }
  if (!c.key_name.empty()) server["key_name"] = c.key_name;
  if (!c.security_groups.empty()) {
    nlohmann::json groups = nlohmann::json::array();
    for (const std::string& g : c.security_groups) groups.push_back({{"name", g}});
    server["security_groups"] = groups;
  }
  if (!c.metadata.empty()) server["metadata"] = c.metadata;
  if (!c.tags.empty() && version >= Microversion{2, 52}) server["tags"] = c.tags;
  if (!c.host.empty()) {
    if (version >= Microversion{2, 74}) {
      server["host"] = c.host;
    } else {
      server["availability_zone"] = "nova:" + c.host;
    }
  }
  return nlohmann::json{{"server", server}};
}

nlohmann::json keypair_import_body(const std::string& name, const std::string& public_key,
                                   const std::string& user_id, Microversion version) {
  nlohmann::json keypair = {{"name", name}, {"public_key", public_key}};
  if (version >= Microversion{2, 2}) keypair["type"] = "ssh";
  if (version >= Microversion{2, 10} && !user_id.empty()) keypair["user_id"] = user_id;
  return nlohmann::json{{"keypair", keypair}};
}

std::string url_encode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string query_value(const std::string& query, const std::string& name) {
  std::stringstream params(query);
  std::string pair;
  while (std::getline(params, pair, '&')) {
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string::npos ? "" : pair.substr(eq + 1);
  }
  return {};
}

std::string migrations_query(const MigrationFilter& f, Microversion v) {
  std::string q;
  auto add = [&q](const char* name, const std::string& value) {
    if (value.empty()) return;
    q += (q.empty() ? "" : "&") + std::string(name) + "=" + url_encode(value);
  };
  add("instance_uuid", f.instance_uuid);
  add("migration_type", f.migration_type);
  add("source_compute", f.source_compute);
  add("host", f.host);
  add("status", f.status);
  if (v >= Microversion{2, 59}) {
    add("changes-since", f.changes_since);
    if (f.limit > 0) add("limit", std::to_string(f.limit));
    // The marker may come from a next link, already encoded.
    if (!f.marker.empty()) q += (q.empty() ? "" : "&") + std::string("marker=") + f.marker;
  }
  return q;
}

}  // namespace migprobe::control
