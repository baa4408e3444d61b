#pragma once
// The offline analyzer: frames in (from a capture), flows, gaps and announces out. It
// recognises migprobe probes by their trailer (tcp-syn probes by their headers,
// syn_probe.h) and, for captures the probe did not make,
// plain ICMP echo traffic (ping, fping) matched by id and sequence, and measures every TCP
// stream (tcp_meter.h). Part of the detector:
// no protobuf and no libpcap (capture_reader.h feeds it, capture_report.h reports on it).

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/announce.h"
#include "analysis/classify.h"
#include "analysis/drop_reason.h"
#include "analysis/flow_tracker.h"
#include "analysis/packet.h"
#include "analysis/syn_probe.h"
#include "analysis/tcp_meter.h"

namespace migprobe::analysis {

// Settings of one analysis.
struct AnalyzerOptions {
  TrackerConfig tracker;
  ParseOptions parse;
  // Run generation to accept; -1 adopts the first one seen.
  int generation = -1;
  // Configured probe intervals by flow id (from the journal); unknown flows measure theirs.
  std::unordered_map<uint32_t, uint64_t> flow_interval_ns;
  // Interval for flows without one above; 0 measures it from the capture.
  uint64_t default_interval_ns = 0;
};

// One flow as the capture showed it.
struct AnalyzedFlow {
  // Plain ICMP echo of another tool (ping), not a migprobe probe flow.
  bool foreign = false;
  ProbeKind probe_kind = ProbeKind::kIcmpEcho;  // probe flows
  uint32_t flow_id = 0;
  IpAddress target_ip;
  MacAddress target_mac{};
  bool target_mac_known = false;
  uint16_t vlan = 0;
  // Foreign ICMP flows: who sent the echo requests, and with which ICMP id.
  IpAddress initiator;
  uint16_t icmp_id = 0;
  FlowTracker tracker;
  std::vector<Gap> gaps;
};

// One TCP stream (an address and port pair) as the capture showed it.
struct AnalyzedTcpStream {
  uint32_t stream_id = 0;  // in the order first seen
  // The side that opened it (sent the SYN), or that was seen first.
  IpAddress opener_ip;
  uint16_t opener_port = 0;
  IpAddress peer_ip;
  uint16_t peer_port = 0;
  uint16_t vlan = 0;
  // One of migprobe-dp's TCP flows: its data carries the probe trailer at chunk starts.
  bool probe = false;
  uint32_t flow_id = 0;
  TcpMeter meter;
};

// Packet counts of a whole analysis.
struct AnalyzerTotals {
  uint64_t frames = 0;
  uint64_t bytes = 0;
  uint64_t probes = 0;
  uint64_t foreign_echo = 0;
  uint64_t tcp_segments = 0;
  uint64_t announces = 0;
  // ARP that announces nothing, and the probe's resets of half-open tcp-syn connections
  // (not drops: valid frames of no use offline).
  uint64_t other = 0;
  uint64_t first_ns = 0;
  uint64_t last_ns = 0;
};

// Feeds frames through parsing, trailer validation and per-flow tracking.
class Analyzer {
 public:
  explicit Analyzer(AnalyzerOptions options);
  ~Analyzer();
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;

  // One frame captured at ts_ns.
  void on_frame(uint64_t ts_ns, const uint8_t* frame, uint32_t caplen, uint32_t wirelen);
  // End of input: settles every flow. Call once, after the last frame.
  void finish();

  // Flows in a stable order: probe flows by flow id, then foreign flows as first seen.
  std::vector<const AnalyzedFlow*> flows() const;
  // TCP streams in the order first seen.
  const std::vector<std::unique_ptr<AnalyzedTcpStream>>& tcp_streams() const {
    return tcp_streams_;
  }
  const std::vector<Announce>& announces() const { return announces_; }
  const DropCounters& drops() const { return drops_; }
  const AnalyzerTotals& totals() const { return totals_; }
  const AnalyzerOptions& options() const { return options_; }
  // The run generation the probes carried (-1 when none was seen).
  int generation() const { return generation_; }

 private:
  struct ForeignFlow;
  // Who pinged whom with which ICMP id: the identity of a foreign echo flow.
  struct ForeignKey {
    std::array<uint8_t, 16> initiator;
    std::array<uint8_t, 16> target;
    uint16_t icmp_id;
    bool operator==(const ForeignKey&) const = default;
  };
  struct ForeignKeyHash {
    size_t operator()(const ForeignKey& k) const;
  };
  // A TCP stream's two ends, the lower first: both directions find one stream.
  struct TcpKey {
    std::array<uint8_t, 16> low_ip;
    std::array<uint8_t, 16> high_ip;
    uint16_t low_port;
    uint16_t high_port;
    bool operator==(const TcpKey&) const = default;
  };
  struct TcpKeyHash {
    size_t operator()(const TcpKey& k) const;
  };

  void on_probe(uint64_t ts_ns, const FrameVerdict& v);
  void on_foreign_echo(uint64_t ts_ns, const ParsedPacket& pkt, bool request);
  void on_arp(uint64_t ts_ns, const FrameVerdict& v);
  void on_tcp(uint64_t ts_ns, const ParsedPacket& pkt);
  // A segment of a tcp-syn flow (its probe, a reply, the probe's reset), or the first probe
  // of one: false when the segment is none of these (a TCP stream's).
  bool on_syn_probe(uint64_t ts_ns, const ParsedPacket& pkt, const TcpKey& key);
  AnalyzedFlow* probe_flow(uint32_t flow_id, ProbeKind kind);
  void drop(DropReason r) { ++drops_[static_cast<size_t>(r)]; }

  AnalyzerOptions options_;
  int generation_ = -1;
  // Probe flows indexed by flow id (flat array, as the dataplane does).
  std::vector<std::unique_ptr<AnalyzedFlow>> probe_flows_;
  std::vector<std::unique_ptr<ForeignFlow>> foreign_flows_;
  std::unordered_map<ForeignKey, size_t, ForeignKeyHash> foreign_index_;
  std::vector<std::unique_ptr<AnalyzedTcpStream>> tcp_streams_;
  std::unordered_map<TcpKey, size_t, TcpKeyHash> tcp_index_;
  // tcp-syn flows by address pair: the flow, its probe side, the ISN of its probe 0 and
  // its replies' pairing with its probes.
  struct SynFlow {
    uint32_t flow_id = 0;
    IpAddress probe_ip;
    uint16_t probe_port = 0;
    uint32_t base = 0;
    SynMatcher matcher;
  };
  std::unordered_map<TcpKey, std::unique_ptr<SynFlow>, TcpKeyHash> syn_flows_;
  std::vector<Announce> announces_;
  DropCounters drops_{};
  AnalyzerTotals totals_;
};

}  // namespace migprobe::analysis
