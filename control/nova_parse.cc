// Compute API response bodies to structs. nlohmann exceptions stay inside this file.
#include "control/nova_parse.h"

#include <nlohmann/json.hpp>

#include "control/json_fields.h"

namespace migprobe::control {
namespace {

using nlohmann::json;

std::string text(const json& j, const char* key) {
  return json_text(j, key);
}

// An id that is an integer in some microversions and a string in others.
std::string id_text(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

// A number field; 0 when absent, null or not a number.
template <typename T>
T number(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return T{};
  return it->get<T>();
}

// The query string of the rel=next link in j[key], "" when there is none.
std::string next_query(const json& doc, const char* key) {
  auto links = doc.find(key);
  if (links == doc.end() || !links->is_array()) return {};
  for (const json& link : *links) {
    if (!link.is_object() || text(link, "rel") != "next") continue;
    std::string href = text(link, "href");
    size_t q = href.find('?');
    if (q != std::string::npos) return href.substr(q + 1);
  }
  return {};
}

// Parses body and hands its `key` member to read; kParse errors for the rest.
template <typename T, typename Read>
Result<T> with_member(const std::string& body, const char* key, Read read) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains(key)) {
    return make_error(ErrorKind::kParse, std::string("response has no \"") + key + "\"");
  }
  try {
    return read(doc, doc[key]);
  } catch (const json::exception& e) {
    return make_error(ErrorKind::kParse, std::string("unexpected \"") + key + "\": " + e.what());
  }
}

// One server object.
Server read_server(const json& s) {
  Server out;
  out.id = text(s, "id");
  out.name = text(s, "name");
  out.status = text(s, "status");
  out.host = text(s, "OS-EXT-SRV-ATTR:host");
  out.hypervisor_hostname = text(s, "OS-EXT-SRV-ATTR:hypervisor_hostname");
  out.task_state = text(s, "OS-EXT-STS:task_state");
  out.vm_state = text(s, "OS-EXT-STS:vm_state");
  if (auto a = s.find("addresses"); a != s.end() && a->is_object()) {
    for (const auto& [network, list] : a->items()) {
      if (!list.is_array()) continue;
      for (const json& entry : list) {
        ServerAddress addr;
        addr.network = network;
        addr.addr = text(entry, "addr");
        addr.mac = text(entry, "OS-EXT-IPS-MAC:mac_addr");
        addr.type = text(entry, "OS-EXT-IPS:type");
        addr.version = number<int>(entry, "version");
        out.addresses.push_back(addr);
      }
    }
  }
  if (auto f = s.find("flavor"); f != s.end() && f->is_object()) {
    out.flavor_id = id_text(*f, "id");
    out.flavor_name = text(*f, "original_name");
  }
  if (auto m = s.find("metadata"); m != s.end() && m->is_object()) {
    for (const auto& [key, value] : m->items()) {
      if (value.is_string()) out.metadata[key] = value.get<std::string>();
    }
  }
  if (auto f = s.find("fault"); f != s.end() && f->is_object()) out.fault = text(*f, "message");
  return out;
}

// One migration object of /servers/{id}/migrations.
ServerMigration read_server_migration(const json& m) {
  ServerMigration out;
  out.id = number<int64_t>(m, "id");
  out.uuid = text(m, "uuid");
  out.server_uuid = text(m, "server_uuid");
  out.status = text(m, "status");
  out.source_compute = text(m, "source_compute");
  out.source_node = text(m, "source_node");
  out.dest_compute = text(m, "dest_compute");
  out.dest_node = text(m, "dest_node");
  out.dest_host = text(m, "dest_host");
  out.created_at = text(m, "created_at");
  out.updated_at = text(m, "updated_at");
  out.memory_total_bytes = number<uint64_t>(m, "memory_total_bytes");
  out.memory_processed_bytes = number<uint64_t>(m, "memory_processed_bytes");
  out.memory_remaining_bytes = number<uint64_t>(m, "memory_remaining_bytes");
  out.disk_total_bytes = number<uint64_t>(m, "disk_total_bytes");
  out.disk_processed_bytes = number<uint64_t>(m, "disk_processed_bytes");
  out.disk_remaining_bytes = number<uint64_t>(m, "disk_remaining_bytes");
  return out;
}

// One migration object of /os-migrations.
Migration read_migration(const json& m) {
  Migration out;
  out.id = number<int64_t>(m, "id");
  out.uuid = text(m, "uuid");
  out.instance_uuid = text(m, "instance_uuid");
  out.status = text(m, "status");
  out.migration_type = text(m, "migration_type");
  out.source_compute = text(m, "source_compute");
  out.source_node = text(m, "source_node");
  out.dest_compute = text(m, "dest_compute");
  out.dest_node = text(m, "dest_node");
  out.dest_host = text(m, "dest_host");
  out.created_at = text(m, "created_at");
  out.updated_at = text(m, "updated_at");
  out.user_id = text(m, "user_id");
  out.project_id = text(m, "project_id");
  return out;
}

// One instance action, with its events when present.
InstanceAction read_action(const json& a) {
  InstanceAction out;
  out.action = text(a, "action");
  out.instance_uuid = text(a, "instance_uuid");
  out.request_id = text(a, "request_id");
  out.user_id = text(a, "user_id");
  out.project_id = text(a, "project_id");
  out.start_time = text(a, "start_time");
  out.updated_at = text(a, "updated_at");
  out.message = text(a, "message");
  if (auto events = a.find("events"); events != a.end() && events->is_array()) {
    for (const json& e : *events) {
      out.events.push_back({text(e, "event"), text(e, "start_time"), text(e, "finish_time"),
                            text(e, "result"), text(e, "host"), text(e, "traceback"),
                            text(e, "details")});
    }
  }
  return out;
}

// Every element of list read with read; throws (caught in with_member) when list is not
// an array.
template <typename T, typename Read>
std::vector<T> read_array(const json& list, Read read) {
  std::vector<T> out;
  if (!list.is_array()) throw json::type_error::create(302, "expected an array", &list);
  for (const json& item : list) out.push_back(read(item));
  return out;
}

}  // namespace

