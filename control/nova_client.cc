// Nova calls.
#include "control/nova_client.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "control/nova_parse.h"

namespace migprobe::control {
namespace {

// The endpoint without a trailing project id: ".../v2.1/<project>" -> ".../v2.1". Nova
// answers its version document at the version root. The last segment is taken for a
// project id when it is the token's project or 32 hex digits (Keystone's id format).
std::string version_root(const std::string& endpoint, const std::string& project_id) {
  size_t slash = endpoint.find_last_of('/');
  size_t scheme = endpoint.find("://");
  if (slash == std::string::npos || scheme == std::string::npos || slash < scheme + 3) {
    return endpoint;
  }
  std::string last = endpoint.substr(slash + 1);
  bool hex_id = last.size() == 32 && std::all_of(last.begin(), last.end(), [](char c) {
                  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                });
  bool is_project = (!project_id.empty() && last == project_id) || hex_id;
  return is_project ? endpoint.substr(0, slash) : endpoint;
}

// scheme://host:port of url.
std::string origin(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  return url.substr(0, url.find('/', scheme + 3));
}

}  // namespace

NovaClient::NovaClient(Session& session, NovaOptions options)
    : session_(session), options_(std::move(options)) {}

Result<Microversion> NovaClient::negotiate() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (version_) return *version_;
  Result<std::string> endpoint = session_.endpoint(options_.service_type);
  if (!endpoint.ok()) return endpoint.error();
  ServiceCall call{options_.service_type, "GET", "", "", {}, true};
  // The versioned root first (".../v2.1/"), then the server root's version list.
  Result<ComputeVersion> found = make_error(ErrorKind::kParse, "");
  for (const std::string& url :
       {version_root(*endpoint, session_.project_id()) + "/", origin(*endpoint) + "/"}) {
    Result<HttpResponse> response = session_.call_url(url, call);
    if (!response.ok()) {
      found = response.error();
      continue;
    }
    found = parse_compute_version_document(response->body);
    if (found.ok()) break;
  }
  if (!found.ok()) return found.error();
  Result<Microversion> chosen = negotiate_microversion(*found, options_.max_microversion);
  if (!chosen.ok()) return chosen.error();
  version_ = *chosen;
  return *version_;
}

Result<Microversion> NovaClient::require(Microversion minimum, const char* what) {
  Result<Microversion> v = negotiate();
  if (!v.ok()) return v;
  if (*v < minimum) {
    return make_error(ErrorKind::kUnsupported, std::string(what) + " needs compute API " +
                                                   minimum.to_string() + ", the cloud speaks " +
                                                   v->to_string());
  }
  return v;
}

Result<HttpResponse> NovaClient::send(const std::string& method, const std::string& path,
                                      const std::string& body, bool idempotent) {
  Result<Microversion> v = negotiate();
  if (!v.ok()) return v.error();
  ServiceCall call{options_.service_type,
                   method,
                   path,
                   body,
                   {{"OpenStack-API-Version", "compute " + v->to_string()},
                    {"X-OpenStack-Nova-API-Version", v->to_string()}},
                   idempotent};
  return session_.call(call);
}

Result<Traced<std::vector<Server>>> NovaClient::servers_on_host(const std::string& host) {
  return servers_detail("host=" + url_encode(host) + "&all_tenants=1");
}

Result<Traced<std::vector<Server>>> NovaClient::servers_named(const std::string& name_regex) {
  return servers_detail("name=" + url_encode(name_regex));
}

Result<Traced<std::vector<Server>>> NovaClient::servers_detail(const std::string& query) {
  Traced<std::vector<Server>> out;
  std::string marker;
  std::set<std::string> seen;
  for (;;) {
    std::string path = "/servers/detail?" + query;
    if (!marker.empty()) path += "&marker=" + marker;
    Result<HttpResponse> r = send("GET", path);
    if (!r.ok()) return r.error();
    auto page = traced(parse_servers(r->body), *r);
    if (!page.ok()) return page.error();
    out.request_id = page->request_id;
    for (Server& s : page->value.items) out.value.push_back(std::move(s));
    marker = query_value(page->value.next_query, "marker");
    // A repeated marker would loop forever: stop there.
    if (marker.empty() || !seen.insert(marker).second) return out;
  }
}

Result<Traced<std::vector<Flavor>>> NovaClient::flavors() {
  Traced<std::vector<Flavor>> out;
  std::string marker;
  std::set<std::string> seen;
  for (;;) {
    std::string path = "/flavors/detail?is_public=None";
    if (!marker.empty()) path += "&marker=" + marker;
    Result<HttpResponse> r = send("GET", path);
    if (!r.ok()) return r.error();
    auto page = traced(parse_flavors(r->body), *r);
    if (!page.ok()) return page.error();
    out.request_id = page->request_id;
    for (Flavor& f : page->value.items) out.value.push_back(std::move(f));
    marker = query_value(page->value.next_query, "marker");
    if (marker.empty() || !seen.insert(marker).second) return out;
  }
}

