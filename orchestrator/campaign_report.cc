#include "orchestrator/campaign_report.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cinttypes>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "analysis/journal.h"
#include "analysis/journal_report.h"
#include "analysis/report_writers.h"
#include "analysis/run_statistics.h"
#include "analysis/vm_metrics.h"
#include "base/text.h"
#include "orchestrator/campaign_spec.h"

namespace migprobe::orchestrator {
namespace {

constexpr v1::TcpVerdictKind kVerdictColumns[] = {v1::TCP_VERDICT_INTACT, v1::TCP_VERDICT_RECOVERED,
                                                  v1::TCP_VERDICT_RESET, v1::TCP_VERDICT_STALLED,
                                                  v1::TCP_VERDICT_NOT_ESTABLISHED};

const char* verdict_column(v1::TcpVerdictKind v) {
  switch (v) {
    case v1::TCP_VERDICT_INTACT:
      return "intact";
    case v1::TCP_VERDICT_RECOVERED:
      return "recovered";
    case v1::TCP_VERDICT_RESET:
      return "reset";
    case v1::TCP_VERDICT_STALLED:
      return "stalled";
    case v1::TCP_VERDICT_NOT_ESTABLISHED:
      return "not_established";
    default:
      return "other";
  }
}

uint32_t verdict_count(const v1::CellResult& c, v1::TcpVerdictKind v) {
  for (const auto& n : c.tcp_verdicts())
    if (n.verdict() == v) return n.count();
  return 0;
}

// "12.3": ms with one decimal, for the table.
std::string ms1(uint64_t ns) {
  return base::fixed_text(static_cast<double>(ns) / 1e6, 1);
}

std::string s1(uint64_t ns) {
  return base::fixed_text(static_cast<double>(ns) / 1e9, 1);
}

// The evacuation time of a cell's direction there (source -> dest) or back.
const v1::DirectionStats* direction(const v1::CellResult& c, bool back) {
  const auto& s = c.cell().settings();
  const std::string& from = back ? s.dest_host() : s.source_host();
  const std::string& to = back ? s.source_host() : s.dest_host();
  for (const auto& d : c.evacuation_time())
    if (d.source_host() == from && d.dest_host() == to) return &d;
  return nullptr;
}

}  // namespace

std::string text_table(const std::vector<std::vector<std::string>>& rows, size_t left) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string text = " ";
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string pad(width[i] - row[i].size(), ' ');
      text += ' ';
      text += i < left ? row[i] + pad : pad + row[i];
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  }
  return out;
}

