#pragma once
// EAL-side set-up, once at start: hugepage check, port lookup or hot-plug, lcore checks,
// mempool and queue configuration. Every refusal is one clear message.

#include <cstdint>
#include <string>

#include "analysis/packet.h"
#include "base/result.h"
#include "dataplane/options.h"

struct rte_mempool;

namespace migprobe::dataplane {

// The port as set up.
struct PortInfo {
  uint16_t port_id = 0;
  std::string name;
  std::string driver;
  analysis::MacAddress mac{};
  bool is_virtual = false;
  bool timestamps = false;
  int timestamp_offset = -1;
  uint64_t timestamp_flag = 0;
  // RX timestamps are ns times this (net_pcap gives microseconds since the epoch).
  uint32_t timestamp_scale = 1;
};

// Before rte_eal_init: refuses when no hugepages are free and the EAL arguments have
// neither --no-huge nor --in-memory with -m... The refusal is ErrorKind::kExhausted and
// says how to reserve some.
base::Status check_hugepages(int eal_argc, char** eal_argv);

// After rte_eal_init: checks the TX/RX lcores (filling defaults). The error is
// ErrorKind::kInvalid, naming the lcore or option that is wrong and the enabled workers.
base::Status check_lcores(Options* o);

// Finds (or hot-plugs) the port, creates the mempool, configures one RX and one TX queue
// and starts it. The error names the port: ErrorKind::kInvalid when --port names no port
// that can be probed or --rx-timestamp asks for timestamps the port does not offer,
// kExhausted when the mbuf pool or the mbuf timestamp field cannot be had, kIo when the
// device refuses its information, configuration, queues or start.
base::Status setup_port(const Options& o, rte_mempool** pool, PortInfo* out);

}  // namespace migprobe::dataplane
