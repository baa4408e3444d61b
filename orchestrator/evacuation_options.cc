#include "orchestrator/evacuation_options.h"

#include <sstream>
#include <utility>

#include "analysis/flow_proto.h"
#include "base/flow_spec.h"

namespace migprobe::orchestrator {
namespace {

std::string ms_text(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

}  // namespace

std::vector<std::string> split_list(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

base::Result<std::vector<v1::FlowSpec>> parse_flows(const std::string& text,
                                                    uint64_t reply_timeout_ns) {
  base::Result<std::vector<base::FlowSpec>> parsed = base::parse_flows(text);
  if (!parsed) return parsed.error();
  std::vector<v1::FlowSpec> flows;
  for (base::FlowSpec f : *parsed) {
    // TCP flows have none: TCP retransmits, and the flow measures how long it stalled.
    if (f.reply_timeout_ns == 0 && f.kind != base::ProbeKind::kTcpStream) {
      f.reply_timeout_ns = reply_timeout_ns;
    }
    flows.push_back(analysis::to_proto(f));
  }
  return flows;
}

bool parse_policy(const std::string& text, ConvergePolicy* policy) {
  if (text == "wait") {
    *policy = ConvergePolicy::kWait;
  } else if (text == "force-complete") {
    *policy = ConvergePolicy::kForceComplete;
  } else if (text == "abort") {
    *policy = ConvergePolicy::kAbort;
  } else {
    return false;
  }
  return true;
}

const char* policy_name(ConvergePolicy policy) {
  switch (policy) {
    case ConvergePolicy::kWait:
      return "wait";
    case ConvergePolicy::kForceComplete:
      return "force-complete";
    case ConvergePolicy::kAbort:
      return "abort";
  }
  return "?";
}

base::Status validate(const EvacuationOptions& o) {
  auto invalid = [](std::string message) {
    return base::make_error(base::ErrorKind::kInvalid, std::move(message));
  };
  if (o.source_host.empty() || o.dest_host.empty()) return invalid("--from and --to are required");
  if (o.source_host == o.dest_host) return invalid("--from and --to name the same host");
  if (o.iterations == 0) return invalid("--iterations must be at least 1");
  if (o.parallel == 0) return invalid("--parallel must be at least 1");
  if (o.out_dir.empty()) return invalid("--out-dir is required");
  if (o.poll_interval.count() <= 0) return invalid("--poll-interval must be positive");
  if (o.queue_timeout.count() <= 0) return invalid("--queue-timeout must be positive");
  if (o.vm_metrics_period.count() != 0 && o.vm_metrics_period < std::chrono::milliseconds(100)) {
    return invalid(
        "--vm-metrics-period must be 0s (off) or at least 100ms (it is one Nova call "
        "per VM and period)");
  }
  if (o.migration_timeout < o.converge_timeout) {
    return invalid("--migration-timeout (" + ms_text(o.migration_timeout) +
                   ") is shorter than --converge-timeout (" + ms_text(o.converge_timeout) + ")");
  }
  if (o.block_migration != "auto" && o.block_migration != "yes" && o.block_migration != "no") {
    return invalid("--block-migration must be auto, yes or no");
  }
  if (!o.dataplane_socket.empty() && o.flows.empty()) {
    return invalid("no probe flow given (--flows)");
  }
  return base::Done{};
}

std::string summary(const EvacuationOptions& o) {
  std::ostringstream s;
  s << "evacuate " << o.source_host << " -> " << o.dest_host << " and back, " << o.iterations
    << (o.iterations == 1 ? " iteration" : " iterations") << ", "
    << (o.parallel == 1 ? std::string("serial") : std::to_string(o.parallel) + " at a time")
    << ", policy " << policy_name(o.policy) << " (converge " << ms_text(o.converge_timeout)
    << ", timeout " << ms_text(o.migration_timeout) << ", queued at most "
    << ms_text(o.queue_timeout) << "), settle " << ms_text(o.settle);
  if (o.vm_metrics_period.count() == 0) {
    s << ", no VM metrics";
  } else {
    s << ", VM metrics every " << ms_text(o.vm_metrics_period);
  }
  if (!o.servers.empty()) {
    s << ", servers";
    for (const auto& n : o.servers) s << ' ' << n;
  }
  if (o.dataplane_socket.empty()) {
    s << ", no probe";
  } else {
    s << ", flows";
    for (const auto& f : o.flows) {
      base::Result<base::FlowSpec> spec = analysis::from_proto(f);
      if (!spec) continue;         // parse_flows made them: never
      spec->reply_timeout_ns = 0;  // the run's reply timeout, not the flow's
      s << ' ' << base::flow_text(*spec);
    }
  }
  return s.str();
}

}  // namespace migprobe::orchestrator
