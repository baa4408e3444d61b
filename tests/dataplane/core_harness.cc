#include "tests/dataplane/core_harness.h"

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include "analysis/byte_order.h"
#include "dataplane/probe_frame.h"

namespace migprobe::dataplane::cores_test {

namespace an = migprobe::analysis;

namespace {

// What the environment set up, for the rigs.
struct EalState {
  std::string failure = "the EAL environment did not run";
  unsigned tx_lcore = 1;
  unsigned rx_lcore = 2;
  pthread_t threads[RTE_MAX_LCORE] = {};
  TscCalibration clock;
};
EalState& state() {
  static EalState s;
  return s;
}

int record_thread(void* arg) {
  *static_cast<pthread_t*>(arg) = pthread_self();
  return 0;
}

// The stall: a signal whose handler sleeps on the thread it interrupts.
constexpr int kStallSignal = SIGUSR2;
std::atomic<uint64_t> g_stall_ticks{0};
std::atomic<uint64_t> g_stall_begin_tsc{0};
std::atomic<uint64_t> g_stall_end_tsc{0};
std::atomic<bool> g_stall_done{false};

void on_stall_signal(int) {
  const int saved_errno = errno;
  const uint64_t begin = read_tsc();
  const uint64_t until = begin + g_stall_ticks.load();
  while (read_tsc() < until) {
    timespec ts{0, 200'000};
    nanosleep(&ts, nullptr);
  }
  g_stall_begin_tsc.store(begin);
  g_stall_end_tsc.store(read_tsc());
  g_stall_done.store(true);
  errno = saved_errno;
}

void put_be16(Frame* f, size_t off, uint16_t v) {
  an::store_be16(f->data() + off, v);
}

}  // namespace

// The CPUs this process may run on: the lcores are pinned to them, whatever they are.
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

void EalEnvironment::SetUp() {
  EalState& s = state();
  const ClockSample first = take_clock_sample();
  const std::vector<int> cpus = allowed_cpus();
  if (cpus.empty()) {
    s.failure = "sched_getaffinity failed";
    return;
  }
  // The test's thread (main lcore) and the RX core on the first CPU, the TX core alone on
  // the second when there is one: the TX core's pacing is what the tests measure.
  const int a = cpus[0];
  const int b = cpus.size() > 1 ? cpus[1] : cpus[0];
  const std::string lcores =
      "0@" + std::to_string(a) + ",1@" + std::to_string(b) + ",2@" + std::to_string(a);
  // No hugepages, no PCI, no shared files or IPC socket, no telemetry socket: nothing that
  // needs root or touches a device, and nothing another DPDK process on the machine sees.
  std::vector<std::string> args = {
      "cores_test",     "--no-huge",         "-m",       "128", "--no-pci", "--no-shconf",
      "--no-telemetry", "--log-level=error", "--lcores", lcores};
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (std::string& x : args) argv.push_back(x.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    s.failure = std::string("rte_eal_init failed: ") + rte_strerror(rte_errno);
    return;
  }
  s.tx_lcore = 1;
  s.rx_lcore = 2;
  for (unsigned l : {s.tx_lcore, s.rx_lcore}) {
    if (rte_eal_remote_launch(record_thread, &s.threads[l], l) != 0 || rte_eal_wait_lcore(l) != 0) {
      s.failure = "cannot launch on lcore " + std::to_string(l);
      return;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = on_stall_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(kStallSignal, &sa, nullptr);

  // The clock as migprobe-dp starts it: the rate measured over at least 50 ms.
  ClockSample last = take_clock_sample();
  if (last.raw_ns - first.raw_ns < 50'000'000) {
    sleep_ns(50'000'000 - (last.raw_ns - first.raw_ns));
    last = take_clock_sample();
  }
  ClockSettings settings;
  settings.eal_hz = rte_get_tsc_hz();
  s.clock = ProbeClock(first, last, settings).calibration();
  s.failure.clear();
}

void EalEnvironment::TearDown() {
  if (state().failure.empty()) rte_eal_cleanup();
}

const std::string& EalEnvironment::failure() {
  return state().failure;
}
unsigned EalEnvironment::tx_lcore() {
  return state().tx_lcore;
}
unsigned EalEnvironment::rx_lcore() {
  return state().rx_lcore;
}
pthread_t EalEnvironment::thread_of(unsigned lcore) {
  return state().threads[lcore];
}
const TscCalibration& EalEnvironment::clock() {
  return state().clock;
}

uint64_t probe_now_ns() {
  return state().clock.to_ns(read_tsc());
}

void sleep_ns(uint64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

bool stall_lcore(unsigned lcore, uint64_t ns, Stall* out) {
  g_stall_done.store(false);
  g_stall_ticks.store(state().clock.ticks(ns));
  if (pthread_kill(EalEnvironment::thread_of(lcore), kStallSignal) != 0) return false;
  const uint64_t give_up = probe_now_ns() + ns + 2'000'000'000;
  while (!g_stall_done.load()) {
    if (probe_now_ns() > give_up) return false;
    sleep_ns(100'000);
  }
  out->begin_ns = state().clock.to_ns(g_stall_begin_tsc.load());
  out->end_ns = state().clock.to_ns(g_stall_end_tsc.load());
  return true;
}

// Frames -------------------------------------------------------------------------------

Frame ipv4_frame(const Host& src, const Host& dst, uint8_t proto, const std::vector<uint8_t>& l4) {
  const size_t ip_len = 20 + l4.size();
  Frame f(std::max<size_t>(60, 14 + ip_len), 0);
  std::memcpy(f.data(), dst.mac.data(), 6);
  std::memcpy(f.data() + 6, src.mac.data(), 6);
  put_be16(&f, 12, 0x0800);
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  an::store_be16(ip + 2, static_cast<uint16_t>(ip_len));
  an::store_be16(ip + 6, 0x4000);
  ip[8] = 64;
  ip[9] = proto;
  an::store_be32(ip + 12, src.ip);
  an::store_be32(ip + 16, dst.ip);
  an::store_be16(ip + 10, an::checksum_fold(an::checksum_add(0, ip, 20)));
  std::memcpy(ip + 20, l4.data(), l4.size());
  return f;
}

Frame icmp_echo(const Host& src, const Host& dst, uint8_t type, uint16_t id, uint16_t seq,
                const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> l4(8 + payload.size(), 0);
  l4[0] = type;
  an::store_be16(l4.data() + 4, id);
  an::store_be16(l4.data() + 6, seq);
  std::memcpy(l4.data() + 8, payload.data(), payload.size());
  an::store_be16(l4.data() + 2, an::checksum_fold(an::checksum_add(0, l4.data(), l4.size())));
  return ipv4_frame(src, dst, 1, l4);
}

Frame udp_datagram(const Host& src, const Host& dst, uint16_t sport, uint16_t dport,
                   const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> l4(8 + payload.size(), 0);
  an::store_be16(l4.data(), sport);
  an::store_be16(l4.data() + 2, dport);
  an::store_be16(l4.data() + 4, static_cast<uint16_t>(l4.size()));
  std::memcpy(l4.data() + 8, payload.data(), payload.size());
  Frame f = ipv4_frame(src, dst, 17, l4);
  refresh_checksums(&f);
  return f;
}

Frame arp_frame(uint16_t ethertype, uint16_t op, const an::MacAddress& eth_dst, const Host& sender,
                const Host& target) {
  Frame f(64, 0);
  const uint16_t len =
      build_arp(f.data(), op, eth_dst, sender.mac, sender.ip, target.mac, target.ip, 0);
  f.resize(len);
  put_be16(&f, 12, ethertype);
  return f;
}

Frame tcp_frame(const TcpFrameAddress& a, const TcpTx& t) {
  Frame f(kMaxTcpFrame, 0);
  TcpTx bare = t;
  bare.payload_len = 0;
  // Without a payload build_tcp_frame never asks the endpoint for bytes: any one will do.
  const TcpEndpoint none;
  f.resize(build_tcp_frame(a, bare, none, f.data()));
  return f;
}

void refresh_checksums(Frame* f) {
  uint8_t* ip = f->data() + 14;
  const size_t ihl = static_cast<size_t>(ip[0] & 0xf) * 4;
  const size_t total = an::load_be16(ip + 2);
  an::store_be16(ip + 10, 0);
  an::store_be16(ip + 10, an::checksum_fold(an::checksum_add(0, ip, ihl)));
  uint8_t* l4 = ip + ihl;
  const size_t l4_len = total - ihl;
  if (ip[9] == 1) {
    an::store_be16(l4 + 2, 0);
    an::store_be16(l4 + 2, an::checksum_fold(an::checksum_add(0, l4, l4_len)));
  } else if (ip[9] == 17) {
    an::store_be16(l4 + 6, 0);
    uint32_t s = an::checksum_add(0, ip + 12, 8);
    s += 17;
    s += static_cast<uint32_t>(l4_len);
    uint16_t c = an::checksum_fold(an::checksum_add(s, l4, l4_len));
    if (c == 0) c = 0xffff;
    an::store_be16(l4 + 6, c);
  }
}

bool rewrite_trailer(Frame* f, const std::function<void(an::ProbeTrailer*)>& change) {
  const size_t total = an::load_be16(f->data() + 14 + 2);
  const size_t len = 14 + total - kPayloadOffset;
  an::ProbeTrailer t;
  if (an::decode_trailer(f->data() + kPayloadOffset, len, &t) != an::TrailerError::kNone) {
    return false;
  }
  change(&t);
  if (an::trailer_size(t) > len) return false;
  an::encode_trailer(t, f->data() + kPayloadOffset);
  refresh_checksums(f);
  return true;
}

namespace {

Host source_of(const SentFrame& p) {
  Host h;
  h.mac = p.packet.src_mac;
  h.ip = an::load_be32(p.packet.src_ip.bytes.data());
  return h;
}

Host destination_of(const SentFrame& p) {
  Host h;
  h.mac = p.packet.dst_mac;
  h.ip = an::load_be32(p.packet.dst_ip.bytes.data());
  return h;
}

std::vector<uint8_t> payload_of(const SentFrame& p) {
  const size_t total = an::load_be16(p.bytes.data() + 14 + 2);
  return std::vector<uint8_t>(p.bytes.begin() + kPayloadOffset, p.bytes.begin() + 14 + total);
}

}  // namespace

Frame icmp_reply_to(const SentFrame& probe) {
  return icmp_echo(destination_of(probe), source_of(probe), 0, probe.packet.icmp_id,
                   probe.packet.icmp_seq, payload_of(probe));
}

Frame udp_reply_to(const SentFrame& probe, reflector::Reflection* reflector) {
  const std::vector<uint8_t> in = payload_of(probe);
  reflector::FlowKey key;
  std::memcpy(key.addr.data(), probe.packet.src_ip.bytes.data(), 4);
  std::vector<uint8_t> out(in.size() + an::kReflectorCounterSize + 64);
  size_t out_len = 0;
  if (reflector->reflect(key, in.data(), in.size(), out.data(), out.size(), &out_len) !=
      reflector::Verdict::kReply) {
    return {};
  }
  out.resize(out_len);
  return udp_datagram(destination_of(probe), source_of(probe), probe.packet.dst_port,
                      probe.packet.src_port, out);
}

// The rig ----------------------------------------------------------------------------------

namespace {

unsigned next_rig_id() {
  static unsigned id = 0;
  return id++;
}

rte_ring* make_elem_ring(const std::string& name, unsigned esize, unsigned count) {
  return rte_ring_create_elem(name.c_str(), esize, count, static_cast<int>(rte_socket_id()),
                              RING_F_SP_ENQ | RING_F_SC_DEQ);
}

}  // namespace

void CoreRig::fail(const std::string& what) {
  if (error_.empty()) error_ = what + ": " + rte_strerror(rte_errno);
}

CoreRig::CoreRig(const RigOptions& o) : o_(o) {
  init();
}

void CoreRig::init() {
  const RigOptions& o = o_;
  if (!EalEnvironment::failure().empty()) {
    error_ = EalEnvironment::failure();
    return;
  }
  const std::string id = "ct" + std::to_string(next_rig_id());
  const int socket = static_cast<int>(rte_socket_id());
  // Enough mbufs for both port rings full, the cores' bursts and the per-lcore caches.
  pool_size_ = o.tx_ring_size + o.rx_ring_size + 1024;
  pool_ = rte_pktmbuf_pool_create((id + "_pool").c_str(), pool_size_, 32, kMbufPrivSize,
                                  RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool_ == nullptr) return fail("cannot create the mbuf pool");
  port_rx_ = rte_ring_create((id + "_wire_rx").c_str(), o.rx_ring_size, socket,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
  port_tx_ = rte_ring_create((id + "_wire_tx").c_str(), o.tx_ring_size, socket,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (port_rx_ == nullptr || port_tx_ == nullptr) return fail("cannot create the port's rings");
  // As dataplane/main.cc makes them.
  tx_commands_ = make_elem_ring(id + "_tx_cmd", sizeof(TxCommand), 4096);
  rx_commands_ = make_elem_ring(id + "_rx_cmd", sizeof(RxCommand), 4096);
  events_ = make_elem_ring(id + "_rx_evt", sizeof(RxEvent), o.events_ring_size);
  frames_ = make_elem_ring(id + "_frames", sizeof(TxCommand), 256);
  tcp_events_ = make_elem_ring(id + "_tcp_evt", sizeof(TcpFlowEvent), 4096);
  tcp_segments_ =
      rte_ring_create((id + "_tcp").c_str(), 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (tx_commands_ == nullptr || rx_commands_ == nullptr || events_ == nullptr ||
      frames_ == nullptr || tcp_events_ == nullptr || tcp_segments_ == nullptr) {
    return fail("cannot create the core rings");
  }
  CoreRings rings;
  rings.tx_commands = tx_commands_;
  rings.rx_commands = rx_commands_;
  rings.rx_events = events_;
  rings.tcp_events = tcp_events_;
  link_ = std::make_unique<CoreLink>(rings, [this] { events(); });

  port_name_ = id;
  port_ = rte_eth_from_rings(port_name_.c_str(), &port_rx_, 1, &port_tx_, 1,
                             static_cast<unsigned>(socket));
  if (port_ < 0) return fail("rte_eth_from_rings failed");
  const uint16_t pid = static_cast<uint16_t>(port_);
  rte_eth_conf conf{};
  if (rte_eth_dev_configure(pid, 1, 1, &conf) != 0 ||
      rte_eth_rx_queue_setup(pid, 0, 1024, static_cast<unsigned>(socket), nullptr, pool_) != 0 ||
      rte_eth_tx_queue_setup(pid, 0, 1024, static_cast<unsigned>(socket), nullptr) != 0 ||
      rte_eth_dev_start(pid) != 0) {
    return fail("cannot start the net_ring port");
  }
  port_started_ = true;
  if (o.port_timestamps && rte_mbuf_dyn_rx_timestamp_register(&ts_offset_, &ts_flag_) != 0) {
    return fail("cannot register the mbuf timestamp field");
  }

  const TscCalibration& clock = EalEnvironment::clock();
  tx_setup_.port = pid;
  tx_setup_.pool = pool_;
  tx_setup_.commands = tx_commands_;
  tx_setup_.frames = frames_;
  tx_setup_.tcp_segments = tcp_segments_;
  tx_setup_.tcp_events = tcp_events_;
  tx_setup_.max_flows = o.max_flows;
  tx_setup_.tcp_slots = o.tcp_slots;
  tx_setup_.idle_sleep = o.idle_sleep;
  tx_setup_.clock = clock;
  rx_setup_.port = pid;
  rx_setup_.commands = rx_commands_;
  rx_setup_.events = events_;
  rx_setup_.frames = frames_;
  rx_setup_.tcp_segments = tcp_segments_;
  rx_setup_.max_flows = o.max_flows;
  rx_setup_.tcp_slots = o.tcp_slots;
  rx_setup_.idle_sleep = o.idle_sleep;
  rx_setup_.port_timestamps = o.port_timestamps;
  rx_setup_.timestamp_offset = ts_offset_;
  rx_setup_.timestamp_flag = ts_flag_;
  rx_setup_.timestamp_scale = 1000;  // net_pcap stamps in microseconds
  rx_setup_.learn_flows = o.learn_flows;
  rx_setup_.verify_checksums = true;
  rx_setup_.probe_ip = o.probe.ip;
  rx_setup_.probe_mac = o.probe.mac;
  rx_setup_.tracker.reply_timeout_ns = o.reply_timeout_ns;
  rx_setup_.tracker.outage_threshold_ns = o.outage_threshold_ns;
  rx_setup_.clock = clock;

  if (rte_eal_remote_launch(rx_core_main, &rx_setup_, EalEnvironment::rx_lcore()) != 0) {
    return fail("cannot launch the RX core");
  }
  if (rte_eal_remote_launch(tx_core_main, &tx_setup_, EalEnvironment::tx_lcore()) != 0) {
    RxCommand q;
    q.op = RxCommand::kQuit;
    send_rx(q);
    rte_eal_wait_lcore(EalEnvironment::rx_lcore());
    return fail("cannot launch the TX core");
  }
  running_ = true;
}

CoreRig::~CoreRig() {
  stop();
  if (port_ >= 0) {
    if (port_started_) rte_eth_dev_stop(static_cast<uint16_t>(port_));
    rte_vdev_uninit(("net_ring_" + port_name_).c_str());
  }
  for (rte_ring* r : {tx_commands_, rx_commands_, events_, frames_, tcp_segments_, tcp_events_,
                      port_rx_, port_tx_}) {
    rte_ring_free(r);
  }
  rte_mempool_free(pool_);
}

void CoreRig::send_tx(const TxCommand& c) {
  link_->send_tx(c);
}

void CoreRig::send_rx(const RxCommand& c) {
  link_->send_rx(c);
}

void CoreRig::add_flow(const FlowSpec& f) {
  RxCommand r;
  r.op = RxCommand::kAddFlow;
  r.flow_id = f.id;
  r.peer_ip = f.target.ip;
  r.kind = static_cast<uint8_t>(f.kind);
  r.generation = f.generation;
  r.interval_ns = f.interval_ns;
  send_rx(r);
  link_->barrier_rx();
  TxCommand c;
  c.op = TxCommand::kAddFlow;
  c.flow_id = f.id;
  c.interval_ns = f.interval_ns;
  c.generation = f.generation;
  c.resolved = true;
  FlowParams params;
  params.kind = f.kind;
  params.interval_ns = f.interval_ns;
  ProbeIdentity self;
  self.mac = o_.probe.mac;
  self.ip = o_.probe.ip;
  build_probe_header(self, f.target.mac, 0, f.target.ip, params, f.id, &c.header);
  send_tx(c);
}

void CoreRig::stop_sending(uint32_t id) {
  link_->stop_tx_flow(id);
}

TcpFrameAddress CoreRig::tcp_address(const TcpFlowSpec& f) const {
  TcpFrameAddress a;
  a.src_mac = o_.probe.mac;
  a.dst_mac = f.target.mac;
  a.src_ip = o_.probe.ip;
  a.dst_ip = f.target.ip;
  a.src_port = static_cast<uint16_t>(kTcpPortBase + f.slot);
  a.dst_port = f.peer_port;
  return a;
}

void CoreRig::add_tcp_flow(const TcpFlowSpec& f) {
  RxCommand r;
  r.op = RxCommand::kAddTcpRoute;
  r.tcp_slot = f.slot;
  r.peer_ip = f.target.ip;
  r.peer_port = f.peer_port;
  send_rx(r);
  link_->barrier_rx();
  TxCommand c;
  c.op = TxCommand::kAddTcpFlow;
  c.flow_id = f.flow_id;
  c.generation = f.generation;
  c.resolved = true;
  c.tcp_slot = f.slot;
  c.tcp.flow_id = f.flow_id;
  c.tcp.generation = f.generation;
  c.tcp.rate_bytes_per_s = f.rate_bytes_per_s;
  c.tcp.segment_bytes = f.segment_bytes;
  c.tcp.echo = f.echo;
  c.tcp.local_port = static_cast<uint16_t>(kTcpPortBase + f.slot);
  c.tcp.peer_port = f.peer_port;
  c.tcp_address = tcp_address(f);
  send_tx(c);
}

void CoreRig::stop_tcp_flow(uint32_t slot) {
  TxCommand c;
  c.op = TxCommand::kStopTcpFlow;
  c.tcp_slot = slot;
  send_tx(c);
}

TxView CoreRig::tx_snapshot() {
  TxSnapshot snap;
  snap.flows.resize(o_.max_flows);
  snap.tcp.resize(o_.tcp_slots);
  link_->snapshot_tx(&snap);
  return TxView{snap.totals, snap.flows, snap.tcp};
}

RxView CoreRig::rx_snapshot() {
  RxSnapshot snap;
  snap.flows.resize(o_.max_flows);
  link_->snapshot_rx(&snap);
  return RxView{snap.totals, snap.flows};
}

bool CoreRig::finish(uint64_t end_ns, const std::vector<TxFlowStats>* sent) {
  const size_t before = events().size();
  bool finished = false;
  // As the control thread finishes a run; a test that never sees kFinished hangs until
  // CTest's timeout, which names it.
  link_->finish_rx(end_ns, sent, [&] {
    const std::vector<RxEvent>& ev = events();
    for (size_t i = before; i < ev.size() && !finished; ++i) {
      finished = ev[i].kind == RxEvent::kFinished;
    }
    return finished;
  });
  return finished;
}

std::vector<SentFrame> CoreRig::take_sent() {
  std::vector<SentFrame> out;
  void* objs[64];
  an::ParseOptions opt;
  unsigned n = 0;
  while ((n = rte_ring_dequeue_burst(port_tx_, objs, 64, nullptr)) != 0) {
    const uint64_t now = probe_now_ns();
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = static_cast<rte_mbuf*>(objs[i]);
      SentFrame s;
      const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
      s.bytes.assign(data, data + m->data_len);
      s.seen_ns = now;
      s.parse = an::parse_frame(opt, s.bytes.data(), static_cast<uint32_t>(s.bytes.size()),
                                m->pkt_len, &s.packet);
      if (s.parse == an::DropReason::kNone && s.packet.payload != nullptr) {
        s.probe = an::decode_trailer(s.packet.payload, s.packet.payload_len, &s.trailer) ==
                  an::TrailerError::kNone;
      }
      s.packet.payload = nullptr;
      rte_pktmbuf_free(m);
      out.push_back(std::move(s));
    }
  }
  return out;
}

bool CoreRig::inject(const Frame& f) {
  return put_on_wire(f, false, 0);
}

bool CoreRig::inject(const Frame& f, uint64_t port_ts_us) {
  return ts_offset_ >= 0 && put_on_wire(f, true, port_ts_us);
}

bool CoreRig::put_on_wire(const Frame& f, bool stamp, uint64_t port_ts_us) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return false;
  char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(f.size()));
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    return false;
  }
  std::memcpy(p, f.data(), f.size());
  if (stamp) {
    *RTE_MBUF_DYNFIELD(m, ts_offset_, rte_mbuf_timestamp_t*) = port_ts_us;
    m->ol_flags |= ts_flag_;
  }
  if (rte_ring_enqueue(port_rx_, m) != 0) {
    rte_pktmbuf_free(m);
    return false;
  }
  return true;
}

bool CoreRig::wait_rx_ring_empty(uint64_t timeout_ns) {
  const uint64_t give_up = probe_now_ns() + timeout_ns;
  while (rte_ring_count(port_rx_) != 0) {
    if (probe_now_ns() > give_up) return false;
    sleep_ns(50'000);
  }
  return true;
}

const std::vector<RxEvent>& CoreRig::events() {
  if (events_ == nullptr) return events_seen_;
  RxEvent batch[64];
  unsigned n = 0;
  while ((n = rte_ring_sc_dequeue_burst_elem(events_, batch, sizeof(RxEvent), 64, nullptr)) != 0) {
    events_seen_.insert(events_seen_.end(), batch, batch + n);
  }
  return events_seen_;
}

const std::vector<TcpFlowEvent>& CoreRig::tcp_events() {
  if (tcp_events_ == nullptr) return tcp_events_seen_;
  TcpFlowEvent batch[16];
  unsigned n = 0;
  while ((n = rte_ring_sc_dequeue_burst_elem(tcp_events_, batch, sizeof(TcpFlowEvent), 16,
                                             nullptr)) != 0) {
    tcp_events_seen_.insert(tcp_events_seen_.end(), batch, batch + n);
  }
  return tcp_events_seen_;
}

void CoreRig::drain_ring_mbufs(rte_ring* r) {
  if (r == nullptr) return;
  void* obj = nullptr;
  while (rte_ring_dequeue(r, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
}

unsigned CoreRig::stop() {
  if (running_) {
    TxCommand tq;
    tq.op = TxCommand::kQuit;
    send_tx(tq);
    RxCommand rq;
    rq.op = RxCommand::kQuit;
    send_rx(rq);
    rte_eal_wait_lcore(EalEnvironment::tx_lcore());
    rte_eal_wait_lcore(EalEnvironment::rx_lcore());
    running_ = false;
  }
  events();
  tcp_events();
  drain_ring_mbufs(port_tx_);
  drain_ring_mbufs(port_rx_);
  drain_ring_mbufs(tcp_segments_);
  if (pool_ == nullptr) return 0;
  // The count includes what the lcores' caches hold.
  const unsigned avail = rte_mempool_avail_count(pool_);
  return pool_size_ > avail ? pool_size_ - avail : 0;
}

}  // namespace migprobe::dataplane::cores_test