Result<Traced<Flavor>> NovaClient::create_flavor(const FlavorCreate& flavor) {
  Result<Microversion> v = negotiate();
  if (!v.ok()) return v.error();
  Result<HttpResponse> r = send("POST", "/flavors", flavor_create_body(flavor, *v).dump(), false);
  if (!r.ok()) return r.error();
  return traced(parse_flavor(r->body), *r);
}

Result<Traced<std::string>> NovaClient::create_server(const ServerCreate& server) {
  Result<Microversion> v = negotiate();
  if (!v.ok()) return v.error();
  Result<HttpResponse> r = send("POST", "/servers", server_create_body(server, *v).dump(), false);
  if (!r.ok()) return r.error();
  return traced(parse_created_server(r->body), *r);
}

Result<Traced<Done>> NovaClient::delete_server(const std::string& server_id) {
  Result<HttpResponse> r = send("DELETE", "/servers/" + url_encode(server_id));
  if (!r.ok()) return r.error();
  return Traced<Done>{Done{}, r->request_id};
}

Result<Traced<Done>> NovaClient::delete_flavor(const std::string& flavor_id) {
  Result<HttpResponse> r = send("DELETE", "/flavors/" + url_encode(flavor_id));
  if (!r.ok()) return r.error();
  return Traced<Done>{Done{}, r->request_id};
}

Result<Traced<Keypair>> NovaClient::import_keypair(const std::string& name,
                                                   const std::string& public_key,
                                                   const std::string& user_id) {
  Result<Microversion> v = negotiate();
  if (!v.ok()) return v.error();
  Result<HttpResponse> r = send("POST", "/os-keypairs",
                                keypair_import_body(name, public_key, user_id, *v).dump(), false);
  if (!r.ok()) return r.error();
  return traced(parse_keypair(r->body), *r);
}

Result<Traced<Keypair>> NovaClient::keypair(const std::string& name) {
  Result<HttpResponse> r = send("GET", "/os-keypairs/" + url_encode(name));
  if (!r.ok()) return r.error();
  return traced(parse_keypair(r->body), *r);
}

Result<Traced<Done>> NovaClient::delete_keypair(const std::string& name) {
  Result<HttpResponse> r = send("DELETE", "/os-keypairs/" + url_encode(name));
  if (!r.ok()) return r.error();
  return Traced<Done>{Done{}, r->request_id};
}

Result<Traced<std::vector<Hypervisor>>> NovaClient::hypervisor_servers(const std::string& hostname,
                                                                       bool strict) {
  Result<Microversion> v = negotiate();
  if (!v.ok()) return v.error();
  std::string path = *v < Microversion{2, 53}
                         ? "/os-hypervisors/" + url_encode(hostname) + "/servers"
                         : "/os-hypervisors?hypervisor_hostname_pattern=" + url_encode(hostname) +
                               "&with_servers=true";
  Result<HttpResponse> r = send("GET", path);
  if (!r.ok()) return r.error();
  auto found = traced(parse_hypervisors(r->body), *r);
  if (found.ok() && strict) {
    std::erase_if(found->value,
                  [&](const Hypervisor& h) { return h.hypervisor_hostname != hostname; });
  }
  return found;
}

Result<Traced<Server>> NovaClient::server(const std::string& server_id) {
  Result<HttpResponse> r = send("GET", "/servers/" + url_encode(server_id));
  if (!r.ok()) return r.error();
  return traced(parse_server(r->body), *r);
}

Result<Traced<Done>> NovaClient::live_migrate(const std::string& server_id,
                                              const LiveMigrateOptions& options) {
  Result<Microversion> v = negotiate();
  if (!v.ok()) return v.error();
  Result<nlohmann::json> body = live_migrate_body(options, *v);
  if (!body.ok()) return body.error();
  // Not idempotent: a repeated os-migrateLive after a lost answer would start a second
  // migration or fail with a 409 that hides the first outcome.
  Result<HttpResponse> r =
      send("POST", "/servers/" + url_encode(server_id) + "/action", body->dump(), false);
  if (!r.ok()) return r.error();
  return Traced<Done>{Done{}, r->request_id};
}

