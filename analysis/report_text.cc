// The text rendering, top to bottom in the order it prints: the preamble, each target with
// its migrations, flows and gaps, the run's figures, the neighbour and unattributed gaps,
// coverage gaps, errors, TCP streams (report_text_tcp.cc), announces and drops. The
// formatting it shares with its other parts is in report_text_parts.h.

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <iterator>
#include <string>
#include <vector>

#include "analysis/report_text_parts.h"
#include "analysis/report_writers.h"
#include "analysis/run_statistics.h"
#include "analysis/vm_metrics.h"

namespace migprobe::analysis {
namespace {

using text::format_bytes;
using text::format_s;
using text::line;
using text::rel;

std::string outcome_label(v1::MigrationOutcome o) {
  switch (o) {
    case v1::MIGRATION_OUTCOME_COMPLETED:
      return "completed";
    case v1::MIGRATION_OUTCOME_FAILED:
      return "FAILED";
    case v1::MIGRATION_OUTCOME_ABORTED:
      return "ABORTED";
    case v1::MIGRATION_OUTCOME_IN_PROGRESS:
      return "in progress";
    case v1::MIGRATION_OUTCOME_NOT_MADE:
      return "not made";
    default:
      return "unknown";
  }
}

// span says what began or ended inside an open gap: "capture" or "run".
void render_gap(std::string* out, const v1::GapEvent& g, uint64_t origin, const char* indent,
                const std::string& span) {
  const std::string est = format_ms(g.estimate_ns());
  std::string what;
  if (g.open_start() || g.open_end()) {
    what = "downtime >= " + est + " (" +
           (g.open_start() && g.open_end() ? "no reply at all"
            : g.open_start()               ? span + " started inside it"
                                           : span + " ended inside it") +
           ")";
  } else {
    what = "downtime " + est + "  bounds [" + format_ms(g.lower_bound_ns()) + ", " +
           format_ms(g.upper_bound_ns()) + "]";
  }
  // An open-start gap has no probe a: it begins with its first unanswered probe.
  const uint64_t at =
      g.open_start() ? g.tx_after_ns() - g.estimate_ns() - g.interval_ns() : g.tx_before_ns();
  // Sequence numbers of the answered probes around the gap; an open side has none.
  const std::string before = g.open_start() ? "start" : std::to_string(g.seq_before());
  const std::string after = g.open_end() ? "end" : std::to_string(g.seq_after());
  line(out, "%sgap at %s  seq %s..%s  lost %u  %s  %s", indent, rel(at, origin).c_str(),
       before.c_str(), after.c_str(), g.lost(), what.c_str(),
       g.outage() ? "OUTAGE" : "isolated loss");
  if (g.has_announce()) {
    line(out, "%s    switchover announce at %s: %s before it, %s after it", indent,
         rel(g.announce_ns(), origin).c_str(), format_ms(g.before_announce_ns()).c_str(),
         format_ms(g.after_announce_ns()).c_str());
  }
  if (g.has_direction()) {
    line(out, "%s    direction: %u lost on the way in (forward), %u on the way back (return)",
         indent, g.forward_lost(), g.return_lost());
  }
  if (g.migration_number() > 0)
    line(out, "%s    during migration #%u", indent, g.migration_number());
  if (g.neighbour_migration_number() > 0) {
    line(out, "%s    during migration #%u of another VM (neighbour)", indent,
         g.neighbour_migration_number());
  }
}

void render_migration(std::string* out, const v1::MigrationReport& m, uint64_t origin) {
  const auto& mig = m.migration();
  std::string figure = "no gap seen";
  if (m.gaps() > 0) {
    // The union over all flows is the VM's downtime; the longest single gap carries the
    // bounds, since each flow's bounds hold only for that flow.
    figure = "downtime " + format_ms(m.union_ns()) + " (" + std::to_string(m.gaps()) +
             (m.gaps() == 1 ? " gap" : " gaps");
    if (m.upper_bound_ns() > 0) {
      figure += "; longest within [" + format_ms(m.lower_bound_ns()) + ", " +
                format_ms(m.upper_bound_ns()) + "]";
    }
    figure += ")";
  }
  line(out, "  migration #%u  iteration %u  %s -> %s  %s  %s  lost %u", m.number(), mig.iteration(),
       mig.source_host().c_str(), mig.dest_host().c_str(), outcome_label(mig.outcome()).c_str(),
       figure.c_str(), m.lost());
  // The hypervisor's own figures next to the probe's, when the lab or a driver gave them.
  if (mig.hypervisor_downtime_ms() > 0 || mig.hypervisor_resume_ns() > 0) {
    char ms[40];
    std::snprintf(ms, sizeof ms, "%.3f ms", mig.hypervisor_downtime_ms());
    std::string hv = "hypervisor: downtime " + std::string(ms);
    if (const uint64_t pause = hypervisor_pause_ns(mig); pause > 0) {
      hv += ", paused " + format_ms(pause) + " (stop to resume)";
    }
    hv +=
        m.gaps() > 0 ? "; the probe measured " + format_ms(m.union_ns()) : "; the probe saw no gap";
    line(out, "    %s", hv.c_str());
  }
  if (const uint64_t queued = time_queued_ns(mig); queued > 0) {
    line(out,
         "    queued by Nova for %s before it started (the source host's "
         "max_concurrent_live_migrations)",
         format_s(queued).c_str());
  }
  if (m.coverage_lost()) {
    line(out,
         "    WARNING: the probe was not measuring during part of this migration "
         "(see coverage gaps): its downtime may be missing or short");
  }
  std::string detail;
  if (m.longest_icmp_ns() > 0) detail += "  icmp " + format_ms(m.longest_icmp_ns());
  if (m.longest_udp_ns() > 0) detail += "  udp " + format_ms(m.longest_udp_ns());
  if (m.longest_tcp_ns() > 0) detail += "  tcp " + format_ms(m.longest_tcp_ns());
  if (m.forward_lost() + m.return_lost() > 0) {
    detail += "  forward lost " + std::to_string(m.forward_lost()) + ", return lost " +
              std::to_string(m.return_lost());
  }
  if (!detail.empty()) line(out, "    longest gap per flow:%s", detail.c_str());
  if (m.has_tcp()) line(out, "    tcp: %s", text::tcp_verdict_text(m.tcp(), origin).c_str());
  if (m.has_vm()) *out += vm_metrics_text(m.vm(), "    ");
  if (m.neighbour_gaps() > 0) {
    line(out, "    neighbours: %u gaps on other VMs in its window, the longest %s",
         m.neighbour_gaps(), format_ms(m.neighbour_longest_ns()).c_str());
  }
  std::string when = "requested " + rel(mig.requested_ns(), origin);
  if (m.announce_ns() > 0) when += ", announce " + rel(m.announce_ns(), origin);
  if (mig.completed_ns() > 0) when += ", completed " + rel(mig.completed_ns(), origin);
  if (mig.failed_ns() > 0) when += ", failed " + rel(mig.failed_ns(), origin);
  line(out, "    %s", when.c_str());
  // What Nova said of it, to find the migration in Nova's own records.
  std::string nova;
  auto add = [&nova](const std::string& part) { nova += (nova.empty() ? "" : "  ") + part; };
  if (!mig.nova_migration_id().empty()) add("nova migration " + mig.nova_migration_id());
  if (!mig.nova_status().empty()) add("status " + mig.nova_status());
  if (!mig.request_id().empty()) add("request " + mig.request_id());
  if (mig.memory_total_bytes() > 0) {
    add("memory " + format_bytes(mig.memory_processed_bytes()) + " sent of " +
        format_bytes(mig.memory_total_bytes()));
  }
  if (!nova.empty()) line(out, "    %s", nova.c_str());
  if (!mig.error().empty()) line(out, "    error: %s", mig.error().c_str());
}

void render_flow(std::string* out, const v1::FlowReport& f, uint64_t origin, const char* span) {
  std::string who = flow_kind_label(f.kind()) + " flow " + std::to_string(f.flow_id());
  if (f.kind() == v1::FLOW_KIND_FOREIGN_ICMP) {
    who = "ping from " + f.initiator() + " id " + std::to_string(f.icmp_id());
  }
  if (f.kind() == v1::FLOW_KIND_TCP_STREAM) {
    // A TCP connection has no probes to count: its figures are its stream's.
    line(out, "  %s  a TCP connection: see \"tcp streams\" (migprobe flow %u)", who.c_str(),
         f.flow_id());
  } else if (f.sent() == 0 && f.answered() == 0 && f.lost() == 0) {
    // A journal without the flow's final counters (the run stopped before it wrote them).
    line(out, "  %s  interval %s  no final counters", who.c_str(),
         format_ms(f.interval_ns()).c_str());
  } else {
    line(out,
         "  %s  interval %s  sent %" PRIu64 "  answered %" PRIu64 "  lost %" PRIu64
         "  late %" PRIu64 "  dup %" PRIu64 "  reordered %" PRIu64,
         who.c_str(), format_ms(f.interval_ns()).c_str(), f.sent(), f.answered(), f.lost(),
         f.late(), f.duplicates(), f.reordered());
  }
  if (f.answered() > 0) {
    line(out, "    rtt min/mean/max %s / %s / %s", format_ms(f.rtt_min_ns()).c_str(),
         format_ms(f.rtt_mean_ns()).c_str(), format_ms(f.rtt_max_ns()).c_str());
  }
  for (const auto& g : f.gaps()) render_gap(out, g, origin, "    ", span);
}

// Per-run statistics: migrations and their downtime, success rate, evacuations.
// One line per migration, in order: what the probe measured next to the hypervisor's own
// figures, the table an operator reads first.
void render_migration_table(std::string* out, const v1::Report& r) {
  std::vector<const v1::MigrationReport*> measured(r.migrations_size() + 1, nullptr);
  for (const auto& t : r.targets()) {
    for (const auto& m : t.migrations()) {
      if (m.number() >= 1 && m.number() < measured.size()) measured[m.number()] = &m;
    }
  }
  line(out, "  %4s  %-12s %4s  %-24s %-10s %12s  %-24s %13s %12s", "#", "VM", "iter", "direction",
       "outcome", "downtime", "bounds (longest gap)", "QEMU downtime", "QEMU pause");
  for (int i = 0; i < r.migrations_size(); ++i) {
    const v1::MigrationEvent& e = r.migrations(i);
    const v1::MigrationReport* m = measured[static_cast<size_t>(i) + 1];
    const std::string direction = e.source_host() + " -> " + e.dest_host();
    std::string downtime = "-";
    std::string bounds = "-";
    if (m != nullptr && m->gaps() > 0) {
      downtime = format_ms(m->union_ns());
      bounds = "[" + format_ms(m->lower_bound_ns()) + ", " + format_ms(m->upper_bound_ns()) + "]";
    } else if (m != nullptr) {
      downtime = "no gap";
    }
    char qemu_downtime[32] = "-";
    if (e.hypervisor_downtime_ms() > 0) {
      std::snprintf(qemu_downtime, sizeof qemu_downtime, "%.3f ms", e.hypervisor_downtime_ms());
    }
    const uint64_t pause_ns = hypervisor_pause_ns(e);
    const std::string pause = pause_ns > 0 ? format_ms(pause_ns) : "-";
    line(out, "  %4d  %-12s %4u  %-24s %-10s %12s  %-24s %13s %12s", i + 1,
         e.instance_name().c_str(), e.iteration(), direction.c_str(),
         outcome_label(e.outcome()).c_str(), downtime.c_str(), bounds.c_str(), qemu_downtime,
         pause.c_str());
  }
}

void render_run(std::string* out, const v1::Report& r, uint64_t origin) {
  if (r.migrations_size() > 0) {
    std::string rate;
    if (const auto percent = success_rate_percent(r)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, ", success rate %.1f%%", *percent);
      rate = buf;
    }
    line(out, "migrations: %d (completed %u, failed or aborted %u%s)", r.migrations_size(),
         r.migrations_completed(), r.migrations_failed(), rate.c_str());
    const auto& d = r.downtime();
    if (d.count() > 0) {
      line(out, "  downtime per completed migration and VM: mean %s  median %s  p95 %s  max %s",
           format_ms(d.mean_ns()).c_str(), format_ms(d.median_ns()).c_str(),
           format_ms(d.p95_ns()).c_str(), format_ms(d.max_ns()).c_str());
    }
    std::vector<uint64_t> queued;
    for (const auto& m : r.migrations()) {
      if (const uint64_t q = time_queued_ns(m); q > 0) queued.push_back(q);
    }
    if (!queued.empty()) {
      const v1::DowntimeStats q = downtime_stats(std::move(queued));
      line(out,
           "  queued by Nova before starting: %u migrations, mean %s  max %s (timeouts count "
           "from the start)",
           q.count(), format_s(q.mean_ns()).c_str(), format_s(q.max_ns()).c_str());
    }
    render_migration_table(out, r);
  }
  if (r.evacuations_size() == 0) return;
  line(out, "evacuations: %d directions", r.evacuations_size());
  for (const auto& e : r.evacuations()) {
    std::string took = "under way";
    if (e.finished_ns() >= e.started_ns() && e.finished_ns() > 0) {
      took = "took " + format_s(e.finished_ns() - e.started_ns());
    }
    if (e.interrupted()) {
      took = "INTERRUPTED";
      if (e.finished_ns() > e.started_ns())
        took += " after " + format_s(e.finished_ns() - e.started_ns());
    }
    line(out, "  iteration %u  %s -> %s  started %s  %s  %u migrations: %u completed, %u failed",
         e.iteration(), e.source_host().c_str(), e.dest_host().c_str(),
         rel(e.started_ns(), origin).c_str(), took.c_str(), e.migrations(), e.completed(),
         e.failed());
  }
  for (const auto& t : r.evacuation_time()) {
    const auto& d = t.duration();
    if (d.count() == 0) {
      line(out, "  evacuation time %s -> %s: no finished direction", t.source_host().c_str(),
           t.dest_host().c_str());
      continue;
    }
    line(out, "  evacuation time %s -> %s (%u): mean %s  median %s  p95 %s  max %s",
         t.source_host().c_str(), t.dest_host().c_str(), d.count(), format_s(d.mean_ns()).c_str(),
         format_s(d.median_ns()).c_str(), format_s(d.p95_ns()).c_str(),
         format_s(d.max_ns()).c_str());
  }
}

// Times the probe was not measuring, and the errors the journal recorded.
void render_coverage_and_errors(std::string* out, const v1::Report& r, uint64_t origin) {
  if (r.coverage_gaps_size() == 0) {
    line(out, "coverage gaps: none (the probe measured throughout)");
  } else {
    line(out, "coverage gaps (the probe was not measuring): %d", r.coverage_gaps_size());
    for (const auto& c : r.coverage_gaps()) {
      const std::string to = c.to_ns() == 0 ? "the end" : rel(c.to_ns(), origin);
      const std::string len =
          c.to_ns() > c.from_ns() ? " (" + format_s(c.to_ns() - c.from_ns()) + ")" : "";
      line(out, "  from %s to %s%s: %s", rel(c.from_ns(), origin).c_str(), to.c_str(), len.c_str(),
           c.reason().c_str());
    }
  }
  if (r.errors_size() == 0) {
    line(out, "errors: none");
    return;
  }
  line(out, "errors: %d", r.errors_size());
  for (const auto& e : r.errors()) {
    line(out, "  %s  %s: %s", rel(e.seen_ns(), origin).c_str(), e.source().c_str(),
         e.message().c_str());
  }
}

}  // namespace