v1::CellResult cell_result(const v1::Report& report) {
  v1::CellResult c;
  c.set_migrations(static_cast<uint32_t>(report.migrations_size()));
  c.set_completed(report.migrations_completed());
  c.set_failed(report.migrations_failed());
  std::vector<uint64_t> icmp, udp, tcp;
  std::map<v1::TcpVerdictKind, uint32_t> verdicts;
  std::vector<const v1::VmMetrics*> vm;
  for (const v1::TargetReport& t : report.targets()) {
    bool has[3] = {false, false, false};
    for (const auto& f : t.flows()) {
      if (f.kind() == v1::FLOW_KIND_ICMP_ECHO) has[0] = true;
      if (f.kind() == v1::FLOW_KIND_UDP_REFLECT) has[1] = true;
      if (f.kind() == v1::FLOW_KIND_TCP_STREAM || f.kind() == v1::FLOW_KIND_TCP_SYN) has[2] = true;
    }
    for (const v1::MigrationReport& m : t.migrations()) {
      if (m.has_tcp() && m.tcp().verdict() != v1::TCP_VERDICT_UNSPECIFIED &&
          m.tcp().verdict() != v1::TCP_VERDICT_NOT_MEASURED) {
        ++verdicts[m.tcp().verdict()];
      }
      if (m.migration().outcome() != v1::MIGRATION_OUTCOME_COMPLETED) continue;
      if (m.has_vm()) vm.push_back(&m.vm());
      if (m.coverage_lost()) {
        c.set_not_measured(c.not_measured() + 1);
        continue;
      }
      c.add_downtimes_ns(m.union_ns());
      if (has[0]) icmp.push_back(m.longest_icmp_ns());
      if (has[1]) udp.push_back(m.longest_udp_ns());
      if (has[2]) tcp.push_back(m.longest_tcp_ns());
    }
  }
  std::vector<uint64_t> durations;
  std::vector<uint64_t> queued;
  for (const v1::MigrationEvent& m : report.migrations()) {
    if (const uint64_t q = analysis::time_queued_ns(m); q > 0) queued.push_back(q);
    if (m.outcome() != v1::MIGRATION_OUTCOME_COMPLETED || m.completed_ns() < m.requested_ns() ||
        m.requested_ns() == 0) {
      continue;
    }
    durations.push_back(m.completed_ns() - m.requested_ns());
    c.add_durations_ns(durations.back());
  }
  *c.mutable_duration() = analysis::downtime_stats(std::move(durations));
  c.set_queued(static_cast<uint32_t>(queued.size()));
  *c.mutable_queued_time() = analysis::downtime_stats(std::move(queued));
  c.set_authentications(report.authentications());
  *c.mutable_downtime() =
      analysis::downtime_stats({c.downtimes_ns().begin(), c.downtimes_ns().end()});
  *c.mutable_icmp() = analysis::downtime_stats(std::move(icmp));
  *c.mutable_udp() = analysis::downtime_stats(std::move(udp));
  *c.mutable_tcp() = analysis::downtime_stats(std::move(tcp));
  for (v1::TcpVerdictKind v : kVerdictColumns) {
    if (verdicts.count(v) == 0) continue;
    auto* n = c.add_tcp_verdicts();
    n->set_verdict(v);
    n->set_count(verdicts[v]);
  }
  for (const auto& d : report.evacuation_time()) *c.add_evacuation_time() = d;
  if (!vm.empty()) *c.mutable_vm() = analysis::mean_vm_metrics(vm);
  c.set_unattributed_gaps(static_cast<uint32_t>(report.unattributed_gaps_size()));
  return c;
}