Result<Page<Server>> parse_servers(const std::string& body) {
  return with_member<Page<Server>>(body, "servers", [](const json& doc, const json& list) {
    return Page<Server>{read_array<Server>(list, read_server), next_query(doc, "servers_links")};
  });
}

Result<Server> parse_server(const std::string& body) {
  return with_member<Server>(body, "server",
                             [](const json&, const json& s) { return read_server(s); });
}

Result<std::string> parse_created_server(const std::string& body) {
  Result<std::string> id = with_member<std::string>(
      body, "server", [](const json&, const json& s) { return text(s, "id"); });
  if (id.ok() && id->empty()) return make_error(ErrorKind::kParse, "the new server has no id");
  return id;
}

Flavor read_flavor(const json& f) {
  return Flavor{id_text(f, "id"), text(f, "name"), number<int>(f, "vcpus"),
                number<int64_t>(f, "ram"), number<int64_t>(f, "disk")};
}

Result<Page<Flavor>> parse_flavors(const std::string& body) {
  return with_member<Page<Flavor>>(body, "flavors", [](const json& doc, const json& list) {
    return Page<Flavor>{read_array<Flavor>(list, read_flavor), next_query(doc, "flavors_links")};
  });
}

Result<Flavor> parse_flavor(const std::string& body) {
  return with_member<Flavor>(body, "flavor",
                             [](const json&, const json& f) { return read_flavor(f); });
}

Result<Keypair> parse_keypair(const std::string& body) {
  return with_member<Keypair>(body, "keypair", [](const json&, const json& k) {
    return Keypair{text(k, "name"), text(k, "type"), text(k, "public_key"), text(k, "fingerprint"),
                   text(k, "user_id")};
  });
}

Result<std::vector<Hypervisor>> parse_hypervisors(const std::string& body) {
  return with_member<std::vector<Hypervisor>>(
      body, "hypervisors", [](const json&, const json& list) {
        return read_array<Hypervisor>(list, [](const json& h) {
          Hypervisor out{id_text(h, "id"),
                         text(h, "hypervisor_hostname"),
                         text(h, "state"),
                         text(h, "status"),
                         {}};
          if (auto servers = h.find("servers"); servers != h.end() && servers->is_array()) {
            for (const json& s : *servers)
              out.servers.push_back({text(s, "uuid"), text(s, "name")});
          }
          return out;
        });
      });
}

