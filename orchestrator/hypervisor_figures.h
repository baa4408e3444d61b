#pragma once
// The hypervisor's own figures for a migration (QEMU's downtime, the STOP and RESUME
// times), read from a JSON Lines file keyed by Nova migration uuid: the lab writes one
// (its ground truth), a driver-side exporter could write the same on a real cloud. They go
// into the migration's journal record so reports show them next to the measured downtime.

#include <chrono>
#include <string>

#include "migprobe/v1/migration.pb.h"

namespace migprobe::orchestrator {

// Reads figures from path (fields: migration_id, downtime_ms, stop_ns, resume_ns).
class HypervisorFigures {
 public:
  explicit HypervisorFigures(std::string path) : path_(std::move(path)) {}
  // Copies the figures of migration uuid into event; waits up to wait for the line to
  // appear (the writer may lag). False when not found.
  bool fill(const std::string& uuid, v1::MigrationEvent* event,
            std::chrono::milliseconds wait) const;

 private:
  bool read_once(const std::string& uuid, v1::MigrationEvent* event) const;
  const std::string path_;
};

}  // namespace migprobe::orchestrator
