// migprobe-dp: the DPDK probe. EAL arguments before `--`, the app's after (see --help).
// Start-up decides everything once (port, lcores, capture, timestamps, idle sleep), then the
// main lcore becomes the control thread and two workers run the TX and RX cores.

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/capture_thread.h"
#include "dataplane/control_service.h"
#include "dataplane/dp_messages.h"
#include "dataplane/lcore_cores.h"
#include "dataplane/options.h"
#include "dataplane/port_setup.h"
#include "dataplane/probe_control.h"

namespace dp = migprobe::dataplane;

namespace {

volatile int g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "migprobe-dp: %s\n", msg.c_str());
  rte_eal_cleanup();
  std::exit(1);
}

rte_ring* make_ring(const char* name, unsigned esize, unsigned count) {
  rte_ring* r = rte_ring_create_elem(name, esize, count, static_cast<int>(rte_socket_id()),
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (r == nullptr) die(std::string("cannot create ring ") + name + ": " + rte_strerror(rte_errno));
  return r;
}

// The probe's clock, from the rate measured since first: at least kMinBaseNs of it (the
// EAL's initialisation is usually longer; a shorter one is waited out).
dp::ProbeClock start_clock(const dp::ClockSample& first, const dp::Options& o) {
  constexpr uint64_t kMinBaseNs = 50'000'000;
  dp::ClockSample last = dp::take_clock_sample();
  if (last.raw_ns - first.raw_ns < kMinBaseNs) {
    const uint64_t rest = kMinBaseNs - (last.raw_ns - first.raw_ns);
    timespec ts{0, static_cast<long>(rest)};
    nanosleep(&ts, nullptr);
    last = dp::take_clock_sample();
  }
  dp::ClockSettings settings;
  settings.refresh_interval_ns = o.calibration_interval_ns;
  settings.first_refresh_ns = o.calibration_first_ns;
  settings.eal_hz = rte_get_tsc_hz();
  settings.skew_ppm = o.tsc_skew_ppm;
  return dp::ProbeClock(first, last, settings);
}

}  // namespace

