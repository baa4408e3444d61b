#pragma once
// What the Nova client returns: plain structs with the fields a live-migration campaign
// needs, read from the compute API's JSON. Nova's own timestamps are kept as the strings
// it sent (another host's clock; DESIGN.md "Time"). Absent or null numbers read as 0,
// absent or null strings as "".

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace migprobe::control {

// One address of a server on one network.
struct ServerAddress {
  std::string network;
  std::string addr;
  // OS-EXT-IPS-MAC:mac_addr.
  std::string mac;
  // OS-EXT-IPS:type, "fixed" or "floating".
  std::string type;
  int version = 4;
};

// A server from GET /servers/detail or GET /servers/{id}.
struct Server {
  std::string id;
  std::string name;
  // ACTIVE, MIGRATING, ERROR, ...
  std::string status;
  // OS-EXT-SRV-ATTR:host (admin only): the compute service host.
  std::string host;
  // OS-EXT-SRV-ATTR:hypervisor_hostname (admin only).
  std::string hypervisor_hostname;
  // OS-EXT-STS:task_state, e.g. "migrating"; "" when none.
  std::string task_state;
  // OS-EXT-STS:vm_state.
  std::string vm_state;
  std::vector<ServerAddress> addresses;
  // The server's flavor: its id before 2.47; from 2.47 Nova embeds the flavor instead, with
  // its name (original_name) and no id.
  std::string flavor_id;
  std::string flavor_name;
  // The server's metadata (a bootstrap tags what it creates with it).
  std::map<std::string, std::string> metadata;
  // Nova's fault of a server in ERROR (its message), "" when none.
  std::string fault;
};

// POST /servers: one server to boot.
struct ServerCreate {
  std::string name;
  std::string image_id;
  std::string flavor_id;
  // The network's id; "" asks Nova to choose ("auto", 2.37+).
  std::string network_id;
  // "" for none.
  std::string key_name;
  // Security group names; none: the project's default.
  std::vector<std::string> security_groups;
  std::map<std::string, std::string> metadata;
  // Sent from 2.52 on.
  std::vector<std::string> tags;
  // The compute host to boot it on (an admin call): the `host` field from 2.74,
  // availability_zone "nova:HOST" before; "" lets the scheduler choose.
  std::string host;
};

// A flavor (GET /flavors/detail).
struct Flavor {
  std::string id;
  std::string name;
  int vcpus = 0;
  int64_t ram_mb = 0;
  int64_t disk_gb = 0;
};

// POST /flavors: a flavor to create.
struct FlavorCreate {
  std::string name;
  // "" lets Nova choose one.
  std::string id;
  int vcpus = 1;
  int64_t ram_mb = 512;
  int64_t disk_gb = 1;
  // Sent from 2.55 on.
  std::string description;
};

// A keypair (os-keypairs).
struct Keypair {
  std::string name;
  std::string type;
  std::string public_key;
  std::string fingerprint;
  std::string user_id;
};

// A server as a hypervisor lists it (name and uuid only).
struct HypervisorServer {
  std::string uuid;
  std::string name;
};

// A hypervisor with its servers (os-hypervisors ... with servers).
struct Hypervisor {
  // An integer before 2.53, a UUID from 2.53 on; kept as text.
  std::string id;
  std::string hypervisor_hostname;
  std::string state;
  std::string status;
  std::vector<HypervisorServer> servers;
};

// One migration of one server (GET /servers/{id}/migrations[/{mid}]), with the progress
// counters the libvirt driver reports.
struct ServerMigration {
  int64_t id = 0;
  // From 2.59.
  std::string uuid;
  std::string server_uuid;
  // queued, preparing, running, completed, failed, error, cancelled...
  std::string status;
  std::string source_compute;
  std::string source_node;
  std::string dest_compute;
  std::string dest_node;
  std::string dest_host;
  std::string created_at;
  std::string updated_at;
  uint64_t memory_total_bytes = 0;
  uint64_t memory_processed_bytes = 0;
  uint64_t memory_remaining_bytes = 0;
  uint64_t disk_total_bytes = 0;
  uint64_t disk_processed_bytes = 0;
  uint64_t disk_remaining_bytes = 0;
};

// One row of GET /os-migrations (every kind of migration, all servers).
struct Migration {
  int64_t id = 0;
  // From 2.59.
  std::string uuid;
  std::string instance_uuid;
  std::string status;
  // From 2.23: "live-migration", "migration", "resize", "evacuation".
  std::string migration_type;
  std::string source_compute;
  std::string source_node;
  std::string dest_compute;
  std::string dest_node;
  std::string dest_host;
  std::string created_at;
  std::string updated_at;
  // From 2.80.
  std::string user_id;
  std::string project_id;
};

// One step of an instance action.
struct InstanceActionEvent {
  // e.g. "compute_live_migration".
  std::string event;
  std::string start_time;
  std::string finish_time;
  // "Success", "Error", or "" while running.
  std::string result;
  // From 2.62 (host is admin only).
  std::string host;
  std::string traceback;
  // From 2.84.
  std::string details;
};

// An instance action (os-instance-actions): "live-migration", with the request id of the
// call that started it.
struct InstanceAction {
  std::string action;
  std::string instance_uuid;
  std::string request_id;
  std::string user_id;
  std::string project_id;
  std::string start_time;
  // From 2.58.
  std::string updated_at;
  std::string message;
  // Filled by show, empty from list.
  std::vector<InstanceActionEvent> events;
};

// A vCPU's counters in the diagnostics.
struct CpuDiagnostics {
  int id = 0;
  uint64_t time = 0;
  int utilisation = 0;
};

// A NIC's counters in the diagnostics.
struct NicDiagnostics {
  std::string mac_address;
  uint64_t rx_octets = 0;
  uint64_t rx_packets = 0;
  uint64_t rx_errors = 0;
  uint64_t rx_drop = 0;
  uint64_t rx_rate = 0;
  uint64_t tx_octets = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_errors = 0;
  uint64_t tx_drop = 0;
  uint64_t tx_rate = 0;
};

// A disk's counters in the diagnostics.
struct DiskDiagnostics {
  uint64_t read_bytes = 0;
  uint64_t read_requests = 0;
  uint64_t write_bytes = 0;
  uint64_t write_requests = 0;
  uint64_t errors_count = 0;
};

// GET /servers/{id}/diagnostics in its 2.48 shape.
struct ServerDiagnostics {
  std::string state;
  std::string driver;
  std::string hypervisor;
  std::string hypervisor_os;
  uint64_t uptime = 0;
  bool config_drive = false;
  int num_cpus = 0;
  int num_disks = 0;
  int num_nics = 0;
  uint64_t memory_maximum = 0;
  uint64_t memory_used = 0;
  std::vector<CpuDiagnostics> cpu_details;
  std::vector<NicDiagnostics> nic_details;
  std::vector<DiskDiagnostics> disk_details;
};

// A page of a paginated list and where the next one starts.
template <typename T>
struct Page {
  std::vector<T> items;
  // The query string of the "next" link ("limit=1&marker=..."), "" on the last page.
  std::string next_query;
};

}  // namespace migprobe::control