base::Result<v1::CampaignReport> build_campaign_report(const std::string& dir) {
  analysis::JournalContents journal;
  if (base::Status read = analysis::read_journal(dir + "/" + kCampaignJournal, &journal); !read) {
    return read.error();
  }
  v1::CampaignReport out;
  out.set_format_version(1);
  out.set_generator("migprobe-control campaign");
  out.set_name(journal.header.campaign());
  if (!journal.warning.empty()) out.add_problems("campaign journal: " + journal.warning);
  const v1::CampaignEvent* campaign = nullptr;
  // Each cell's last event.
  std::map<uint32_t, const v1::CellEvent*> last;
  for (const auto& r : journal.records) {
    if (r.has_campaign() && r.campaign().state() == "started" && campaign == nullptr) {
      campaign = &r.campaign();
    } else if (r.has_cell()) {
      last[r.cell().index()] = &r.cell();
    }
  }
  if (campaign == nullptr) {
    return base::make_error(base::ErrorKind::kInvalid,
                            dir + "/" + kCampaignJournal + ": no campaign record (not a campaign)");
  }
  std::set<std::string> seen_labels;
  for (const auto& axis : campaign->spec().axes()) {
    if (seen_labels.insert(axis.name()).second) out.add_labels(axis.name());
  }
  for (const auto& cell : campaign->cells()) {
    std::map<std::string, std::string> sorted(cell.labels().begin(), cell.labels().end());
    for (const auto& [k, v] : sorted)
      if (seen_labels.insert(k).second) out.add_labels(k);
  }
  for (int i = 0; i < campaign->cells_size(); ++i) {
    const uint32_t index = static_cast<uint32_t>(i + 1);
    v1::CellResult row;
    const auto ev = last.find(index);
    if (ev != last.end() && !ev->second->dir().empty()) {
      const std::string cell_journal = dir + "/" + ev->second->dir() + "/journal.mpj";
      analysis::JournalContents contents;
      if (base::Status read = analysis::read_journal(cell_journal, &contents); read) {
        analysis::ReportInputs inputs;
        inputs.source.set_journal_path(cell_journal);
        const v1::Report report = analysis::build_report_from_journal(contents, inputs);
        row = cell_result(report);
        // The cell's run: from its journal's first record to its last.
        if (const auto [first_ns, last_ns] = analysis::journal_span(contents); last_ns > first_ns) {
          out.set_run_span_ns(out.run_span_ns() + (last_ns - first_ns));
        }
        if (!contents.warning.empty()) {
          out.add_problems("cell " + std::to_string(index) + ": " + contents.warning);
        }
      } else if (ev->second->state() != "skipped" && ev->second->state() != "failed") {
        out.add_problems("cell " + std::to_string(index) + ": " + read.error().message);
      }
    }
    row.set_index(index);
    *row.mutable_cell() = campaign->cells(i);
    if (ev != last.end()) {
      row.set_dir(ev->second->dir());
      row.set_state(ev->second->state());
      row.set_reason(ev->second->reason());
      if (ev->second->has_before()) *row.mutable_before() = ev->second->before();
      if (ev->second->has_after()) *row.mutable_after() = ev->second->after();
    } else {
      row.set_state("not run");
    }
    *out.add_cells() = std::move(row);
  }
  // One session per cloud lives through the campaign: its count only grows.
  std::map<std::string, uint32_t> per_cloud;
  for (const auto& c : out.cells()) {
    uint32_t& n = per_cloud[c.cell().settings().cloud()];
    n = std::max(n, c.authentications());
  }
  for (const auto& [cloud, n] : per_cloud) out.set_authentications(out.authentications() + n);
  return out;
}