Result<Traced<std::vector<ServerMigration>>> NovaClient::server_migrations(
    const std::string& server_id) {
  if (auto v = require({2, 23}, "listing a server's migrations"); !v.ok()) return v.error();
  Result<HttpResponse> r = send("GET", "/servers/" + url_encode(server_id) + "/migrations");
  if (!r.ok()) return r.error();
  return traced(parse_server_migrations(r->body), *r);
}

Result<Traced<ServerMigration>> NovaClient::server_migration(const std::string& server_id,
                                                             int64_t migration_id) {
  if (auto v = require({2, 23}, "showing a migration"); !v.ok()) return v.error();
  Result<HttpResponse> r = send(
      "GET", "/servers/" + url_encode(server_id) + "/migrations/" + std::to_string(migration_id));
  if (!r.ok()) return r.error();
  return traced(parse_server_migration(r->body), *r);
}

Result<Traced<Done>> NovaClient::force_complete(const std::string& server_id,
                                                int64_t migration_id) {
  if (auto v = require({2, 22}, "force complete"); !v.ok()) return v.error();
  Result<HttpResponse> r = send("POST",
                                "/servers/" + url_encode(server_id) + "/migrations/" +
                                    std::to_string(migration_id) + "/action",
                                force_complete_body().dump(), false);
  if (!r.ok()) return r.error();
  return Traced<Done>{Done{}, r->request_id};
}

Result<Traced<Done>> NovaClient::abort_migration(const std::string& server_id,
                                                 int64_t migration_id) {
  if (auto v = require({2, 24}, "aborting a live migration"); !v.ok()) return v.error();
  // Not retried either: after a lost answer the migration may already be cancelled.
  Result<HttpResponse> r = send(
      "DELETE", "/servers/" + url_encode(server_id) + "/migrations/" + std::to_string(migration_id),
      {}, false);
  if (!r.ok()) return r.error();
  return Traced<Done>{Done{}, r->request_id};
}

Result<Traced<std::vector<Migration>>> NovaClient::migrations(const MigrationFilter& filter) {
  Result<Microversion> v = negotiate();
  if (!v.ok()) return v.error();
  MigrationFilter page_filter = filter;
  if (page_filter.limit == 0) page_filter.limit = options_.page_size;
  Traced<std::vector<Migration>> out;
  std::set<std::string> seen;
  for (;;) {
    std::string query = migrations_query(page_filter, *v);
    Result<HttpResponse> r = send("GET", "/os-migrations" + (query.empty() ? "" : "?" + query));
    if (!r.ok()) return r.error();
    auto page = traced(parse_migrations(r->body), *r);
    if (!page.ok()) return page.error();
    out.request_id = page->request_id;
    for (Migration& m : page->value.items) out.value.push_back(std::move(m));
    if (*v < Microversion{2, 59}) return out;
    page_filter.marker = query_value(page->value.next_query, "marker");
    if (page_filter.marker.empty() || !seen.insert(page_filter.marker).second) return out;
  }
}

Result<Traced<std::vector<InstanceAction>>> NovaClient::instance_actions(
    const std::string& server_id) {
  Result<Microversion> v = negotiate();
  if (!v.ok()) return v.error();
  Traced<std::vector<InstanceAction>> out;
  std::string marker;
  std::set<std::string> seen;
  for (;;) {
    std::string path = "/servers/" + url_encode(server_id) + "/os-instance-actions";
    if (!marker.empty()) path += "?marker=" + marker;
    Result<HttpResponse> r = send("GET", path);
    if (!r.ok()) return r.error();
    auto page = traced(parse_instance_actions(r->body), *r);
    if (!page.ok()) return page.error();
    out.request_id = page->request_id;
    for (InstanceAction& a : page->value.items) out.value.push_back(std::move(a));
    // Pages exist from 2.58 on.
    if (*v < Microversion{2, 58}) return out;
    marker = query_value(page->value.next_query, "marker");
    if (marker.empty() || !seen.insert(marker).second) return out;
  }
}

Result<Traced<InstanceAction>> NovaClient::instance_action(const std::string& server_id,
                                                           const std::string& request_id) {
  Result<HttpResponse> r = send("GET", "/servers/" + url_encode(server_id) +
                                           "/os-instance-actions/" + url_encode(request_id));
  if (!r.ok()) return r.error();
  return traced(parse_instance_action(r->body), *r);
}

Result<Traced<ServerDiagnostics>> NovaClient::diagnostics(const std::string& server_id) {
  if (auto v = require({2, 48}, "standard server diagnostics"); !v.ok()) return v.error();
  Result<HttpResponse> r = send("GET", "/servers/" + url_encode(server_id) + "/diagnostics");
  if (!r.ok()) return r.error();
  return traced(parse_server_diagnostics(r->body), *r);
}

}  // namespace migprobe::control
