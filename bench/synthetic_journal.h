#pragma once
// The journal a live run writes, made up for the benchmarks: T VMs, each migrated there and
// back per iteration, two probe flows per VM, one gap per flow, a RARP and eight VM
// diagnostics samples per migration.

#include <cstdint>
#include <map>
#include <string>

namespace migprobe::bench {

// The campaign cell a run belongs to (its migrations carry it), when it is one.
struct SyntheticCell {
  std::string campaign = "bench";
  std::string name;
  std::map<std::string, std::string> labels;
};

// Writes the journal of a run of vms VMs and iterations round trips at path (replacing it);
// returns the number of migrations. Exits with a message if the file cannot be written.
uint32_t write_synthetic_run(const std::string& path, uint32_t vms, uint32_t iterations,
                             const SyntheticCell& cell = SyntheticCell{});

}  // namespace migprobe::bench