std::string render_campaign_text(const v1::CampaignReport& r) {
  std::string out = "campaign " + r.name() + ": " + std::to_string(r.cells_size()) + " cells\n";
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"#"};
  for (const auto& l : r.labels()) head.push_back(l);
  for (const char* h :
       {"state", "migr", "ok", "mean", "p50", "p95", "p99", "max", "icmp95", "udp95", "tcp95",
        "tcp i/r/R/s", "evac->", "evac<-", "queued", "cpu% b/d", "mem MB/s", "unattr"}) {
    head.emplace_back(h);
  }
  rows.push_back(head);
  for (const auto& c : r.cells()) {
    std::vector<std::string> row = {std::to_string(c.index())};
    for (const auto& l : r.labels()) {
      const auto it = c.cell().labels().find(l);
      row.push_back(it == c.cell().labels().end() ? "-" : it->second);
    }
    row.push_back(c.state());
    row.push_back(std::to_string(c.migrations()));
    row.push_back(std::to_string(c.completed()));
    const auto& d = c.downtime();
    auto stat = [](const v1::DowntimeStats& s, uint64_t v) {
      return s.count() == 0 ? std::string("-") : ms1(v);
    };
    for (uint64_t v : {d.mean_ns(), d.median_ns(), d.p95_ns(), d.p99_ns(), d.max_ns()})
      row.push_back(stat(d, v));
    row.push_back(stat(c.icmp(), c.icmp().p95_ns()));
    row.push_back(stat(c.udp(), c.udp().p95_ns()));
    row.push_back(stat(c.tcp(), c.tcp().p95_ns()));
    uint32_t tcp_total = 0;
    for (const auto& n : c.tcp_verdicts()) tcp_total += n.count();
    row.push_back(tcp_total == 0
                      ? std::string("-")
                      : std::to_string(verdict_count(c, v1::TCP_VERDICT_INTACT)) + "/" +
                            std::to_string(verdict_count(c, v1::TCP_VERDICT_RECOVERED)) + "/" +
                            std::to_string(verdict_count(c, v1::TCP_VERDICT_RESET)) + "/" +
                            std::to_string(verdict_count(c, v1::TCP_VERDICT_STALLED)));
    for (bool back : {false, true}) {
      const v1::DirectionStats* dir = direction(c, back);
      row.push_back(dir == nullptr || dir->duration().count() == 0 ? std::string("-")
                                                                   : s1(dir->duration().mean_ns()));
    }
    row.push_back(c.queued() == 0
                      ? std::string("0")
                      : std::to_string(c.queued()) + " (" + s1(c.queued_time().max_ns()) + ")");
    const v1::VmMetrics& vm = c.vm();
    row.push_back(vm.migrations() == 0 || vm.during().samples() == 0
                      ? std::string("-")
                      : base::fixed_text(vm.before().cpu_percent(), 0) + "/" +
                            base::fixed_text(vm.during().cpu_percent(), 0));
    row.push_back(vm.memory_transfer_mb_s() > 0 ? base::fixed_text(vm.memory_transfer_mb_s(), 1)
                                                : std::string("-"));
    row.push_back(std::to_string(c.unattributed_gaps()));
    rows.push_back(std::move(row));
  }
  out += text_table(rows, 1 + static_cast<size_t>(r.labels_size()) + 1);
  out +=
      "  migr: migrations, ok: completed; mean..max: downtime of the completed migrations, ms\n"
      "  (the union of the flows); icmp95/udp95/tcp95: p95 of each kind's longest gap, ms\n"
      "  tcp i/r/R/s: TCP verdicts intact/recovered/reset/stalled\n"
      "  evac->/evac<-: mean evacuation time there and back, s; queued: migrations Nova held\n"
      "  queued before starting them (the longest wait, s); cpu% b/d: the VMs' CPU before and\n"
      "  during their migrations (100: one vCPU busy); mem MB/s: memory Nova transferred per\n"
      "  second; unattr: gaps outside every migration's window\n";
  if (r.authentications() > 0) {
    const double minutes = static_cast<double>(r.run_span_ns()) / 60e9;
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "  keystone: %u authentications (token renewals included) over %.1f minutes of "
                  "cell runs\n",
                  r.authentications(), minutes);
    out += buf;
  }
  for (const auto& c : r.cells()) {
    if (!c.reason().empty())
      out += "  cell " + std::to_string(c.index()) + " " + c.state() + ": " + c.reason() + "\n";
    if (c.not_measured() > 0) {
      out += "  cell " + std::to_string(c.index()) + ": " + std::to_string(c.not_measured()) +
             " completed migrations not measured whole (coverage gaps), left out of the "
             "downtime\n";
    }
  }
  for (const auto& c : r.cells()) {
    if (c.vm().migrations() == 0) continue;
    out += "  cell " + std::to_string(c.index()) + " VM metrics, the mean of " +
           std::to_string(c.vm().migrations()) + " completed migrations:\n" +
           analysis::vm_metrics_text(c.vm(), "    ");
  }
  for (const auto& p : r.problems()) out += "  problem: " + p + "\n";
  return out;
}

std::string render_campaign_json(const v1::CampaignReport& r) {
  google::protobuf::util::JsonPrintOptions opt;
  opt.add_whitespace = true;
  opt.always_print_primitive_fields = true;
  opt.preserve_proto_field_names = true;
  std::string out;
  const auto status = google::protobuf::util::MessageToJsonString(r, &out, opt);
  if (!status.ok()) return "{\"error\": \"" + std::string(status.message()) + "\"}\n";
  return out;
}