Result<std::vector<ServerMigration>> parse_server_migrations(const std::string& body) {
  return with_member<std::vector<ServerMigration>>(
      body, "migrations", [](const json&, const json& list) {
        return read_array<ServerMigration>(list, read_server_migration);
      });
}

Result<ServerMigration> parse_server_migration(const std::string& body) {
  return with_member<ServerMigration>(
      body, "migration", [](const json&, const json& m) { return read_server_migration(m); });
}

Result<Page<Migration>> parse_migrations(const std::string& body) {
  return with_member<Page<Migration>>(body, "migrations", [](const json& doc, const json& list) {
    return Page<Migration>{read_array<Migration>(list, read_migration),
                           next_query(doc, "migrations_links")};
  });
}

Result<Page<InstanceAction>> parse_instance_actions(const std::string& body) {
  return with_member<Page<InstanceAction>>(
      body, "instanceActions", [](const json& doc, const json& list) {
        return Page<InstanceAction>{read_array<InstanceAction>(list, read_action),
                                    next_query(doc, "links")};
      });
}

Result<InstanceAction> parse_instance_action(const std::string& body) {
  return with_member<InstanceAction>(body, "instanceAction",
                                     [](const json&, const json& a) { return read_action(a); });
}

Result<ServerDiagnostics> parse_server_diagnostics(const std::string& body) {
  // The 2.48 document has no wrapper key; "state" is always present in it.
  return with_member<ServerDiagnostics>(body, "state", [](const json& d, const json&) {
    ServerDiagnostics out;
    out.state = text(d, "state");
    out.driver = text(d, "driver");
    out.hypervisor = text(d, "hypervisor");
    out.hypervisor_os = text(d, "hypervisor_os");
    out.uptime = number<uint64_t>(d, "uptime");
    out.config_drive = d.contains("config_drive") && d["config_drive"].is_boolean() &&
                       d["config_drive"].get<bool>();
    out.num_cpus = number<int>(d, "num_cpus");
    out.num_disks = number<int>(d, "num_disks");
    out.num_nics = number<int>(d, "num_nics");
    if (auto m = d.find("memory_details"); m != d.end() && m->is_object()) {
      out.memory_maximum = number<uint64_t>(*m, "maximum");
      out.memory_used = number<uint64_t>(*m, "used");
    }
    if (auto cpus = d.find("cpu_details"); cpus != d.end() && cpus->is_array()) {
      for (const json& c : *cpus) {
        out.cpu_details.push_back(
            {number<int>(c, "id"), number<uint64_t>(c, "time"), number<int>(c, "utilisation")});
      }
    }
    if (auto nics = d.find("nic_details"); nics != d.end() && nics->is_array()) {
      for (const json& n : *nics) {
        out.nic_details.push_back({text(n, "mac_address"), number<uint64_t>(n, "rx_octets"),
                                   number<uint64_t>(n, "rx_packets"),
                                   number<uint64_t>(n, "rx_errors"), number<uint64_t>(n, "rx_drop"),
                                   number<uint64_t>(n, "rx_rate"), number<uint64_t>(n, "tx_octets"),
                                   number<uint64_t>(n, "tx_packets"),
                                   number<uint64_t>(n, "tx_errors"), number<uint64_t>(n, "tx_drop"),
                                   number<uint64_t>(n, "tx_rate")});
      }
    }
    if (auto disks = d.find("disk_details"); disks != d.end() && disks->is_array()) {
      for (const json& k : *disks) {
        out.disk_details.push_back(
            {number<uint64_t>(k, "read_bytes"), number<uint64_t>(k, "read_requests"),
             number<uint64_t>(k, "write_bytes"), number<uint64_t>(k, "write_requests"),
             number<uint64_t>(k, "errors_count")});
      }
    }
    return out;
  });
}

}  // namespace migprobe::control
