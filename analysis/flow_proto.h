#pragma once
// Probe flows between the one flow grammar's FlowSpec (base/flow_spec.h) and their message
// (v1::FlowSpec), written once for migprobe-dp, migprobe-dpctl, migprobe-control and the
// reports.

#include "base/flow_spec.h"
#include "base/result.h"
#include "migprobe/v1/probe.pb.h"

namespace migprobe::analysis {

// The message's kind of a probe kind.
v1::FlowKind to_proto_kind(base::ProbeKind kind);
// A flow as its message.
v1::FlowSpec to_proto(const base::FlowSpec& flow);
// A flow from its message, checked against the limits (port 0: the default port); the
// error says what is wrong, e.g. a kind this dataplane does not send.
base::Result<base::FlowSpec> from_proto(const v1::FlowSpec& flow);

}  // namespace migprobe::analysis
