#include "analysis/journal_report.h"

#include <algorithm>
#include <map>

#include "analysis/journal_events.h"
#include "analysis/report_targets.h"
#include "analysis/tcp_verdict.h"

namespace migprobe::analysis {

std::pair<uint64_t, uint64_t> journal_span(const JournalContents& journal) {
  uint64_t first = UINT64_MAX;
  uint64_t last = 0;
  auto see = [&](uint64_t ns) {
    if (ns == 0) return;
    first = std::min(first, ns);
    last = std::max(last, ns);
  };
  see(journal.header.created_ns());
  for (const auto& r : journal.records) {
    switch (r.record_case()) {
      case v1::JournalRecord::kCalibration:
        see(r.calibration().realtime_ns());
        break;
      case v1::JournalRecord::kMigration:
        see(r.migration().requested_ns());
        see(r.migration().recorded_ns());
        see(std::max(r.migration().completed_ns(), r.migration().failed_ns()));
        break;
      case v1::JournalRecord::kGap:
        see(r.gap().tx_before_ns());
        see(r.gap().tx_after_ns());
        break;
      case v1::JournalRecord::kAnnounce:
        see(r.announce().seen_ns());
        break;
      case v1::JournalRecord::kError:
        see(r.error().seen_ns());
        break;
      case v1::JournalRecord::kEvacuation:
        see(r.evacuation().started_ns());
        see(r.evacuation().finished_ns());
        break;
      case v1::JournalRecord::kFlowTotals:
        see(r.flow_totals().first_tx_ns());
        see(r.flow_totals().last_tx_ns());
        break;
      case v1::JournalRecord::kCoverageGap:
        see(r.coverage_gap().from_ns());
        see(r.coverage_gap().to_ns());
        break;
      case v1::JournalRecord::kRun:
        see(r.run().seen_ns());
        break;
      case v1::JournalRecord::kTcpStream:
        see(r.tcp_stream().first_ns());
        see(r.tcp_stream().last_ns());
        break;
      case v1::JournalRecord::kTcpConnection:
        see(r.tcp_connection().ts_ns());
        break;
      default:
        break;
    }
  }
  return first == UINT64_MAX ? std::make_pair(uint64_t{0}, uint64_t{0})
                             : std::make_pair(first, last);
}

namespace {

// Flows of the journal under their targets, by flow id.
class JournalFlows {
 public:
  JournalFlows(const JournalContents& journal, ReportTargets* targets) : targets_(targets) {
    for (const auto& r : journal.records) {
      if (!r.has_target()) continue;
      const int ti = targets_->find_ip(r.target().ip());
      for (const auto& f : r.target().flows()) specs_[f.flow_id()] = {ti, f};
    }
  }

  // The flow a record naming target and flow_id belongs to, created when new from its
  // FlowSpec (or from what the record says); *target_index says under which target.
  v1::FlowReport* flow(const std::string& target, uint32_t flow_id, v1::FlowKind kind,
                       uint64_t interval_ns, size_t* target_index) {
    const auto spec = specs_.find(flow_id);
    int ti = target.empty() ? -1 : targets_->find_name(target);
    if (ti < 0 && spec != specs_.end()) ti = spec->second.first;
    if (ti < 0) {
      // A target the journal never described: named as the record names it.
      const std::string name = target.empty() ? "(unknown target)" : target;
      ti = targets_->find_name(name);
      if (ti < 0) {
        TargetBuild& t = targets_->add_ip(name);
        if (IpAddress::parse(name).family == 0) t.report.set_ip("");
        ti = targets_->find_name(name);
      }
    }
    *target_index = static_cast<size_t>(ti);
    auto [it, inserted] = flows_[*target_index].try_emplace(flow_id);
    if (inserted) {
      const bool described = spec != specs_.end() && spec->second.first == ti;
      it->second.set_flow_id(flow_id);
      it->second.set_kind(described ? spec->second.second.kind() : kind);
      it->second.set_interval_ns(described ? spec->second.second.interval_ns() : interval_ns);
    }
    return &it->second;
  }

