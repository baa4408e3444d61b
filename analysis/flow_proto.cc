#include "analysis/flow_proto.h"

namespace migprobe::analysis {

v1::FlowKind to_proto_kind(base::ProbeKind kind) {
  switch (kind) {
    case base::ProbeKind::kIcmpEcho:
      return v1::FLOW_KIND_ICMP_ECHO;
    case base::ProbeKind::kUdpReflect:
      return v1::FLOW_KIND_UDP_REFLECT;
    case base::ProbeKind::kTcpStream:
      return v1::FLOW_KIND_TCP_STREAM;
    case base::ProbeKind::kTcpSyn:
      return v1::FLOW_KIND_TCP_SYN;
  }
  return v1::FLOW_KIND_UNSPECIFIED;
}

v1::FlowSpec to_proto(const base::FlowSpec& f) {
  v1::FlowSpec s;
  s.set_kind(to_proto_kind(f.kind));
  s.set_interval_ns(f.interval_ns);
  s.set_payload_bytes(f.payload_bytes);
  s.set_dscp(f.dscp);
  if (f.kind != base::ProbeKind::kIcmpEcho) s.set_port(f.port);
  s.set_reply_timeout_ns(f.reply_timeout_ns);
  if (f.kind == base::ProbeKind::kTcpStream) {
    s.set_rate_bytes_per_s(f.rate_bytes_per_s);
    s.set_discard(!f.echo);
  }
  return s;
}

base::Result<base::FlowSpec> from_proto(const v1::FlowSpec& s) {
  auto invalid = [](const std::string& why) {
    return base::make_error(base::ErrorKind::kInvalid, why);
  };
  base::FlowSpec f;
  if (s.kind() == v1::FLOW_KIND_ICMP_ECHO) {
    f.kind = base::ProbeKind::kIcmpEcho;
  } else if (s.kind() == v1::FLOW_KIND_UDP_REFLECT) {
    f.kind = base::ProbeKind::kUdpReflect;
  } else if (s.kind() == v1::FLOW_KIND_TCP_SYN) {
    f.kind = base::ProbeKind::kTcpSyn;
  } else if (s.kind() == v1::FLOW_KIND_TCP_STREAM) {
    f.kind = base::ProbeKind::kTcpStream;
    f.rate_bytes_per_s = s.rate_bytes_per_s() != 0 ? s.rate_bytes_per_s() : base::kDefaultTcpRate;
    f.echo = !s.discard();
  } else {
    return invalid("flow kind " + v1::FlowKind_Name(s.kind()) +
                   " is not supported by this dataplane");
  }
  if (s.dscp() > 63) return invalid("dscp must be 0..63");
  if (s.port() > 65535) return invalid("port must be 1..65535");
  f.interval_ns = s.interval_ns();
  f.payload_bytes = s.payload_bytes();
  f.dscp = static_cast<uint8_t>(s.dscp());
  if (s.port() != 0) f.port = static_cast<uint16_t>(s.port());
  f.reply_timeout_ns = s.reply_timeout_ns();  // 0: the dataplane's --reply-timeout
  if (base::Status ok = base::validate_flow(f); !ok) return ok.error();
  return f;
}

}  // namespace migprobe::analysis
