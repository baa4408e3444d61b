#pragma once
// Each migration's TCP verdict (DESIGN.md "Downtime: the definitions", TCP stream): from the
// report's TCP streams of the migrating VM (those with the VM's address at either end), what
// happened in the migration's window [requested, completed + settle]:
//   reset            a reset in the window (when, and the bytes it left unacknowledged);
//   stalled          a loss episode in the window still under way when the input ended
//                    (never recovered; the bytes then unacknowledged);
//   recovered        loss episodes overlapping the window, none ended by a reset (the
//                    longest stall, the retransmissions);
//   intact           established before the window and still carrying segments after it,
//                    nothing retransmitted in it: "no loss" as a measured result;
//   not established  handshakes in the window, none completed;
//   not measured     a stream of the VM that began or ended inside the window.
// With several streams, the worst verdict stands. No stream of the VM: no verdict.

#include <cstdint>

#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

// The verdict of one stream in [from_ns, to_ns].
v1::TcpVerdict tcp_verdict(const v1::TcpStreamReport& stream, uint64_t from_ns, uint64_t to_ns);

// Sets MigrationReport.tcp for every migration of every target of the report, from its
// tcp_streams; settle_ns ends each window as tagging does.
void add_tcp_verdicts(uint64_t settle_ns, v1::Report* report);

}  // namespace migprobe::analysis