  // Moves the flows into their targets, in flow id order.
  void place() {
    for (auto& [ti, flows] : flows_) {
      for (auto& [id, f] : flows) *targets_->at(ti).report.add_flows() = std::move(f);
    }
  }

 private:
  ReportTargets* targets_;
  std::map<uint32_t, std::pair<int, v1::FlowSpec>> specs_;
  std::map<size_t, std::map<uint32_t, v1::FlowReport>> flows_;
};

// The settings the journal's gaps were detected and tagged with: the run's own (its
// --settle, the dataplane's outage threshold, the flows' reply timeout) where the journal
// says them (older ones do not), else the inputs'.
v1::AnalysisSettings journal_settings(const JournalContents& journal, const ReportInputs& inputs) {
  v1::AnalysisSettings settings;
  settings.set_outage_threshold_ns(inputs.outage_threshold_ns);
  settings.set_reply_timeout_ns(inputs.reply_timeout_ns);
  settings.set_settle_ns(inputs.settle_ns);
  for (const auto& r : journal.records) {
    if (r.has_run() && r.run().settle_ns() > 0) settings.set_settle_ns(r.run().settle_ns());
    if (r.has_probe() && r.probe().outage_threshold_ns() > 0) {
      settings.set_outage_threshold_ns(r.probe().outage_threshold_ns());
    }
    if (!r.has_target()) continue;
    for (const auto& f : r.target().flows()) {
      if (f.reply_timeout_ns() > 0) settings.set_reply_timeout_ns(f.reply_timeout_ns());
    }
  }
  return settings;
}

}  // namespace

v1::Report build_report_from_journal(const JournalContents& journal, const ReportInputs& inputs) {
  v1::Report report = start_report(inputs, "migprobe-control", journal_settings(journal, inputs));
  const uint64_t settle_ns = report.settings().settle_ns();
  v1::SourceInfo* source = report.mutable_source();
  if (source->format().empty()) source->set_format("journal");
  if (source->journal_records() == 0) source->set_journal_records(journal.records.size() + 1);
  if (source->first_ns() == 0 && source->last_ns() == 0) {
    const auto [first, last] = journal_span(journal);
    source->set_first_ns(first);
    source->set_last_ns(last);
  }
  if (source->error().empty()) source->set_error(journal.warning);

  ReportTargets targets;
  targets.add_journal_targets(journal);
  JournalFlows flows(journal, &targets);
  for (const auto& r : journal.records) {
    if (r.has_flow_totals()) {
      const v1::FlowReport& totals = r.flow_totals();
      size_t ti = 0;
      v1::FlowReport* f =
          flows.flow(totals.target(), totals.flow_id(), totals.kind(), totals.interval_ns(), &ti);
      // The newest totals win; the gaps are the journal's gap records.
      google::protobuf::RepeatedPtrField<v1::GapEvent> gaps;
      gaps.Swap(f->mutable_gaps());
      *f = totals;
      f->mutable_gaps()->Swap(&gaps);
      f->clear_target();
    } else if (r.has_gap()) {
      const v1::GapEvent& g = r.gap();
      size_t ti = 0;
      v1::FlowReport* f = flows.flow(g.target(), g.flow_id(), g.flow_kind(), g.interval_ns(), &ti);
      v1::GapEvent* ev = f->add_gaps();
      *ev = g;
      ev->set_target(targets.at(ti).report.name());
      ev->set_migration_number(0);
    }
  }
  flows.place();

  finish_report(std::move(targets.all()), journal_announces(journal), &journal, settle_ns, &report);
  for (const auto& r : journal.records) {
    if (r.has_run() && r.run().authentications() > report.authentications()) {
      report.set_authentications(r.run().authentications());
    }
    if (r.has_announce()) *report.add_announces() = r.announce();
    if (r.has_tcp_stream()) {
      v1::TcpStreamReport* s = report.add_tcp_streams();
      *s = r.tcp_stream();
      s->set_stream_id(static_cast<uint32_t>(report.tcp_streams_size() - 1));
    }
  }
  add_tcp_verdicts(settle_ns, &report);
  return report;
}

}  // namespace migprobe::analysis
