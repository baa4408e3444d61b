#include "analysis/capture_report.h"

#include <string>
#include <utility>

#include "analysis/announce.h"
#include "analysis/flow_proto.h"
#include "analysis/gap_event.h"
#include "analysis/tcp_report.h"
#include "analysis/tcp_verdict.h"

namespace migprobe::analysis {
namespace {

// The message's kind of an analyzed flow.
v1::FlowKind flow_kind(const AnalyzedFlow& f) {
  if (f.foreign) return v1::FLOW_KIND_FOREIGN_ICMP;
  return to_proto_kind(f.probe_kind);
}

// An analyzer announce as a report message.
v1::AnnounceEvent to_announce_event(const Announce& a) {
  v1::AnnounceEvent ev;
  ev.set_seen_ns(a.seen_ns);
  ev.set_kind(a.rarp ? v1::ANNOUNCE_KIND_RARP : v1::ANNOUNCE_KIND_GARP);
  ev.set_mac(mac_to_string(a.mac));
  if (a.ip != 0) ev.set_ip(IpAddress::v4(a.ip).to_string());
  ev.set_vlan(a.vlan);
  return ev;
}

// One flow of the capture as its message, with its gaps and their announces.
void add_flow(const AnalyzedFlow& f, const std::vector<Announce>& announces, TargetBuild* t) {
  const v1::FlowKind kind = flow_kind(f);
  v1::FlowReport* fr = t->report.add_flows();
  const FlowCounters& c = f.tracker.counters();
  fr->set_flow_id(f.flow_id);
  fr->set_kind(kind);
  fr->set_interval_ns(f.tracker.interval_ns());
  fr->set_sent(c.sent);
  set_flow_counters(c, fr);
  fr->set_first_tx_ns(c.first_tx_ns);
  fr->set_last_tx_ns(c.last_tx_ns);
  if (f.foreign) {
    fr->set_initiator(f.initiator.to_string());
    fr->set_icmp_id(f.icmp_id);
  }
  for (const Gap& g : f.gaps) {
    v1::GapEvent* ev = fr->add_gaps();
    *ev = to_gap_event(g, kind);
    ev->set_target(t->report.name());
    const AnnounceWindow w = announce_window(g);
    if (const Announce* a = find_announce(announces, *t, w.from_ns, w.to_ns)) {
      set_gap_announce(g, *a, ev);
    }
  }
}

}  // namespace

v1::Report build_report(const Analyzer& analyzer, const ReportInputs& inputs) {
  v1::AnalysisSettings settings;
  settings.set_outage_threshold_ns(analyzer.options().tracker.outage_threshold_ns);
  settings.set_reply_timeout_ns(analyzer.options().tracker.reply_timeout_ns);
  settings.set_settle_ns(inputs.settle_ns);
  v1::Report report = start_report(inputs, "migprobe-analyze", std::move(settings));

  // Targets: those the journal names first, in its order, then those only the capture shows.
  ReportTargets targets;
  if (inputs.journal != nullptr) targets.add_journal_targets(*inputs.journal);
  for (const AnalyzedFlow* f : analyzer.flows()) {
    TargetBuild& t = targets.add_ip(f->target_ip.to_string());
    if (f->target_mac_known && !t.mac_known) {
      t.mac = f->target_mac;
      t.mac_known = true;
    }
  }
  for (const AnalyzedFlow* f : analyzer.flows()) {
    add_flow(*f, analyzer.announces(),
             &targets.at(static_cast<size_t>(targets.find_ip(f->target_ip.to_string()))));
  }

  finish_report(std::move(targets.all()), analyzer.announces(), inputs.journal, inputs.settle_ns,
                &report);
  for (const Announce& a : analyzer.announces()) *report.add_announces() = to_announce_event(a);
  for (const auto& st : analyzer.tcp_streams()) {
    v1::TcpStreamReport* r = report.add_tcp_streams();
    *r = to_tcp_stream_report(st->meter, endpoint_text(st->opener_ip, st->opener_port),
                              endpoint_text(st->peer_ip, st->peer_port));
    r->set_stream_id(st->stream_id);
    r->set_vlan(st->vlan);
    r->set_probe(st->probe);
    r->set_flow_id(st->flow_id);
  }
  add_tcp_verdicts(inputs.settle_ns, &report);
  for (size_t i = 1; i < kDropReasonCount; ++i) {
    const uint64_t n = analyzer.drops()[i];
    if (n == 0) continue;
    v1::DropCount* d = report.add_drops();
    d->set_reason(std::string(drop_reason_name(static_cast<DropReason>(i))));
    d->set_description(std::string(drop_reason_description(static_cast<DropReason>(i))));
    d->set_count(n);
  }
  return report;
}

}  // namespace migprobe::analysis
