#pragma once
// The RX core's events as the messages migprobe-dp's clients see (v1::Event): a gap with
// its target, flow kind and the switchover announce inside it, an outage in progress, a
// RARP or gratuitous ARP announce, a neighbour resolved or moved. Conversion only: what an
// event changes in the control thread (the neighbour table, the TX core's MACs) stays
// there. No DPDK.
//
// Timestamps leave on CLOCK_REALTIME: time_offset_ns is added to each core timestamp (0 for
// a replay, whose timestamps are the capture's own).

#include <cstdint>

#include "analysis/packet.h"
#include "dataplane/dp_messages.h"
#include "dataplane/flow_registry.h"
#include "dataplane/neighbour_table.h"
#include "migprobe/v1/dataplane.pb.h"

namespace migprobe::dataplane {

// A gap of a flow: its target's name and flow kind from the registry (empty, unspecified
// when the flow is gone), and the first announce of its target seen in the gap's announce
// window (analysis/announce.h), split as the offline analysis splits it.
v1::Event gap_message(const analysis::Gap& gap, const FlowRegistry& registry,
                      const NeighbourTable& neighbours, int64_t time_offset_ns);

// No reply from flow_id since the probe sent at since_tx_ns, detected at detected_ns.
v1::Event outage_message(uint32_t flow_id, uint64_t detected_ns, uint64_t since_tx_ns,
                         const FlowRegistry& registry, int64_t time_offset_ns);

// A RARP (e.kind kRarp) or a gratuitous ARP (kArp with garp set) as an announce.
v1::Event announce_message(const RxEvent& e, int64_t time_offset_ns);

// The ARP event e resolved its sender (moved false) or moved it from previous_mac.
v1::Event neighbour_message(const RxEvent& e, bool moved, const analysis::MacAddress& previous_mac,
                            int64_t time_offset_ns);

// A TCP flow's connection changed (the TX core's event).
v1::Event tcp_connection_message(const TcpFlowEvent& e, const FlowRegistry& registry,
                                 int64_t time_offset_ns);

// A TCP flow's figures as a snapshot holds them, its meter finished at now_ns: the stream
// (opener: the probe's address and the slot's port; peer: the flow's target and port) and
// the echo.
void tcp_flow_figures(const TcpFlowSnapshot& s, uint32_t tcp_slot, uint32_t probe_ip,
                      uint64_t now_ns, int64_t time_offset_ns, v1::TcpStreamReport* stream,
                      v1::TcpEchoReport* echo);

}  // namespace migprobe::dataplane
