#pragma once
// migprobe-dp's own options (the ones after `--`; the EAL's come before it): one struct,
// filled by Boost.Program_options and validated in one place.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/packet.h"
#include "dataplane/neighbour_table.h"
#include "dataplane/target_spec.h"

namespace migprobe::dataplane {

struct Options {
  std::string port;  // port name, PCI address, or vdev devargs
  uint32_t probe_ip = 0;
  std::optional<analysis::MacAddress> probe_mac;
  uint16_t vlan = 0;
  int tx_lcore = -1;
  int rx_lcore = -1;
  uint32_t mbufs = 16383;
  uint32_t mbuf_cache = 256;
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint32_t max_flows = 4096;
  uint32_t max_tcp_flows = 1024;  // TCP flows (each a connection: its own table)
  std::vector<TargetParams> targets;
  uint64_t reply_timeout_ns = 1'000'000'000;
  uint64_t outage_threshold_ns = 1'000'000;
  std::string capture;
  uint64_t capture_max_bytes = 1ULL << 30;
  uint32_t capture_max_files = 8;
  uint64_t capture_flush_ns = 100'000'000;
  bool capture_tx = true;
  std::string control_socket;
  std::string events_path;
  std::string stats_path;
  enum class IdleSleep { kAuto, kOn, kOff } idle_sleep = IdleSleep::kAuto;
  bool port_timestamps = false;
  bool replay = false;
  uint64_t exit_after_idle_ns = 0;
  uint64_t duration_ns = 0;
  bool autostart = true;
  uint64_t calibration_interval_ns = 5'000'000'000;
  uint64_t calibration_first_ns = 100'000'000;
  double tsc_skew_ppm = 0;
  NeighbourConfig neighbour;
  bool verify_checksums = true;
  bool quiet = false;
  int realtime_priority = 0;
};

// Parses the app arguments (argv[0] is the program name). Returns the options, or nullopt
// with *error set to a message naming the option and what is wrong. *help is set (and
// *error holds the help text) when --help was asked.
std::optional<Options> parse_options(int argc, char** argv, std::string* error, bool* help);

}  // namespace migprobe::dataplane
