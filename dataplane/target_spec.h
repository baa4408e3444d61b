#pragma once
// Targets and their probe flows as the dataplane holds them, and the command-line syntax
// for a target, whose flows are written in the project's one flow grammar
// (base/flow_spec.h, the same as migprobe-control's --flows):
//
//   TARGET := ITEM (',' ITEM)*
//   ITEM   := IP | name=NAME | ip=IP | mac=MAC | vlan=N | FLOW
//
// e.g. "name=vm1,10.78.0.11,icmp=1000,udp=1ms/dscp=46/port=7077/timeout=200ms".

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/packet.h"
#include "base/flow_spec.h"
#include "base/result.h"

namespace migprobe::dataplane {

using base::ProbeKind;
// One flow of a target.
using FlowParams = base::FlowSpec;

// One target VM.
struct TargetParams {
  std::string name;
  uint32_t ip = 0;  // host order
  std::optional<analysis::MacAddress> mac;
  uint16_t vlan = 0;
  std::vector<FlowParams> flows;
};

// Parses one TARGET; the error names the text and the faulty item.
base::Result<TargetParams> parse_target(const std::string& text);

}  // namespace migprobe::dataplane
