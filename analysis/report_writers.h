#pragma once
// Renderings of a Report: text for people (in the spirit of the original benchmark: per
// VM, per migration, downtime and loss), JSON (the protobuf JSON mapping, for machines),
// CSV (one row per gap, for spreadsheets; new columns only ever go at the end). Beside each
// migration's measured downtime they show the hypervisor's own figures when known.

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::analysis {

std::string render_text(const v1::Report& report);
std::string render_json(const v1::Report& report);
std::string render_csv(const v1::Report& report);

// Writes a rendering to path ('-' is stdout), whole or not at all (a temporary file renamed
// over path). A failure is ErrorKind::kIo, "cannot write PATH: reason".
base::Status write_report_file(const std::string& path, const std::string& content);

// Writes each (name, content) into dir (write_report_file) and prints text to text_out when
// not null. Every file is tried and the text still printed when one fails: the error is
// kIo with the messages of every file that failed, "; " between them.
base::Status write_report_set(const std::string& dir,
                              const std::vector<std::pair<std::string, std::string>>& files,
                              const std::string& text, std::FILE* text_out);

// A CSV field, quoted when it holds a separator, a quote or a newline (RFC 4180).
std::string csv_field(const std::string& text);

// Short name of a flow kind for people and spreadsheets: icmp, udp, tcp, ping.
std::string flow_kind_label(v1::FlowKind kind);

// The hypervisor's pause of a migration, STOP to RESUME, in ns; 0 when it did not give
// both (a missing STOP reads as 0 and must not turn the resume time into a pause).
inline uint64_t hypervisor_pause_ns(const v1::MigrationEvent& m) {
  return m.hypervisor_stop_ns() > 0 && m.hypervisor_resume_ns() > m.hypervisor_stop_ns()
             ? m.hypervisor_resume_ns() - m.hypervisor_stop_ns()
             : 0;
}

// "12.340 ms": ns as milliseconds with microsecond digits, exact (no floating point).
std::string format_ms(uint64_t ns);

}  // namespace migprobe::analysis
