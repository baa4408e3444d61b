#include <charconv>
#include <string>

#include "analysis/report_writers.h"

namespace migprobe::analysis {
namespace {

// The hypervisor's downtime in ms, shortest exact form; empty when it gave none.
std::string hypervisor_downtime(const v1::MigrationEvent& m) {
  if (m.hypervisor_downtime_ms() <= 0) return "";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, m.hypervisor_downtime_ms());
  return std::string(buf, r.ptr);
}

}  // namespace

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// The columns from migration_number to coverage_lost.
constexpr size_t kMigrationColumns = 12;

std::string render_csv(const v1::Report& report) {
  std::string out =
      "target,ip,flow_id,kind,seq_before,seq_after,lost,tx_before_ns,tx_after_ns,"
      "estimate_ns,lower_bound_ns,upper_bound_ns,interval_ns,outage,open_start,open_end,"
      "forward_lost,return_lost,announce_ns,before_announce_ns,after_announce_ns,"
      "migration_number,migration_instance,migration_iteration,source_host,dest_host,migration_"
      "outcome,nova_migration_id,migration_error,migration_downtime_ns,hypervisor_downtime_ms,"
      "hypervisor_pause_ns,coverage_lost,neighbour_migration_number,tcp_verdict,tcp_stall_ns,"
      "tcp_retransmits,tcp_bytes_lost\n";
  for (const auto& t : report.targets()) {
    for (const auto& f : t.flows()) {
      for (const auto& g : f.gaps()) {
        const v1::MigrationEvent* mig =
            g.migration_number() > 0
                ? &report.migrations(static_cast<int>(g.migration_number() - 1))
                : nullptr;
        const v1::MigrationReport* figures = nullptr;
        for (const auto& m : t.migrations()) {
          if (m.number() == g.migration_number()) figures = &m;
        }
        auto b = [](bool v) { return std::string(v ? "1" : "0"); };
        auto n = [](uint64_t v) { return std::to_string(v); };
        out += csv_field(t.name()) + ',' + t.ip() + ',' + n(f.flow_id()) + ',' +
               flow_kind_label(f.kind()) + ',' + n(g.seq_before()) + ',' + n(g.seq_after()) + ',' +
               n(g.lost()) + ',' + n(g.tx_before_ns()) + ',' + n(g.tx_after_ns()) + ',' +
               n(g.estimate_ns()) + ',' + n(g.lower_bound_ns()) + ',' + n(g.upper_bound_ns()) +
               ',' + n(g.interval_ns()) + ',' + b(g.outage()) + ',' + b(g.open_start()) + ',' +
               b(g.open_end()) + ',' + n(g.forward_lost()) + ',' + n(g.return_lost()) + ',' +
               (g.has_announce() ? n(g.announce_ns()) : "") + ',' +
               (g.has_announce() ? n(g.before_announce_ns()) : "") + ',' +
               (g.has_announce() ? n(g.after_announce_ns()) : "") + ',';
        if (mig != nullptr) {
          out +=
              n(g.migration_number()) + ',' +
              csv_field(mig->instance_name().empty() ? mig->instance_id() : mig->instance_name()) +
              ',' + n(mig->iteration()) + ',' + csv_field(mig->source_host()) + ',' +
              csv_field(mig->dest_host()) + ',' +
              std::string(v1::MigrationOutcome_Name(mig->outcome())) + ',' +
              csv_field(mig->nova_migration_id()) + ',' + csv_field(mig->error()) + ',' +
              (figures != nullptr ? n(figures->union_ns()) : "") + ',' + hypervisor_downtime(*mig) +
              ',' + (hypervisor_pause_ns(*mig) > 0 ? n(hypervisor_pause_ns(*mig)) : "") + ',' +
              (figures != nullptr ? b(figures->coverage_lost()) : "");
        } else {
          // No migration: its kMigrationColumns columns, empty.
          out += std::string(kMigrationColumns - 1, ',');
        }
        // A gap on this VM while another one migrated: that migration's number.
        out += ',' + (g.neighbour_migration_number() > 0 ? n(g.neighbour_migration_number()) : "");
        // The migration's TCP verdict (analysis/tcp_verdict.h), when its VM had a stream.
        if (figures != nullptr && figures->has_tcp()) {
          const v1::TcpVerdict& v = figures->tcp();
          out += ',' + std::string(v1::TcpVerdictKind_Name(v.verdict())) + ',' + n(v.stall_ns()) +
                 ',' + n(v.retransmits()) + ',' + n(v.bytes_lost());
        } else {
          out += ",,,,";
        }
        out += '\n';
      }
    }
  }
  return out;
}

}  // namespace migprobe::analysis
