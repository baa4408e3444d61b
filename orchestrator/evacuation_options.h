#pragma once
// What an evacuation run is asked to do (`migprobe-control evacuate`): one options struct,
// filled from the command line and validated in one place (STYLE.md habit 7).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "migprobe/v1/probe.pb.h"

namespace migprobe::orchestrator {

// What to do with a live migration that has not finished after converge_timeout.
enum class ConvergePolicy {
  kWait,           // keep waiting until migration_timeout
  kForceComplete,  // ask Nova to force-complete it (pauses the guest), once
  kAbort,          // ask Nova to abort it; the VM stays on its source
};

// How an evacuation run proceeds.
struct EvacuationOptions {
  std::string source_host;
  std::string dest_host;
  // Server names or ids to move; empty: every server on source_host when the run starts.
  std::vector<std::string> servers;
  // Round trips: each moves every VM source -> dest, then dest -> source.
  uint32_t iterations = 1;
  // Migrations in flight at once (1: serial).
  uint32_t parallel = 1;
  ConvergePolicy policy = ConvergePolicy::kWait;
  // The converge and migration timeouts count from when Nova starts the migration: its
  // acceptance, or for one a poll showed "queued", the first poll that showed it past that.
  std::chrono::milliseconds converge_timeout{std::chrono::seconds(120)};
  // A migration still running after this is aborted and recorded as failed.
  std::chrono::milliseconds migration_timeout{std::chrono::seconds(600)};
  // A migration Nova has not started after this (queued behind the source host's
  // max_concurrent_live_migrations) is cancelled and recorded as aborted.
  std::chrono::milliseconds queue_timeout{std::chrono::seconds(3600)};
  // Nova polling period while a migration runs.
  std::chrono::milliseconds poll_interval{250};
  // Quiet time after each migration (and before the first), so that each gap falls in the
  // window of the migration that caused it.
  std::chrono::milliseconds settle{std::chrono::seconds(2)};
  // VM metrics: each VM of a leg has its server diagnostics (2.48) sampled at this period from
  // the leg's start to its migration's end plus the settle time; 0 turns them off.
  std::chrono::milliseconds vm_metrics_period{std::chrono::seconds(1)};
  // Block migration: "auto" (2.25+), "yes" or "no".
  std::string block_migration = "auto";
  // Probe flows per VM (kind, interval, port, reply timeout).
  std::vector<v1::FlowSpec> flows;
  // The dataplane; empty runs without probing (migrations recorded, no downtime measured).
  std::string dataplane_socket;
  // How long to wait for a dead dataplane to come back before the run stops.
  std::chrono::milliseconds dataplane_grace{std::chrono::seconds(30)};
  // Campaign directory: journal and reports.
  std::string out_dir;
  std::string campaign;
  // The campaign cell this run is (campaign_spec.h cell_name) and its labels: written into
  // every migration record. Empty outside a campaign.
  std::string cell;
  std::map<std::string, std::string> labels;
  // JSON Lines of the hypervisor's own figures per Nova migration uuid (the lab writes one).
  std::string hypervisor_figures;
  bool quiet = false;
};

// The non-empty items of a sep-separated list ("vm1,vm2").
std::vector<std::string> split_list(const std::string& text, char sep = ',');

// Parses FLOWS in the one flow grammar (base/flow_spec.h: "icmp=1ms,udp=1ms/port=7077")
// into flow specs; a flow without its own timeout= gets reply_timeout_ns. The error is
// base::parse_flows's (ErrorKind::kInvalid), its message naming the bad flow.
base::Result<std::vector<v1::FlowSpec>> parse_flows(const std::string& text,
                                                    uint64_t reply_timeout_ns);

// Parses the policy name (wait, force-complete, abort).
bool parse_policy(const std::string& text, ConvergePolicy* policy);
const char* policy_name(ConvergePolicy policy);

// Checks the options as a whole. The error is ErrorKind::kInvalid, its message naming the
// option that is wrong.
base::Status validate(const EvacuationOptions& options);

// One line for the journal and the terminal: what the run does (no credentials).
std::string summary(const EvacuationOptions& options);

}  // namespace migprobe::orchestrator