int main(int argc, char** argv) {
  // The TSC rate is measured against CLOCK_MONOTONIC_RAW over the EAL's initialisation:
  // one sample now, one before the cores start (DESIGN.md "Time").
  const dp::ClockSample clock_first = dp::take_clock_sample();
  // Split at `--`: the EAL's arguments before, ours after. Parse ours first so --help and
  // option errors need no EAL.
  int split = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      split = i;
      break;
    }
  }
  std::vector<char*> app_argv{argv[0]};
  for (int i = split + 1; i < argc; ++i) app_argv.push_back(argv[i]);
  if (split == argc) {
    // No `--`: everything is ours (only useful for --help).
    for (int i = 1; i < argc; ++i) app_argv.push_back(argv[i]);
  }
  std::string error;
  bool help = false;
  auto parsed =
      dp::parse_options(static_cast<int>(app_argv.size()), app_argv.data(), &error, &help);
  if (help) {
    std::printf("%s\n", error.c_str());
    return 0;
  }
  if (!parsed) {
    std::fprintf(stderr, "migprobe-dp: %s\n", error.c_str());
    return 2;
  }
  dp::Options o = *parsed;

  const int eal_argc = split == argc ? 1 : split;
  if (const migprobe::base::Status huge = dp::check_hugepages(eal_argc, argv); !huge) {
    std::fprintf(stderr, "migprobe-dp: %s\n", huge.error().message.c_str());
    return 1;
  }
  if (rte_eal_init(eal_argc, argv) < 0) {
    std::fprintf(stderr, "migprobe-dp: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  if (const migprobe::base::Status lcores = dp::check_lcores(&o); !lcores) {
    die(lcores.error().message);
  }

  rte_mempool* pool = nullptr;
  dp::PortInfo port;
  if (const migprobe::base::Status set_up = dp::setup_port(o, &pool, &port); !set_up) {
    die(set_up.error().message);
  }

  const bool idle_sleep = o.idle_sleep == dp::Options::IdleSleep::kOn ||
                          (o.idle_sleep == dp::Options::IdleSleep::kAuto && port.is_virtual);

  dp::CoreRings rings;
  rings.tx_commands = make_ring("mp_tx_cmd", sizeof(dp::TxCommand), 4096);
  rings.rx_commands = make_ring("mp_rx_cmd", sizeof(dp::RxCommand), 4096);
  rings.rx_events = make_ring("mp_rx_evt", sizeof(dp::RxEvent), 16384);
  rings.tcp_events = make_ring("mp_tcp_evt", sizeof(dp::TcpFlowEvent), 4096);
  rte_ring* frames = make_ring("mp_rx_tx_frames", sizeof(dp::TxCommand), 256);
  rte_ring* tcp_segments = rte_ring_create("mp_rx_tx_tcp", 4096, static_cast<int>(rte_socket_id()),
                                           RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (tcp_segments == nullptr) die("cannot create the TCP segment ring");
  // Shared by the two cores (one writer): lives until both have stopped.
  const auto syn_log = std::make_unique<dp::SynSendLog[]>(o.max_tcp_flows);
  rte_ring* cap_tx = nullptr;
  rte_ring* cap_rx = nullptr;
  dp::CaptureThread capture;
  std::string err;
  if (!o.capture.empty()) {
    cap_rx = rte_ring_create("mp_cap_rx", 8192, static_cast<int>(rte_socket_id()),
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (o.capture_tx && !o.replay) {
      cap_tx = rte_ring_create("mp_cap_tx", 8192, static_cast<int>(rte_socket_id()),
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
    }
    if (cap_rx == nullptr || (o.capture_tx && !o.replay && cap_tx == nullptr)) {
      die("cannot create the capture rings");
    }
    err = capture.start({o.capture, o.capture_max_bytes, o.capture_max_files, o.capture_flush_ns},
                        cap_tx, cap_rx);
    if (!err.empty()) die(err);
  }

  dp::TxCoreSetup tx;
  tx.port = port.port_id;
  tx.pool = pool;
  tx.commands = rings.tx_commands;
  tx.frames = frames;
  tx.capture = cap_tx;
  tx.tcp_segments = tcp_segments;
  tx.tcp_events = rings.tcp_events;
  tx.syn_log = syn_log.get();
  tx.max_flows = o.max_flows;
  tx.tcp_slots = o.max_tcp_flows;
  tx.idle_sleep = idle_sleep;
  tx.realtime_priority = o.realtime_priority;
  dp::RxCoreSetup rx;
  rx.port = port.port_id;
  rx.commands = rings.rx_commands;
  rx.events = rings.rx_events;
  rx.frames = frames;
  rx.capture = cap_rx;
  rx.tcp_segments = tcp_segments;
  rx.syn_log = syn_log.get();
  rx.max_flows = o.max_flows;
  rx.tcp_slots = o.max_tcp_flows;
  rx.idle_sleep = idle_sleep;
  rx.realtime_priority = o.realtime_priority;
  rx.port_timestamps = port.timestamps;
  rx.timestamp_offset = port.timestamp_offset;
  rx.timestamp_flag = port.timestamp_flag;
  rx.timestamp_scale = port.timestamp_scale;
  rx.learn_flows = o.replay;
  rx.verify_checksums = o.verify_checksums;
  rx.probe_ip = o.probe_ip;
  rx.probe_mac = o.probe_mac ? *o.probe_mac : port.mac;
  rx.tracker.reply_timeout_ns = o.reply_timeout_ns;
  rx.tracker.outage_threshold_ns = o.outage_threshold_ns;

  const dp::ProbeClock clock = start_clock(clock_first, o);
  tx.clock = clock.calibration();
  rx.clock = clock.calibration();

  if (o.realtime_priority > 0 && !idle_sleep) {
    die("--realtime needs idle sleep (--idle-sleep on): a spinning SCHED_FIFO core starves the "
        "machine");
  }
  if (rte_eal_remote_launch(dp::rx_core_main, &rx, static_cast<unsigned>(o.rx_lcore)) != 0 ||
      rte_eal_remote_launch(dp::tx_core_main, &tx, static_cast<unsigned>(o.tx_lcore)) != 0) {
    die("cannot launch the TX/RX lcores");
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  if (!o.quiet) {
    std::fprintf(stderr,
                 "migprobe-dp: port %s (%s%s), probe %s, TX lcore %d, RX lcore %d, idle sleep %s, "
                 "TSC %.3f MHz (%s)\n",
                 port.name.c_str(), port.driver.c_str(), port.is_virtual ? ", virtual" : "",
                 migprobe::analysis::IpAddress::v4(o.probe_ip).to_string().c_str(), o.tx_lcore,
                 o.rx_lcore, idle_sleep ? "on" : "off", static_cast<double>(clock.tsc_hz()) / 1e6,
                 clock.rate_source().c_str());
  }

  {
    dp::ProbeControl control(o, port, rings, clock, o.capture.empty() ? nullptr : &capture);
    dp::ControlServer server;
    if (!o.control_socket.empty()) {
      err = server.start(o.control_socket, &control);
      if (!err.empty()) {
        g_stop = 1;
        std::fprintf(stderr, "migprobe-dp: %s\n", err.c_str());
      }
    }
    control.run(&g_stop);
    server.shutdown();
  }

  dp::TxCommand tq;
  tq.op = dp::TxCommand::kQuit;
  rte_ring_sp_enqueue_elem(rings.tx_commands, &tq, sizeof(tq));
  dp::RxCommand rq;
  rq.op = dp::RxCommand::kQuit;
  rte_ring_sp_enqueue_elem(rings.rx_commands, &rq, sizeof(rq));
  rte_eal_mp_wait_lcore();
  capture.stop();
  if (!o.control_socket.empty()) unlink(o.control_socket.c_str());
  rte_eth_dev_stop(port.port_id);
  rte_eth_dev_close(port.port_id);
  rte_eal_cleanup();
  return 0;
}
