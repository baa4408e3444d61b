#include "dataplane/stats_export.h"

#include <google/protobuf/util/json_util.h>

#include <string>

#include "analysis/drop_reason.h"
#include "analysis/flow_proto.h"
#include "analysis/gap_event.h"
#include "analysis/report_writers.h"

namespace migprobe::dataplane {

namespace an = migprobe::analysis;

namespace {

void counter(google::protobuf::RepeatedPtrField<v1::Counter>* to, std::string_view name,
             std::string_view description, uint64_t value) {
  v1::Counter* c = to->Add();
  c->set_name(std::string(name));
  c->set_description(std::string(description));
  c->set_value(value);
}

void export_flows(const TxSnapshot& tx, const RxSnapshot& rx, const FlowRegistry& registry,
                  v1::Stats* out) {
  const size_t n = std::min({tx.flows.size(), rx.flows.size(), size_t{registry.capacity()}});
  for (uint32_t id = 0; id < n; ++id) {
    const FlowRegistry::Flow* flow = registry.flow(id);
    if (flow == nullptr && !rx.flows[id].active && tx.flows[id].sent == 0) continue;
    v1::FlowStats* f = out->add_flows();
    f->set_flow_id(id);
    if (flow != nullptr) {
      f->set_target(registry.target(flow->target).params.name);
      f->set_kind(an::to_proto_kind(flow->params.kind));
      f->set_interval_ns(flow->params.interval_ns);
    }
    f->set_sent(tx.flows[id].sent);
    f->set_skipped_slots(tx.flows[id].skipped);
    f->set_unresolved_slots(tx.flows[id].unresolved);
    an::set_flow_counters(rx.flows[id].counters, f);
  }
}

}  // namespace

void export_counters(const TxSnapshot& tx, const RxSnapshot& rx, const FlowRegistry& registry,
                     const CaptureCounters* capture, const PublisherCounters& events,
                     v1::Stats* out) {
#define MIGPROBE_TX_STAT(name, desc) counter(out->mutable_tx(), #name, desc, tx.totals.name);
  MIGPROBE_FOREACH_TX_COUNTER(MIGPROBE_TX_STAT)
#undef MIGPROBE_TX_STAT
#define MIGPROBE_RX_STAT(name, desc) counter(out->mutable_rx(), #name, desc, rx.totals.name);
  MIGPROBE_FOREACH_RX_COUNTER(MIGPROBE_RX_STAT)
#undef MIGPROBE_RX_STAT
  for (size_t i = 1; i < an::kDropReasonCount; ++i) {
    const auto r = static_cast<an::DropReason>(i);
    counter(out->mutable_drops(), an::drop_reason_name(r), an::drop_reason_description(r),
            rx.totals.drops[i] + tx.totals.drops[i]);
  }
  if (capture != nullptr) {
    counter(out->mutable_capture(), "frames", "frames written", capture->frames.load());
    counter(out->mutable_capture(), "bytes", "frame bytes written", capture->bytes.load());
    counter(out->mutable_capture(), "files", "capture files opened", capture->files.load());
    counter(out->mutable_capture(), "write_errors", "failed writes", capture->write_errors.load());
    counter(out->mutable_capture(), "overflow", "frames the capture rings could not take",
            tx.totals.capture_overflow + rx.totals.capture_overflow);
  }
  counter(out->mutable_events(), "published", "events published", events.published);
  counter(out->mutable_events(), "subscribers", "event streams opened", events.subscribers);
  counter(out->mutable_events(), "overflowed",
          "events lost to subscribers that did not read (their queue was full)", events.overflowed);
  counter(out->mutable_events(), "overflow_episodes", "times a subscriber began to fall behind",
          events.overflow_episodes);
  counter(out->mutable_events(), "file_errors", "failed writes to the events file",
          events.file_errors);
  export_flows(tx, rx, registry, out);
}

base::Status write_stats_json(const v1::Stats& s, const std::string& path) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opt;
  opt.always_print_primitive_fields = true;
  opt.preserve_proto_field_names = true;
  opt.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(s, &json, opt).ok()) {
    return base::make_error(base::ErrorKind::kInvalid, "cannot write " + path + ": stats not JSON");
  }
  return an::write_report_file(path, json + "\n");
}

std::string stats_summary(const v1::Stats& s) {
  uint64_t sent = 0;
  uint64_t replies = 0;
  for (const auto& c : s.tx()) sent += c.name() == "probes_sent" ? c.value() : 0;
  for (const auto& c : s.rx()) replies += c.name() == "replies" ? c.value() : 0;
  return "probes sent " + std::to_string(sent) + ", replies " + std::to_string(replies);
}

}  // namespace migprobe::dataplane