std::string render_campaign_csv(const v1::CampaignReport& r) {
  std::string out = "cell";
  for (const auto& l : r.labels()) out += "," + analysis::csv_field(l);
  out +=
      ",state,migrations,completed,failed,downtime_mean_ms,downtime_median_ms,downtime_p95_ms,"
      "downtime_p99_ms,downtime_max_ms,icmp_p95_ms,udp_p95_ms,tcp_p95_ms";
  for (v1::TcpVerdictKind v : kVerdictColumns) out += std::string(",tcp_") + verdict_column(v);
  out +=
      ",evacuation_there_mean_s,evacuation_back_mean_s,queued,queued_mean_s,queued_max_s,"
      "vm_cpu_before_pct,vm_cpu_during_pct,vm_cpu_after_pct,vm_nic_during_mbit_s,"
      "vm_disk_during_mb_s,vm_memory_transfer_mb_s,unattributed_gaps,authentications\n";
  auto opt_ms = [](const v1::DowntimeStats& s, uint64_t v) {
    return s.count() == 0 ? std::string() : ms1(v);
  };
  for (const auto& c : r.cells()) {
    out += std::to_string(c.index());
    for (const auto& l : r.labels()) {
      const auto it = c.cell().labels().find(l);
      out +=
          "," + (it == c.cell().labels().end() ? std::string() : analysis::csv_field(it->second));
    }
    out += "," + analysis::csv_field(c.state()) + "," + std::to_string(c.migrations()) + "," +
           std::to_string(c.completed()) + "," + std::to_string(c.failed());
    const auto& d = c.downtime();
    for (uint64_t v : {d.mean_ns(), d.median_ns(), d.p95_ns(), d.p99_ns(), d.max_ns()})
      out += "," + opt_ms(d, v);
    out += "," + opt_ms(c.icmp(), c.icmp().p95_ns()) + "," + opt_ms(c.udp(), c.udp().p95_ns()) +
           "," + opt_ms(c.tcp(), c.tcp().p95_ns());
    for (v1::TcpVerdictKind v : kVerdictColumns) out += "," + std::to_string(verdict_count(c, v));
    for (bool back : {false, true}) {
      const v1::DirectionStats* dir = direction(c, back);
      out += ",";
      if (dir != nullptr && dir->duration().count() > 0) out += s1(dir->duration().mean_ns());
    }
    out += "," + std::to_string(c.queued()) + ",";
    if (c.queued() > 0) {
      out += s1(c.queued_time().mean_ns()) + "," + s1(c.queued_time().max_ns());
    } else {
      out += ",";
    }
    const v1::VmMetrics& vm = c.vm();
    auto rate = [](const v1::VmRates& phase, double v) {
      return phase.samples() == 0 ? std::string() : base::fixed_text(v, 2);
    };
    out += "," + rate(vm.before(), vm.before().cpu_percent()) + "," +
           rate(vm.during(), vm.during().cpu_percent()) + "," +
           rate(vm.after(), vm.after().cpu_percent()) + "," +
           rate(vm.during(), vm.during().nic_rx_mbit_s() + vm.during().nic_tx_mbit_s()) + "," +
           rate(vm.during(), vm.during().disk_read_mb_s() + vm.during().disk_write_mb_s()) + "," +
           (vm.memory_transfer_mb_s() > 0 ? base::fixed_text(vm.memory_transfer_mb_s(), 2)
                                          : std::string());
    out += "," + std::to_string(c.unattributed_gaps()) + "," + std::to_string(c.authentications()) +
           "\n";
  }
  return out;
}

base::Status write_campaign_reports(const std::string& dir, std::FILE* text_out) {
  auto report = build_campaign_report(dir);
  if (!report.ok()) return report.error();
  const std::string text = render_campaign_text(*report);
  return analysis::write_report_set(dir,
                                    {{"campaign-report.txt", text},
                                     {"campaign-report.json", render_campaign_json(*report)},
                                     {"campaign-report.csv", render_campaign_csv(*report)}},
                                    text, text_out);
}

}  // namespace migprobe::orchestrator
