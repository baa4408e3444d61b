#pragma once
// An operator's command around a campaign cell (campaign.proto CellCommand: an Ansible play
// that turns tunnelling on, say): run with its argv (no shell), stdin from /dev/null, its
// standard output and error kept (the last 4 KiB) for the journal, killed with its process
// group when it outlives its timeout.

#include <cstddef>
#include <string>

#include "migprobe/v1/campaign.pb.h"

namespace migprobe::orchestrator {

// The output kept of a command: its tail.
constexpr size_t kCommandOutputTail = 4096;

// Runs command and waits for it (at most its timeout, then SIGTERM to its process group and
// SIGKILL 2 s later). Never throws: a command that cannot start has exit_status -1 and error
// saying why.
v1::CommandResult run_cell_command(const v1::CellCommand& command);

// True when the command ran and exited 0.
bool command_succeeded(const v1::CommandResult& result);

// "exit 0 after 1.2 s", "timed out after 10 s", "could not start: ..." for progress lines.
std::string command_summary(const v1::CommandResult& result);

}  // namespace migprobe::orchestrator
