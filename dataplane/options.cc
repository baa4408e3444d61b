#include "dataplane/options.h"

#include <boost/program_options.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

namespace migprobe::dataplane {

namespace po = boost::program_options;

namespace {

const char* kUsage =
    "usage: migprobe-dp [EAL options] -- --port PORT --probe-ip IP [options]\n"
    "\n"
    "Sends paced, timestamped probe flows to every target and measures every gap live.\n"
    "EAL options come before `--` (e.g. -l 0-2 --no-huge -m 256 --vdev ...); the port is a\n"
    "PCI address (bound to vfio-pci) or a virtual device: net_af_packet0,iface=IF;\n"
    "net_pcap0,rx_pcap=FILE; net_null0; net_ring0. The main lcore runs the control thread,\n"
    "two more lcores run TX and RX.\n"
    "\n"
    "Targets: --target 'name=vm1,10.78.0.11,icmp=1000,udp=1ms/dscp=46/port=7077'\n"
    "  rates in pps (1000, 2.5k, 1M) or as intervals (1ms, 250us); options size=BYTES\n"
    "  (L4 payload incl. the 18-byte trailer), dscp=N, port=N (udp), timeout=DURATION (this\n"
    "  flow's reply timeout, e.g. 200ms; default --reply-timeout-ms); mac=MAC skips ARP.\n"
    "\n";

}  // namespace

std::optional<Options> parse_options(int argc, char** argv, std::string* error, bool* help) {
  Options o;
  *help = false;
  std::string probe_ip, probe_mac, idle_sleep = "auto", rx_timestamp = "tsc", targets_file;
  std::vector<std::string> targets;
  double reply_timeout_ms = 1000, outage_threshold_ms = 1, exit_idle_ms = 0, duration_s = 0;
  double capture_max_mb = 1024, capture_flush_ms = 100, calibration_s = 5;
  double arp_retry_ms = 200, arp_age_s = 60;
  uint32_t vlan = 0, rx_desc = 1024, tx_desc = 1024;

  po::options_description desc("migprobe-dp options");
  desc.add_options()("help,h", "this help")(
      "port", po::value<std::string>(&o.port)->required(),
      "port: PCI address, ethdev name, or vdev devargs (net_af_packet0,iface=veth0)")(
      "probe-ip", po::value<std::string>(&probe_ip)->required(), "the probe's IPv4 address")(
      "probe-mac", po::value<std::string>(&probe_mac), "the probe's MAC (default: the port's)")(
      "vlan", po::value<uint32_t>(&vlan)->default_value(0), "802.1Q tag of the probe (0: none)")(
      "tx-lcore", po::value<int>(&o.tx_lcore)->default_value(-1),
      "lcore that sends probes (default: first worker lcore)")(
      "rx-lcore", po::value<int>(&o.rx_lcore)->default_value(-1),
      "lcore that receives replies (default: second worker lcore)")(
      "mbufs", po::value<uint32_t>(&o.mbufs)->default_value(16383), "mbufs in the pool")(
      "mbuf-cache", po::value<uint32_t>(&o.mbuf_cache)->default_value(256), "per-lcore mbuf cache")(
      "rx-desc", po::value<uint32_t>(&rx_desc)->default_value(1024), "RX descriptors")(
      "tx-desc", po::value<uint32_t>(&tx_desc)->default_value(1024), "TX descriptors")(
      "max-flows", po::value<uint32_t>(&o.max_flows)->default_value(4096),
      "size of the flat flow tables (flow ids 0..N-1, at most 2^20)")(
      "target", po::value<std::vector<std::string>>(&targets)->composing(),
      "a target and its flows (repeatable; syntax above)")(
      "targets-file", po::value<std::string>(&targets_file), "one target per line (# comments)")(
      "reply-timeout-ms", po::value<double>(&reply_timeout_ms)->default_value(1000),
      "a reply later than this counts as lost")(
      "outage-threshold-ms", po::value<double>(&outage_threshold_ms)->default_value(1),
      "gaps this long are outages (shorter: isolated loss); also the in-progress alarm")(
      "capture", po::value<std::string>(&o.capture), "pcapng file for probes, replies, announces")(
      "capture-max-mb", po::value<double>(&capture_max_mb)->default_value(1024),
      "rotate the capture at this size (FILE, FILE.1, FILE.2, ...)")(
      "capture-max-files", po::value<uint32_t>(&o.capture_max_files)->default_value(8),
      "keep at most this many capture files (oldest deleted)")(
      "capture-flush-ms", po::value<double>(&capture_flush_ms)->default_value(100),
      "flush the capture this often (a crash loses at most this much)")(
      "capture-rx-only", "capture received frames only (not the probes sent)")(
      "control-socket", po::value<std::string>(&o.control_socket),
      "serve the gRPC control API on this unix socket (mode 0600)")(
      "events", po::value<std::string>(&o.events_path), "append events as JSON lines to this file")(
      "stats", po::value<std::string>(&o.stats_path), "write the final stats as JSON here")(
      "idle-sleep", po::value<std::string>(&idle_sleep)->default_value("auto"),
      "on|off|auto: sleep instead of spinning when idle (auto: on for virtual devices)")(
      "rx-timestamp", po::value<std::string>(&rx_timestamp)->default_value("tsc"),
      "tsc|port: stamp replies with the TSC, or with the port's timestamps (net_pcap replay)")(
      "replay", "replay a capture: learn flows from requests and replies, send nothing")(
      "exit-after-idle-ms", po::value<double>(&exit_idle_ms)->default_value(0),
      "stop when nothing was received for this long (replay)")(
      "duration-s", po::value<double>(&duration_s)->default_value(0), "stop after this long")(
      "no-autostart", "do not start sending until told to over the control API")(
      "calibration-interval-s", po::value<double>(&calibration_s)->default_value(5),
      "refresh the TSC to CLOCK_REALTIME mapping this often (after 0.1, 0.3, 0.7, ... s at "
      "start); each refresh slews the mapping, never steps it")(
      "tsc-skew-ppm", po::value<double>(&o.tsc_skew_ppm)->default_value(0),
      "a test of the clock: start from the measured TSC rate this many ppm off (-20000.."
      "20000); the refreshes must slew it out")(
      "arp-retry-ms", po::value<double>(&arp_retry_ms)->default_value(200), "ARP retry interval")(
      "arp-age-s", po::value<double>(&arp_age_s)->default_value(60),
      "re-probe a resolved neighbour after this long")(
      "no-verify-checksums", "do not verify IP/L4 checksums of received frames")(
      "realtime", po::value<int>(&o.realtime_priority)->default_value(0),
      "run the TX and RX lcores under SCHED_FIFO at this priority (1..99; 0: no). Use with "
      "idle sleep on a shared machine: wake-ups stay on time")("quiet,q", "no progress output");

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    if (vm.count("help") != 0) {
      std::ostringstream s;
      s << kUsage << desc;
      *error = s.str();
      *help = true;
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    *error = std::string(e.what()) + " (see --help)";
    return std::nullopt;
  }

  auto fail = [&](const std::string& m) {
    *error = m;
    return std::nullopt;
  };
  const analysis::IpAddress ip = analysis::IpAddress::parse(probe_ip);
  if (ip.family != 4) return fail("--probe-ip '" + probe_ip + "': not an IPv4 address");
  o.probe_ip = (uint32_t{ip.bytes[0]} << 24) | (uint32_t{ip.bytes[1]} << 16) |
               (uint32_t{ip.bytes[2]} << 8) | ip.bytes[3];
  if (!probe_mac.empty()) {
    analysis::MacAddress mac;
    if (!analysis::parse_mac(probe_mac, &mac))
      return fail("--probe-mac '" + probe_mac + "': not a MAC");
    o.probe_mac = mac;
  }
  if (vlan > 4094) return fail("--vlan must be 0..4094");
  o.vlan = static_cast<uint16_t>(vlan);
  if (rx_desc == 0 || rx_desc > 32768 || tx_desc == 0 || tx_desc > 32768) {
    return fail("--rx-desc/--tx-desc must be 1..32768");
  }
  o.rx_desc = static_cast<uint16_t>(rx_desc);
  o.tx_desc = static_cast<uint16_t>(tx_desc);
  if (o.max_flows == 0 || o.max_flows > (1U << 20)) return fail("--max-flows must be 1..1048576");
  if (o.mbufs < 1024) return fail("--mbufs must be at least 1024");
  if (reply_timeout_ms <= 0 || reply_timeout_ms > 60000)
    return fail("--reply-timeout-ms must be in (0, 60000]");
  o.reply_timeout_ns = static_cast<uint64_t>(reply_timeout_ms * 1e6);
  if (outage_threshold_ms < 0) return fail("--outage-threshold-ms must be >= 0");
  o.outage_threshold_ns = static_cast<uint64_t>(outage_threshold_ms * 1e6);
  if (capture_max_mb <= 0) return fail("--capture-max-mb must be positive");
  o.capture_max_bytes = static_cast<uint64_t>(capture_max_mb * 1048576.0);
  if (o.capture_max_files == 0) return fail("--capture-max-files must be at least 1");
  if (capture_flush_ms <= 0) return fail("--capture-flush-ms must be positive");
  o.capture_flush_ns = static_cast<uint64_t>(capture_flush_ms * 1e6);
  o.capture_tx = vm.count("capture-rx-only") == 0;
  if (idle_sleep == "auto") {
    o.idle_sleep = Options::IdleSleep::kAuto;
  } else if (idle_sleep == "on") {
    o.idle_sleep = Options::IdleSleep::kOn;
  } else if (idle_sleep == "off") {
    o.idle_sleep = Options::IdleSleep::kOff;
  } else {
    return fail("--idle-sleep '" + idle_sleep + "': must be on, off or auto");
  }
  if (rx_timestamp != "tsc" && rx_timestamp != "port") {
    return fail("--rx-timestamp '" + rx_timestamp + "': must be tsc or port");
  }
  o.port_timestamps = rx_timestamp == "port";
  o.replay = vm.count("replay") != 0;
  o.exit_after_idle_ns = static_cast<uint64_t>(exit_idle_ms * 1e6);
  o.duration_ns = static_cast<uint64_t>(duration_s * 1e9);
  o.autostart = vm.count("no-autostart") == 0;
  if (calibration_s < 0.2) return fail("--calibration-interval-s must be at least 0.2");
  if (!(std::abs(o.tsc_skew_ppm) <= 20000)) {
    return fail("--tsc-skew-ppm must be within -20000..20000");
  }
  o.calibration_interval_ns = static_cast<uint64_t>(calibration_s * 1e9);
  o.neighbour.retry_ns = static_cast<uint64_t>(arp_retry_ms * 1e6);
  o.neighbour.max_age_ns = static_cast<uint64_t>(arp_age_s * 1e9);
  o.verify_checksums = vm.count("no-verify-checksums") == 0;
  o.quiet = vm.count("quiet") != 0;
  if (o.realtime_priority < 0 || o.realtime_priority > 99) return fail("--realtime must be 0..99");

  if (!targets_file.empty()) {
    std::ifstream in(targets_file);
    if (!in) return fail("--targets-file '" + targets_file + "': cannot be read");
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      const size_t hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
        line.pop_back();
      size_t b = line.find_first_not_of(" \t");
      if (b == std::string::npos) continue;
      line = line.substr(b);
      std::string err;
      auto t = parse_target(line, &err);
      if (!t) return fail(targets_file + ":" + std::to_string(n) + ": " + err);
      o.targets.push_back(*t);
    }
  }
  for (const std::string& text : targets) {
    std::string err;
    auto t = parse_target(text, &err);
    if (!t) return fail("--target: " + err);
    o.targets.push_back(*t);
  }
  size_t flows = 0;
  for (const auto& t : o.targets) flows += t.flows.size();
  if (flows > o.max_flows) {
    return fail(std::to_string(flows) + " flows configured but --max-flows is " +
                std::to_string(o.max_flows));
  }
  if (o.replay && !o.targets.empty())
    return fail("--replay sends nothing: drop the --target options");
  return o;
}

}  // namespace migprobe::dataplane