std::string flow_kind_label(v1::FlowKind kind) {
  switch (kind) {
    case v1::FLOW_KIND_ICMP_ECHO:
      return "icmp";
    case v1::FLOW_KIND_UDP_REFLECT:
      return "udp";
    case v1::FLOW_KIND_TCP_STREAM:
      return "tcp";
    case v1::FLOW_KIND_FOREIGN_ICMP:
      return "ping";
    case v1::FLOW_KIND_TCP_SYN:
      return "tcp-syn";
    default:
      return "unknown";
  }
}

std::string format_ms(uint64_t ns) {
  char buf[40];
  const uint64_t us = (ns + 500) / 1000;
  std::snprintf(buf, sizeof buf, "%" PRIu64 ".%03" PRIu64 " ms", us / 1000, us % 1000);
  return buf;
}

std::string render_text(const v1::Report& r) {
  std::string out;
  const uint64_t origin = r.source().first_ns();
  // A report from a journal alone has no capture: its times start with the run.
  const bool journal_only = r.source().path().empty() && !r.source().journal_path().empty();
  line(&out, "migprobe downtime report (format %u)", r.format_version());
  if (!journal_only) {
    line(&out, "  capture   %s (%s, %" PRIu64 " frames, %s)", r.source().path().c_str(),
         r.source().format().c_str(), r.source().packets(),
         format_ms(r.source().last_ns() - r.source().first_ns()).c_str());
  }
  if (!r.source().error().empty()) line(&out, "  WARNING   %s", r.source().error().c_str());
  if (!r.source().journal_path().empty()) {
    line(&out, "  journal   %s (%" PRIu64 " records%s)", r.source().journal_path().c_str(),
         r.source().journal_records(),
         journal_only ? (", " + format_s(r.source().last_ns() - origin)).c_str() : "");
  }
  if (r.authentications() > 0) {
    line(&out, "  keystone  %u authentications (token renewals included)", r.authentications());
  }
  line(&out, "  settings  outage threshold %s, reply timeout %s, migration settle %s",
       format_ms(r.settings().outage_threshold_ns()).c_str(),
       format_ms(r.settings().reply_timeout_ns()).c_str(),
       format_ms(r.settings().settle_ns()).c_str());
  line(&out, journal_only ? "  times are relative to the start of the run (its journal)"
                          : "  times are relative to the first frame of the capture");
  const char* span = journal_only ? "run" : "capture";
  bool measured = false;
  for (const auto& t : r.targets()) measured |= t.flows_size() > 0;
  if (journal_only && !measured) {
    line(&out,
         "  NOTE      the journal holds no probe measurement (no gap or flow record): give "
         "the capture too");
  }

  for (const auto& t : r.targets()) {
    out.push_back('\n');
    if (t.name() != t.ip()) {
      line(&out, "target %s  %s  %s", t.name().c_str(), t.ip().c_str(), t.mac().c_str());
    } else {
      line(&out, "target %s  %s", t.ip().c_str(), t.mac().c_str());
    }
    for (const auto& m : t.migrations()) render_migration(&out, m, origin);
    for (const auto& f : t.flows()) render_flow(&out, f, origin, span);
  }

  out.push_back('\n');
  render_run(&out, r, origin);
  if (r.neighbour_gaps_size() > 0) {
    line(&out, "neighbour gaps (a VM hit while another one migrated): %d", r.neighbour_gaps_size());
    for (const auto& g : r.neighbour_gaps()) {
      line(&out, "  %s %s flow %u", g.target().c_str(), flow_kind_label(g.flow_kind()).c_str(),
           g.flow_id());
      render_gap(&out, g, origin, "    ", span);
    }
  }
  if (r.unattributed_gaps_size() == 0) {
    line(&out, "unattributed gaps: none");
  } else {
    line(&out, "unattributed gaps (outside every migration window): %d",
         r.unattributed_gaps_size());
    for (const auto& g : r.unattributed_gaps()) {
      line(&out, "  %s %s flow %u", g.target().c_str(), flow_kind_label(g.flow_kind()).c_str(),
           g.flow_id());
      render_gap(&out, g, origin, "    ", span);
    }
  }
  // Only a journal knows when the probe was not measuring and what went wrong.
  if (!r.source().journal_path().empty() || r.coverage_gaps_size() > 0 || r.errors_size() > 0) {
    render_coverage_and_errors(&out, r, origin);
  }
  if (r.tcp_streams_size() > 0) text::render_tcp_streams(&out, r, origin);
  int rarp = 0;
  for (const auto& a : r.announces()) rarp += a.kind() == v1::ANNOUNCE_KIND_RARP;
  line(&out, "announces: %d RARP, %d gratuitous ARP", rarp, r.announces_size() - rarp);
  if (journal_only) return out;  // drops are counted on frames the journal does not hold
  if (r.drops_size() == 0) {
    line(&out, "dropped frames: none");
  } else {
    line(&out, "dropped frames (not trusted):");
    for (const auto& d : r.drops()) {
      line(&out, "  %-20s %8" PRIu64 "  %s", d.reason().c_str(), d.count(),
           d.description().c_str());
    }
  }
  return out;
}

}  // namespace migprobe::analysis
