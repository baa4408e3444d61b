#include "dataplane/options.h"

#include <boost/program_options.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

#include "base/duration.h"
#include "base/ipv4.h"

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
    "  items: IP, name=, mac= (skips ARP), vlan=, and flows KIND=RATE[/OPTION]...: the same\n"
    "  flow syntax as migprobe-control --flows. KIND icmp or udp; RATE in pps (1000, 2.5k,\n"
    "  1M) or as an interval (1ms, 250us); options size=BYTES (L4 payload incl. the 18-byte\n"
    "  trailer), dscp=N, port=N (udp, default 7077), timeout=DURATION (this flow's reply\n"
    "  timeout; default --reply-timeout).\n"
    "Times are DURATIONs everywhere: 250us, 200ms, 2s, 1m.\n"
    "\n";

}  // namespace

std::optional<Options> parse_options(int argc, char** argv, std::string* error, bool* help) {
  Options o;
  *help = false;
  std::string probe_ip, probe_mac, idle_sleep = "auto", rx_timestamp = "tsc", targets_file;
  std::vector<std::string> targets;
  std::string reply_timeout = "1s", outage_threshold = "1ms", exit_idle = "0s", duration = "0s";
  std::string capture_flush = "100ms", calibration = "5s", calibration_first = "100ms",
              arp_retry = "200ms", arp_age = "60s";
  double capture_max_mb = 1024;
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
      "max-tcp-flows", po::value<uint32_t>(&o.max_tcp_flows)->default_value(1024),
      "TCP flows at most (each a connection, about 3 KiB; local ports 49152 up; 1..16384)")(
      "target", po::value<std::vector<std::string>>(&targets)->composing(),
      "a target and its flows (repeatable; syntax above)")(
      "targets-file", po::value<std::string>(&targets_file), "one target per line (# comments)")(
      "reply-timeout", po::value(&reply_timeout)->default_value("1s"),
      "a reply later than this counts as lost (a DURATION: 250us, 200ms, 1s; at most 60s)")(
      "outage-threshold", po::value(&outage_threshold)->default_value("1ms"),
      "gaps this long are outages (shorter: isolated loss); also the in-progress alarm")(
      "capture", po::value<std::string>(&o.capture), "pcapng file for probes, replies, announces")(
      "capture-max-mb", po::value<double>(&capture_max_mb)->default_value(1024),
      "rotate the capture at this size (FILE, FILE.1, FILE.2, ...)")(
      "capture-max-files", po::value<uint32_t>(&o.capture_max_files)->default_value(8),
      "keep at most this many capture files (oldest deleted)")(
      "capture-flush", po::value(&capture_flush)->default_value("100ms"),
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
      "exit-after-idle", po::value(&exit_idle)->default_value("0s"),
      "stop when nothing was received for this long (replay; 0s: never)")(
      "duration", po::value(&duration)->default_value("0s"), "stop after this long (0s: never)")(
      "no-autostart", "do not start sending until told to over the control API")(
      "calibration-interval", po::value(&calibration)->default_value("5s"),
      "refresh the TSC to CLOCK_REALTIME mapping this often (after 0.1, 0.3, 0.7, ... s at "
      "start); each refresh slews the mapping, never steps it")(
      "calibration-first", po::value(&calibration_first)->default_value("100ms"),
      "the first refresh this long after start; the gaps then double up to "
      "--calibration-interval")(
      "tsc-skew-ppm", po::value<double>(&o.tsc_skew_ppm)->default_value(0),
      "a test of the clock: start from the measured TSC rate this many ppm off (-20000.."
      "20000); the refreshes must slew it out")(
      "arp-retry", po::value(&arp_retry)->default_value("200ms"), "ARP retry interval")(
      "arp-age", po::value(&arp_age)->default_value("60s"),
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
  const auto ip = base::parse_ipv4(probe_ip);
  if (!ip) return fail("--probe-ip '" + probe_ip + "': not an IPv4 address");
  o.probe_ip = *ip;
  // Every time option is a DURATION (base/duration.h), within [min, max].
  std::string bad;
  auto duration_of = [&](const char* option, const std::string& text, uint64_t min, uint64_t max,
                         uint64_t* out) {
    const auto ns = base::parse_duration_ns(text);
    if (!ns || *ns < min || *ns > max) {
      if (bad.empty()) {
        bad = std::string("--") + option + " '" + text + "': not a duration from " +
              base::duration_text(min) + " to " + base::duration_text(max) +
              " (e.g. 250us, 200ms, 2s)";
      }
      return;
    }
    *out = *ns;
  };
  constexpr uint64_t kDay = 86'400'000'000'000;
  duration_of("reply-timeout", reply_timeout, 1'000, base::kMaxReplyTimeoutNs, &o.reply_timeout_ns);
  duration_of("outage-threshold", outage_threshold, 0, base::kMaxReplyTimeoutNs,
              &o.outage_threshold_ns);
  duration_of("capture-flush", capture_flush, 1'000'000, 60'000'000'000, &o.capture_flush_ns);
  duration_of("exit-after-idle", exit_idle, 0, kDay, &o.exit_after_idle_ns);
  duration_of("duration", duration, 0, 365 * kDay, &o.duration_ns);
  duration_of("calibration-interval", calibration, 200'000'000, 3'600'000'000'000,
              &o.calibration_interval_ns);
  duration_of("calibration-first", calibration_first, 10'000'000, 10'000'000'000,
              &o.calibration_first_ns);
  duration_of("arp-retry", arp_retry, 1'000'000, 60'000'000'000, &o.neighbour.retry_ns);
  duration_of("arp-age", arp_age, 1'000'000'000, kDay, &o.neighbour.max_age_ns);
  if (!bad.empty()) return fail(bad);
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
  if (o.max_tcp_flows == 0 || o.max_tcp_flows > 16384) {
    return fail("--max-tcp-flows must be 1..16384");
  }
  if (o.mbufs < 1024) return fail("--mbufs must be at least 1024");
  if (capture_max_mb <= 0) return fail("--capture-max-mb must be positive");
  o.capture_max_bytes = static_cast<uint64_t>(capture_max_mb * 1048576.0);
  if (o.capture_max_files == 0) return fail("--capture-max-files must be at least 1");
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
  o.autostart = vm.count("no-autostart") == 0;
  if (!(std::abs(o.tsc_skew_ppm) <= 20000)) {
    return fail("--tsc-skew-ppm must be within -20000..20000");
  }
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
      auto t = parse_target(line);
      if (!t) return fail(targets_file + ":" + std::to_string(n) + ": " + t.error().message);
      o.targets.push_back(*t);
    }
  }
  for (const std::string& text : targets) {
    auto t = parse_target(text);
    if (!t) return fail("--target: " + t.error().message);
    o.targets.push_back(*t);
  }
  size_t flows = 0;
  size_t tcp_flows = 0;
  for (const auto& t : o.targets) {
    flows += t.flows.size();
    for (const auto& f : t.flows) tcp_flows += f.kind == ProbeKind::kTcpStream ? 1 : 0;
  }
  if (flows > o.max_flows) {
    return fail(std::to_string(flows) + " flows configured but --max-flows is " +
                std::to_string(o.max_flows));
  }
  if (tcp_flows > o.max_tcp_flows) {
    return fail(std::to_string(tcp_flows) + " TCP flows configured but --max-tcp-flows is " +
                std::to_string(o.max_tcp_flows));
  }
  if (o.replay && !o.targets.empty())
    return fail("--replay sends nothing: drop the --target options");
  return o;
}

}  // namespace migprobe::dataplane
