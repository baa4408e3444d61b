// Tests of the real TX and RX cores (dataplane/tx_core.cc, rx_core.cc) on a net_ring port, with
// no NIC, no root and no network (core_harness.h): pacing, skipped slots and a full port;
// reply matching and the drop reasons; gaps; outages in progress; replay; ARP and RARP; a TCP
// flow's crafted segments, dropped by reason. One file past 400 lines because it is one
// binary: the EAL starts once per process.
//
// The test's thread plays the control thread and the VMs. Timing assertions rest on what the
// TX core itself measures: it counts every probe that left 100 us or more after its deadline
// (late_sends), so a probe it did not count left within 100 us of its slot, however loaded the
// machine; each spacing off the interval by more than that must be explained by a late send.
// Everything else (sequence numbers, counters, gaps, drop reasons) is exact.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "analysis/byte_order.h"
#include "analysis/sequence.h"
#include "analysis/tcp_meter.h"
#include "dataplane/probe_frame.h"
#include "tests/dataplane/core_harness.h"

namespace migprobe::dataplane::cores_test {
namespace {

namespace an = migprobe::analysis;

constexpr uint64_t kUs = 1'000;
constexpr uint64_t kMs = 1'000'000;
// The TX core's threshold for a late send (tx_core.cc kLateNs).
constexpr uint64_t kLateNs = 100 * kUs;
// Rounding of the TSC-to-ns conversions (a tick or two) on top of it.
constexpr uint64_t kRoundingNs = 2 * kUs;

const Host kVm{{0x02, 0, 0, 0, 0, 0x11}, 0x0a4d000b};  // 10.77.0.11

::testing::Environment* const kEal = ::testing::AddGlobalTestEnvironment(new EalEnvironment);

class CoresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(EalEnvironment::failure().empty()) << "EAL: " << EalEnvironment::failure();
  }
};

// One probe of a flow as the test saw it on the wire.
struct Probe {
  uint32_t seq = 0;
  uint64_t tx_ns = 0;
};

// A frame on the wire and when it passed (for a replay).
struct Captured {
  Frame bytes;
  uint64_t ns = 0;
};

// Plays the VMs: takes what the TX core sent, keeps the probes of each flow, and answers each
// probe unless `answer` says no. A UDP probe goes through a reflector unless `reaches` says it
// was lost on its way to the guest (forward loss); one that reached it but gets no answer is
// return loss (the reflector counted it).
class Guest {
 public:
  explicit Guest(CoreRig* rig) : rig_(rig) {}

  std::function<bool(uint32_t flow, uint32_t seq)> answer = [](uint32_t, uint32_t) { return true; };
  std::function<bool(uint32_t flow, uint32_t seq)> reaches = [](uint32_t, uint32_t) {
    return true;
  };
  // Holds a probe's reply back for this long (0: answered at once), as a guest that was not
  // scheduled would.
  std::function<uint64_t(uint32_t flow, uint32_t seq)> delay_ns = [](uint32_t, uint32_t) {
    return uint64_t{0};
  };
  // Keep every frame that passes (probes at their TX timestamps, replies when injected).
  bool record = false;

  void poll() {
    release_held();
    for (SentFrame& s : rig_->take_sent()) {
      if (!s.probe) {
        others_.push_back(std::move(s));
        continue;
      }
      const uint32_t flow = s.trailer.flow_id;
      const uint32_t seq = s.trailer.seq;
      const bool icmp = s.packet.kind == an::PacketKind::kIcmpEchoRequest;
      const bool udp = s.packet.kind == an::PacketKind::kUdp && !s.trailer.reflected;
      if (s.parse != an::DropReason::kNone || (!icmp && !udp) ||
          an::load_be32(s.packet.dst_ip.bytes.data()) != kVm.ip) {
        ++malformed_;
      }
      probes_[flow].push_back(Probe{seq, s.trailer.tx_ns});
      if (record) capture.push_back(Captured{s.bytes, s.trailer.tx_ns});
      Frame reply;
      if (icmp && answer(flow, seq)) {
        reply = icmp_reply_to(s);
      } else if (udp && reaches(flow, seq)) {
        Frame r = udp_reply_to(s, &reflector_);
        if (answer(flow, seq)) reply = std::move(r);
      }
      if (!reply.empty() && delay_ns(flow, seq) > 0) {
        held_.push_back(Held{flow, seq, probe_now_ns() + delay_ns(flow, seq), std::move(reply)});
        reply.clear();
      }
      if (!reply.empty()) {
        const uint64_t now = probe_now_ns();
        if (!rig_->inject(reply)) ++inject_failures_;
        replied_at_[{flow, seq}] = now;
        ++replies_[flow];
        if (record) capture.push_back(Captured{std::move(reply), now});
      }
      last_seq_[flow] = seq;
      frames_[{flow, seq}] = std::move(s);
    }
    rig_->events();
  }

  void run_for(uint64_t ns) {
    const uint64_t end = probe_now_ns() + ns;
    do {
      poll();
      sleep_ns(100 * kUs);
    } while (probe_now_ns() < end);
  }

  bool run_until(const std::function<bool()>& done, uint64_t timeout_ns) {
    const uint64_t end = probe_now_ns() + timeout_ns;
    while (!done()) {
      if (probe_now_ns() > end) return false;
      poll();
      sleep_ns(100 * kUs);
    }
    return true;
  }

  const std::vector<Probe>& probes(uint32_t flow) { return probes_[flow]; }
  // Send time of probe seq of a flow whose sequence numbers came consecutive from 0.
  uint64_t tx(uint32_t flow, uint32_t seq) { return probes_[flow].at(seq).tx_ns; }
  uint64_t replied_at(uint32_t flow, uint32_t seq) { return replied_at_[{flow, seq}]; }
  uint64_t replies(uint32_t flow) { return replies_[flow]; }
  const SentFrame& frame(uint32_t flow, uint32_t seq) { return frames_.at({flow, seq}); }
  const SentFrame& last(uint32_t flow) { return frames_.at({flow, last_seq_.at(flow)}); }
  const std::vector<SentFrame>& others() const { return others_; }
  uint64_t malformed() const { return malformed_; }
  uint64_t inject_failures() const { return inject_failures_; }

  std::vector<Captured> capture;

 private:
  struct Held {
    uint32_t flow;
    uint32_t seq;
    uint64_t due_ns;
    Frame reply;
  };

  // Injects the held replies that are due.
  void release_held() {
    const uint64_t now = probe_now_ns();
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->due_ns > now) {
        ++it;
        continue;
      }
      if (!rig_->inject(it->reply)) ++inject_failures_;
      replied_at_[{it->flow, it->seq}] = now;
      ++replies_[it->flow];
      if (record) capture.push_back(Captured{std::move(it->reply), now});
      it = held_.erase(it);
    }
  }

  CoreRig* rig_;
  std::vector<Held> held_;
  reflector::Reflection reflector_;
  std::map<uint32_t, std::vector<Probe>> probes_;
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> replied_at_;
  std::map<uint32_t, uint64_t> replies_;
  std::map<std::pair<uint32_t, uint32_t>, SentFrame> frames_;
  std::map<uint32_t, uint32_t> last_seq_;
  std::vector<SentFrame> others_;
  uint64_t malformed_ = 0;
  uint64_t inject_failures_ = 0;
};

std::vector<RxEvent> events_of(CoreRig& rig, RxEvent::Kind kind, int64_t flow = -1) {
  std::vector<RxEvent> out;
  for (const RxEvent& e : rig.events()) {
    if (e.kind == kind && (flow < 0 || e.flow_id == static_cast<uint32_t>(flow))) out.push_back(e);
  }
  return out;
}

void expect_consecutive_from_zero(const std::vector<Probe>& p) {
  for (size_t i = 0; i < p.size(); ++i) {
    ASSERT_EQ(p[i].seq, i) << "probe " << i << " of " << p.size();
  }
}

// Checks that the probes of one flow (as seen, in order; sequence numbers increasing, holes
// where the port refused a probe) left on the flow's grid of deadlines:
// - every spacing is its slots (sequence difference) times the interval within kLateNs,
//   except spacings next to a probe the core counted late (a late probe bounds two spacings,
//   and a probe sent after skipped slots is late by its first deadline);
// - the whole span is the slots it covers (sequence numbers plus skipped slots) times the
//   interval, within one interval: absolute deadlines, no drift, skips all counted (the first
//   and the last probe each left less than an interval after their slot: a core later than
//   that skips to the newest slot due);
// - most probes leave on time: the product measured 0.2-0.3% of its wake-ups late on an idle
//   lab VM; with two compilers on the same 2 CPUs (load 5) 15% were late here. Half is the
//   bound: it holds on a busy machine and still fails a pacer that is late as a rule.
void expect_on_the_grid(const std::vector<Probe>& p, uint64_t interval, const TxCounters& tx) {
  ASSERT_GE(p.size(), 2u);
  uint64_t off = 0;
  for (size_t i = 1; i < p.size(); ++i) {
    ASSERT_GT(p[i].seq, p[i - 1].seq);
    const uint64_t slots = p[i].seq - p[i - 1].seq;
    const int64_t err =
        static_cast<int64_t>(p[i].tx_ns - p[i - 1].tx_ns) - static_cast<int64_t>(slots * interval);
    if (static_cast<uint64_t>(std::llabs(err)) > kLateNs + kRoundingNs) ++off;
  }
  EXPECT_LE(off, 2 * tx.late_sends) << "spacings off the interval by more than " << kLateNs / kUs
                                    << " us, not explained by late sends";
  const uint64_t slots = p.back().seq - p.front().seq + tx.skipped_slots;
  const int64_t span_err = static_cast<int64_t>(p.back().tx_ns - p.front().tx_ns) -
                           static_cast<int64_t>(slots * interval);
  EXPECT_LT(static_cast<uint64_t>(std::llabs(span_err)), interval)
      << "span " << p.back().tx_ns - p.front().tx_ns << " ns for " << slots << " slots";
  EXPECT_LE(tx.late_sends, p.size() / 2) << "most probes left late: a pacer late as a rule, or "
                                            "a machine too loaded to judge it";
  std::printf("%zu probes at %llu us: %llu late sends (worst %llu us), %llu slots skipped\n",
              p.size(), static_cast<unsigned long long>(interval / kUs),
              static_cast<unsigned long long>(tx.late_sends),
              static_cast<unsigned long long>(tx.max_late_ns / kUs),
              static_cast<unsigned long long>(tx.skipped_slots));
}

// Pacing ----------------------------------------------------------------------------------

TEST_F(CoresTest, ProbesLeaveAtTheirInterval) {
  CoreRig rig{RigOptions{}};
  ASSERT_EQ(rig.error(), "");
  Guest vm(&rig);
  rig.add_flow(FlowSpec{0, ProbeKind::kIcmpEcho, 1 * kMs, kVm, 1});
  ASSERT_TRUE(vm.run_until([&] { return vm.probes(0).size() >= 200; }, 2'000 * kMs));
  rig.stop_sending(0);
  const TxView tx = rig.tx_snapshot();  // after the removal: every probe sent is on the wire
  vm.poll();

  const std::vector<Probe>& p = vm.probes(0);
  ASSERT_GE(p.size(), 200u);
  expect_consecutive_from_zero(p);
  EXPECT_EQ(vm.malformed(), 0u);
  EXPECT_EQ(tx.totals.probes_sent, p.size());
  EXPECT_EQ(tx.flows[0].sent, p.size());
  EXPECT_EQ(tx.flows[0].first_tx_ns, p.front().tx_ns);
  EXPECT_EQ(tx.flows[0].last_tx_ns, p.back().tx_ns);
  EXPECT_EQ(tx.totals.port_full, 0u);
  EXPECT_EQ(tx.totals.no_mbuf, 0u);
  expect_on_the_grid(p, 1 * kMs, tx.totals);

  // Every probe answered at once: all count as replies, no gap.
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  const RxView rx = rig.rx_snapshot();
  EXPECT_EQ(rx.totals.replies, vm.replies(0));
  EXPECT_EQ(rx.flows[0].counters.answered, vm.replies(0));
  EXPECT_EQ(rx.totals.gaps, 0u);
  EXPECT_EQ(rx.all_drops(), 0u);
  EXPECT_EQ(vm.inject_failures(), 0u);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

TEST_F(CoresTest, StalledTxCoreSkipsSlotsWithoutCatchUp) {
  CoreRig rig{RigOptions{}};
  ASSERT_EQ(rig.error(), "");
  Guest vm(&rig);
  constexpr uint64_t kInterval = 1 * kMs;
  rig.add_flow(FlowSpec{0, ProbeKind::kIcmpEcho, kInterval, kVm, 1});
  ASSERT_TRUE(vm.run_until([&] { return vm.probes(0).size() >= 30; }, 2'000 * kMs));
  Stall stall;
  ASSERT_TRUE(stall_lcore(EalEnvironment::tx_lcore(), 30 * kMs, &stall));
  vm.poll();
  const size_t before_resume = vm.probes(0).size();
  ASSERT_TRUE(vm.run_until([&] { return vm.probes(0).size() >= before_resume + 30; }, 2'000 * kMs));
  rig.stop_sending(0);
  const TxView tx = rig.tx_snapshot();
  vm.poll();

  const std::vector<Probe>& p = vm.probes(0);
  ASSERT_GE(p.size(), 60u);
  // Skipped slots use no sequence numbers.
  expect_consecutive_from_zero(p);
  // a: the last probe before the stall; b: the first after it.
  size_t b = 0;
  while (b < p.size() && p[b].tx_ns < stall.end_ns) ++b;
  ASSERT_GT(b, 0u);
  ASSERT_LT(b, p.size());
  ASSERT_LT(p[b - 1].tx_ns, stall.begin_ns) << "a probe left while the core was stalled";
  // The deadlines that passed during the stall were skipped and counted (but the newest,
  // which b took), and b was counted late by the whole stall.
  const uint64_t stall_ns = stall.end_ns - stall.begin_ns;
  EXPECT_GE(tx.totals.skipped_slots + 1, stall_ns / kInterval) << "stall of " << stall_ns << " ns";
  EXPECT_EQ(tx.flows[0].skipped, tx.totals.skipped_slots);
  EXPECT_GE(tx.totals.max_late_ns + kInterval, stall_ns);
  // No catch-up: the 10 ms from b on carry the probes of at most 10 slots (11 with b, which
  // may have left late in its slot), not those of the 30 missed.
  const auto in_10ms = [&](const Probe& x) {
    return x.tx_ns >= p[b].tx_ns && x.tx_ns < p[b].tx_ns + 10 * kMs;
  };
  EXPECT_LE(std::count_if(p.begin(), p.end(), in_10ms), 11);
  // And the whole run on the grid: the spacing across the stall is explained by b, late.
  expect_on_the_grid(p, kInterval, tx.totals);
  EXPECT_EQ(tx.totals.probes_sent, p.size());
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

TEST_F(CoresTest, FullPortDropsProbesWithoutCatchUp) {
  RigOptions o;
  o.tx_ring_size = 32;  // holds 31 frames
  CoreRig rig(o);
  ASSERT_EQ(rig.error(), "");
  Guest vm(&rig);
  constexpr uint64_t kInterval = 1 * kMs;
  rig.add_flow(FlowSpec{0, ProbeKind::kIcmpEcho, kInterval, kVm, 1});
  ASSERT_TRUE(vm.run_until([&] { return vm.probes(0).size() >= 20; }, 2'000 * kMs));
  // Nobody drains the port for 120 ms: 31 probes fill it, the TX core drops the rest.
  const uint64_t stop_ns = probe_now_ns();
  sleep_ns(120 * kMs);
  const uint64_t resume_ns = probe_now_ns();
  vm.poll();
  const size_t after_resume = vm.probes(0).size();
  ASSERT_TRUE(vm.run_until([&] { return vm.probes(0).size() >= after_resume + 30; }, 2'000 * kMs));
  rig.stop_sending(0);
  const TxView tx = rig.tx_snapshot();
  vm.poll();

  const std::vector<Probe>& p = vm.probes(0);
  ASSERT_GE(p.size(), 60u);
  EXPECT_EQ(vm.malformed(), 0u);
  EXPECT_EQ(p.front().seq, 0u);
  const uint64_t missing = p.back().seq + 1 - p.size();
  // Each slot of the 120 ms went into the port (31 places), was refused, or was skipped (a
  // TX core late on a busy machine).
  const uint64_t blocked_slots = (resume_ns - stop_ns) / kInterval;
  EXPECT_GE(tx.totals.port_full + tx.totals.skipped_slots + 31 + 2, blocked_slots);
  EXPECT_GT(tx.totals.port_full, 0u);
  // Each refused probe used its slot and its sequence number: the holes on the wire are them
  // (so the RX core counts them lost, as if the target had not answered).
  EXPECT_EQ(missing, tx.totals.port_full);
  // probes_sent counts what the core built and handed to the port, refused ones included.
  EXPECT_EQ(tx.totals.probes_sent, p.size() + tx.totals.port_full);
  // Across the refusals and after draining: on the grid, no burst.
  expect_on_the_grid(p, kInterval, tx.totals);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

// Reply matching ---------------------------------------------------------------------------

TEST_F(CoresTest, RepliesCountAndBadOnesAreDroppedByReason) {
  CoreRig rig{RigOptions{}};
  ASSERT_EQ(rig.error(), "");
  Guest vm(&rig);
  constexpr uint8_t kGeneration = 7;
  rig.add_flow(FlowSpec{0, ProbeKind::kIcmpEcho, 1 * kMs, kVm, kGeneration});
  rig.add_flow(FlowSpec{1, ProbeKind::kUdpReflect, 1 * kMs, kVm, kGeneration});
  ASSERT_TRUE(
      vm.run_until([&] { return vm.replies(0) >= 20 && vm.replies(1) >= 20; }, 2'000 * kMs));
  rig.stop_sending(0);
  rig.stop_sending(1);
  rig.tx_snapshot();
  vm.poll();
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  const RxView before = rig.rx_snapshot();
  ASSERT_EQ(before.totals.replies, vm.replies(0) + vm.replies(1));
  ASSERT_EQ(before.all_drops(), 0u);

  // Variants of replies to probes already answered: any that got through would count as a
  // reply (a duplicate in its flow).
  const Frame icmp = icmp_reply_to(vm.last(0));
  reflector::Reflection reflector;
  const Frame udp = udp_reply_to(vm.last(1), &reflector);
  ASSERT_FALSE(icmp.empty());
  ASSERT_FALSE(udp.empty());
  using R = an::DropReason;
  std::map<R, uint64_t> expected;
  std::vector<Frame> bad;
  auto add = [&](Frame f, R why) {
    bad.push_back(std::move(f));
    ++expected[why];
  };
  auto with_trailer = [](Frame f, const std::function<void(an::ProbeTrailer*)>& change) {
    EXPECT_TRUE(rewrite_trailer(&f, change));
    return f;
  };
  auto with_ip = [](Frame f, size_t off, uint32_t ip) {
    an::store_be32(f.data() + 14 + off, ip);
    refresh_checksums(&f);
    return f;
  };
  auto flipped = [](Frame f, size_t off) {
    f[off] ^= 0x5a;
    return f;
  };
  add(with_ip(icmp, 12, 0x0a4d0063), R::kWRONG_PEER);  // from 10.77.0.99
  add(with_ip(udp, 12, 0x0a4d0063), R::kWRONG_PEER);
  add(with_ip(icmp, 16, 0x0a4d0002), R::kNOT_FOR_US);  // to 10.77.0.2
  add(with_trailer(icmp, [](an::ProbeTrailer* t) { t->flow_id = 5; }), R::kUNKNOWN_FLOW);
  add(with_trailer(icmp, [](an::ProbeTrailer* t) { t->flow_id = 1000; }), R::kBAD_FLOW_ID);
  add(with_trailer(icmp, [](an::ProbeTrailer* t) { t->generation = kGeneration - 1; }),
      R::kSTALE_GENERATION);
  add(with_trailer(udp, [](an::ProbeTrailer* t) { t->generation = kGeneration + 1; }),
      R::kSTALE_GENERATION);
  // An ICMP reply naming the UDP flow and a UDP reply naming the ICMP flow.
  add(with_trailer(icmp, [](an::ProbeTrailer* t) { t->flow_id = 1; }), R::kWRONG_KIND);
  add(with_trailer(udp, [](an::ProbeTrailer* t) { t->flow_id = 0; }), R::kWRONG_KIND);
  add(with_trailer(icmp, [](an::ProbeTrailer* t) { t->version = 2; }), R::kBAD_TRAILER_VERSION);
  add(with_trailer(icmp, [](an::ProbeTrailer* t) { t->tx_ns = probe_now_ns() + 10'000 * kMs; }),
      R::kTIMESTAMP_AHEAD);
  // A payload byte changed on the way (the checksum field itself could turn into UDP's 0,
  // "no checksum").
  add(flipped(icmp, kPayloadOffset + 17), R::kBAD_L4_CHECKSUM);
  add(flipped(udp, kPayloadOffset + 21), R::kBAD_L4_CHECKSUM);
  add(flipped(icmp, 14 + 10), R::kBAD_IP_CHECKSUM);
  // The probes themselves, looped back: requests, not replies.
  add(vm.last(0).bytes, R::kNOT_A_REPLY);
  add(vm.last(1).bytes, R::kNOT_A_REPLY);
  // A foreign ping, a UDP datagram without a trailer, a cut trailer, LLDP, a runt.
  const std::vector<uint8_t> hello(18, 'x');
  add(icmp_echo(kVm, rig.options().probe, 0, 1, 1, hello), R::kNOT_PROBE);
  add(udp_datagram(kVm, rig.options().probe, 7077, 32768, hello), R::kNOT_PROBE);
  add(icmp_echo(kVm, rig.options().probe, 0, 0, 0, {0x6d, 0x70, 0x10, 0, 0, 0}),
      R::kTRUNCATED_TRAILER);
  Frame lldp = icmp;
  an::store_be16(lldp.data() + 12, 0x88cc);
  add(lldp, R::kOTHER_PROTOCOL);
  add(Frame(icmp.begin(), icmp.begin() + 10), R::kTRUNCATED_ETHERNET);

  for (const Frame& f : bad) ASSERT_TRUE(rig.inject(f));
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  const RxView after = rig.rx_snapshot();
  EXPECT_EQ(after.totals.replies, before.totals.replies) << "a bad reply counted as a reply";
  EXPECT_EQ(after.totals.packets, before.totals.packets + bad.size());
  for (size_t r = 1; r < an::kDropReasonCount; ++r) {
    const R why = static_cast<R>(r);
    EXPECT_EQ(after.drops(why), expected[why]) << an::drop_reason_name(why);
  }
  EXPECT_EQ(after.flows[0].counters.answered, vm.replies(0));
  EXPECT_EQ(after.flows[1].counters.answered, vm.replies(1));
  EXPECT_EQ(after.flows[0].counters.duplicates + after.flows[1].counters.duplicates, 0u);
  EXPECT_EQ(after.totals.gaps, 0u);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

TEST_F(CoresTest, ReplyAfterTheTimeoutCountsLate) {
  CoreRig rig{RigOptions{}};  // reply timeout 50 ms
  ASSERT_EQ(rig.error(), "");
  Guest vm(&rig);
  rig.add_flow(FlowSpec{0, ProbeKind::kIcmpEcho, 1 * kMs, kVm, 1});
  // Probe 10 gets its reply 60 ms late; the others at once.
  vm.answer = [](uint32_t, uint32_t seq) { return seq != 10; };
  ASSERT_TRUE(vm.run_until([&] { return vm.probes(0).size() > 11; }, 1'000 * kMs));
  const Frame late = icmp_reply_to(vm.frame(0, 10));
  const uint64_t tx10 = vm.tx(0, 10);
  ASSERT_TRUE(vm.run_until([&] { return probe_now_ns() > tx10 + 60 * kMs; }, 1'000 * kMs));
  ASSERT_TRUE(rig.inject(late));
  ASSERT_TRUE(vm.run_until([&] { return !events_of(rig, RxEvent::kGap, 0).empty(); }, 1'000 * kMs));
  vm.run_for(5 * kMs);
  rig.stop_sending(0);
  rig.tx_snapshot();
  vm.poll();
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  const RxView rx = rig.rx_snapshot();
  // A valid reply of its flow, too late: counted as a reply and as late; its probe is lost.
  EXPECT_EQ(rx.totals.late_replies, 1u);
  EXPECT_EQ(rx.flows[0].counters.late, 1u);
  EXPECT_EQ(rx.flows[0].counters.answered, vm.replies(0));
  EXPECT_EQ(rx.totals.replies, vm.replies(0) + 1);
  EXPECT_EQ(rx.all_drops(), 0u);
  const std::vector<RxEvent> gaps = events_of(rig, RxEvent::kGap, 0);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].gap.seq_before, 9u);
  EXPECT_EQ(gaps[0].gap.seq_after, 11u);
  EXPECT_EQ(gaps[0].gap.lost, 1u);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

// Gaps and outages ---------------------------------------------------------------------------

TEST_F(CoresTest, WithheldRepliesMakeOneGapEach) {
  CoreRig rig{RigOptions{}};
  ASSERT_EQ(rig.error(), "");
  Guest vm(&rig);
  constexpr uint64_t kInterval = 1 * kMs;
  rig.add_flow(FlowSpec{0, ProbeKind::kIcmpEcho, kInterval, kVm, 1});
  rig.add_flow(FlowSpec{1, ProbeKind::kUdpReflect, kInterval, kVm, 1});
  // ICMP: no reply to 40..42. UDP: 60 and 61 reach the reflector but their replies are lost,
  // 62 and 63 never reach it.
  vm.answer = [](uint32_t flow, uint32_t seq) {
    return flow == 0 ? seq < 40 || seq > 42 : seq < 60 || seq > 61;
  };
  vm.reaches = [](uint32_t flow, uint32_t seq) { return flow != 1 || seq < 62 || seq > 63; };
  vm.run_for(80 * kMs);
  ASSERT_TRUE(vm.run_until([&] { return events_of(rig, RxEvent::kGap).size() >= 2; }, 2'000 * kMs));
  vm.run_for(10 * kMs);  // nothing more comes
  rig.stop_sending(0);
  rig.stop_sending(1);
  rig.tx_snapshot();
  vm.poll();
  expect_consecutive_from_zero(vm.probes(0));
  expect_consecutive_from_zero(vm.probes(1));

  const std::vector<RxEvent> g0 = events_of(rig, RxEvent::kGap, 0);
  ASSERT_EQ(g0.size(), 1u);
  const an::Gap& a = g0[0].gap;
  EXPECT_EQ(a.flow_id, 0u);
  EXPECT_EQ(a.seq_before, 39u);
  EXPECT_EQ(a.seq_after, 43u);
  EXPECT_EQ(a.lost, 3u);
  EXPECT_EQ(a.tx_before_ns, vm.tx(0, 39));
  EXPECT_EQ(a.tx_after_ns, vm.tx(0, 43));
  EXPECT_EQ(a.interval_ns, kInterval);
  const uint64_t span = vm.tx(0, 43) - vm.tx(0, 39);
  EXPECT_EQ(a.estimate_ns, span - kInterval);
  EXPECT_EQ(a.upper_ns, span);
  EXPECT_EQ(a.lower_ns, span - 2 * kInterval);
  // 3 ms, under the 5 ms threshold (unless the TX core skipped slots in between).
  EXPECT_EQ(a.outage, a.estimate_ns >= rig.options().outage_threshold_ns);
  EXPECT_FALSE(a.open_start);
  EXPECT_FALSE(a.open_end);
  EXPECT_FALSE(a.has_direction);
  EXPECT_GE(a.rx_after_ns, vm.tx(0, 43));

  const std::vector<RxEvent> g1 = events_of(rig, RxEvent::kGap, 1);
  ASSERT_EQ(g1.size(), 1u);
  const an::Gap& b = g1[0].gap;
  EXPECT_EQ(b.seq_before, 59u);
  EXPECT_EQ(b.seq_after, 64u);
  EXPECT_EQ(b.lost, 4u);
  EXPECT_EQ(b.estimate_ns, vm.tx(1, 64) - vm.tx(1, 59) - kInterval);
  EXPECT_TRUE(b.has_direction);
  EXPECT_EQ(b.return_lost, 2u);
  EXPECT_EQ(b.forward_lost, 2u);

  ASSERT_TRUE(rig.wait_rx_ring_empty());
  const RxView rx = rig.rx_snapshot();
  EXPECT_EQ(rx.totals.gaps, 2u);
  EXPECT_EQ(rx.flows[0].counters.lost, 3u);
  EXPECT_EQ(rx.flows[1].counters.lost, 4u);
  EXPECT_EQ(rx.totals.events_dropped, 0u);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

TEST_F(CoresTest, OutageInProgressIsRaisedOncePerOutage) {
  RigOptions o;
  o.outage_threshold_ns = 10 * kMs;
  CoreRig rig(o);
  ASSERT_EQ(rig.error(), "");
  Guest vm(&rig);
  constexpr uint64_t kInterval = 1 * kMs;
  rig.add_flow(FlowSpec{0, ProbeKind::kIcmpEcho, kInterval, kVm, 1});
  // Two outages of 30 ms, and a loss of 2 probes, well under the threshold, between them.
  vm.answer = [](uint32_t, uint32_t seq) {
    return !(seq >= 30 && seq <= 59) && !(seq >= 80 && seq <= 81) && !(seq >= 100 && seq <= 129);
  };
  vm.run_for(140 * kMs);
  ASSERT_TRUE(vm.run_until([&] { return events_of(rig, RxEvent::kGap).size() >= 3; }, 2'000 * kMs));
  rig.stop_sending(0);
  rig.tx_snapshot();
  vm.poll();
  expect_consecutive_from_zero(vm.probes(0));

  const std::vector<RxEvent> progress = events_of(rig, RxEvent::kOutageInProgress, 0);
  auto raised_for = [&](uint32_t last_answered) {
    std::vector<RxEvent> out;
    for (const RxEvent& e : progress) {
      if (e.since_tx_ns == vm.tx(0, last_answered)) out.push_back(e);
    }
    return out;
  };
  const std::pair<uint32_t, uint32_t> outages[] = {{29, 60}, {99, 130}};
  for (const auto& [before, resumed] : outages) {
    const std::vector<RxEvent> e = raised_for(before);
    ASSERT_EQ(e.size(), 1u) << "outage after probe " << before;
    // Raised once the silence passed the threshold and an interval, while it lasted.
    EXPECT_GT(e[0].ts_ns, vm.tx(0, before) + o.outage_threshold_ns + kInterval);
    EXPECT_LT(e[0].ts_ns, vm.replied_at(0, resumed));
  }
  // The short loss: the reply to 82 reached the core before the threshold had passed.
  if (vm.replied_at(0, 82) < vm.tx(0, 79) + o.outage_threshold_ns) {
    EXPECT_TRUE(raised_for(79).empty()) << "a loss of 2 probes raised an outage in progress";
  }

  const std::vector<RxEvent> gaps = events_of(rig, RxEvent::kGap, 0);
  ASSERT_EQ(gaps.size(), 3u);
  const uint32_t lost[] = {30, 2, 30};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(gaps[i].gap.lost, lost[i]);
    EXPECT_EQ(gaps[i].gap.outage, gaps[i].gap.estimate_ns >= o.outage_threshold_ns);
  }
  EXPECT_TRUE(gaps[0].gap.outage);
  EXPECT_TRUE(gaps[2].gap.outage);
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  const RxView rx = rig.rx_snapshot();
  EXPECT_EQ(rx.totals.outages_in_progress, progress.size());
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

TEST_F(CoresTest, ALateReplyToAnOlderProbeDoesNotAnnounceTheOutageTwice) {
  RigOptions o;
  o.outage_threshold_ns = 10 * kMs;
  CoreRig rig(o);
  ASSERT_EQ(rig.error(), "");
  Guest vm(&rig);
  constexpr uint64_t kInterval = 1 * kMs;
  rig.add_flow(FlowSpec{0, ProbeKind::kIcmpEcho, kInterval, kVm, 1});
  // A 70 ms outage (30..99 unanswered); the reply to 29, the last probe before it, comes
  // 20 ms late: after the outage was announced, long before it ends (and long enough before
  // it that the silence after it, 20 ms of round trip now included, passes the threshold).
  vm.answer = [](uint32_t, uint32_t seq) { return seq < 30 || seq > 99; };
  vm.delay_ns = [](uint32_t, uint32_t seq) { return seq == 29 ? 20 * kMs : uint64_t{0}; };
  vm.run_for(150 * kMs);
  ASSERT_TRUE(vm.run_until([&] { return !events_of(rig, RxEvent::kGap).empty(); }, 2'000 * kMs));
  rig.stop_sending(0);
  rig.tx_snapshot();
  vm.poll();
  expect_consecutive_from_zero(vm.probes(0));
  const std::vector<RxEvent> progress = events_of(rig, RxEvent::kOutageInProgress, 0);
  // Raised from probe 28, as the late reply to 29 had not come yet (unless the cores were
  // not scheduled for the 10 ms in between: then no event is fine, two are not).
  ASSERT_LE(progress.size(), 1u);
  if (vm.replied_at(0, 29) > vm.tx(0, 28) + o.outage_threshold_ns + 2 * kInterval) {
    ASSERT_EQ(progress.size(), 1u);
    EXPECT_EQ(progress[0].since_tx_ns, vm.tx(0, 28));
  }
  const std::vector<RxEvent> gaps = events_of(rig, RxEvent::kGap, 0);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].gap.lost, 70u);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

// Replay ------------------------------------------------------------------------------------

TEST_F(CoresTest, ReplayOfALiveRunGivesTheSameGap) {
  constexpr uint64_t kInterval = 1 * kMs;
  an::Gap live;
  std::vector<Captured> capture;
  size_t requests = 0;
  size_t replies = 0;
  uint64_t skipped = 0;
  {
    CoreRig rig{RigOptions{}};
    ASSERT_EQ(rig.error(), "");
    Guest vm(&rig);
    vm.record = true;
    rig.add_flow(FlowSpec{0, ProbeKind::kIcmpEcho, kInterval, kVm, 3});
    vm.answer = [](uint32_t, uint32_t seq) { return seq < 40 || seq > 59; };
    ASSERT_TRUE(vm.run_until([&] { return vm.probes(0).size() >= 100; }, 2'000 * kMs));
    rig.stop_sending(0);
    skipped = rig.tx_snapshot().totals.skipped_slots;
    ASSERT_TRUE(vm.run_until([&] { return !events_of(rig, RxEvent::kGap).empty(); }, 2'000 * kMs));
    vm.poll();
    const std::vector<RxEvent> gaps = events_of(rig, RxEvent::kGap);
    ASSERT_EQ(gaps.size(), 1u);
    live = gaps[0].gap;
    ASSERT_EQ(live.seq_before, 39u);
    ASSERT_EQ(live.seq_after, 60u);
    capture = vm.capture;
    requests = vm.probes(0).size();
    replies = vm.replies(0);
    EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
  }

  // The same frames through a replay rig, stamped with the time they passed, in
  // microseconds as net_pcap gives them (rounded up: a reply never before its request).
  RigOptions o;
  o.learn_flows = true;
  o.port_timestamps = true;
  CoreRig rig(o);
  ASSERT_EQ(rig.error(), "");
  std::stable_sort(capture.begin(), capture.end(),
                   [](const Captured& a, const Captured& b) { return a.ns < b.ns; });
  for (const Captured& c : capture) {
    while (!rig.inject(c.bytes, (c.ns + 999) / 1000)) sleep_ns(100 * kUs);
  }
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  ASSERT_TRUE(rig.finish(0, nullptr));
  const std::vector<RxEvent> gaps = events_of(rig, RxEvent::kGap);
  ASSERT_EQ(gaps.size(), 1u);
  const an::Gap& g = gaps[0].gap;
  EXPECT_EQ(g.flow_id, live.flow_id);
  EXPECT_EQ(g.seq_before, live.seq_before);
  EXPECT_EQ(g.seq_after, live.seq_after);
  EXPECT_EQ(g.lost, live.lost);
  EXPECT_EQ(g.tx_before_ns, live.tx_before_ns);
  EXPECT_EQ(g.tx_after_ns, live.tx_after_ns);
  EXPECT_EQ(g.outage, live.outage);
  // Replay measures the interval from the send timestamps over the sequence numbers (from
  // the first request to the newest when the gap settles, at least seq_after of them) where
  // the live run knew it: the first and the newest probe each left less than an interval
  // after their slot, which moves the measure by less than interval / seq_after. Slots the TX
  // core skipped took time but no sequence number: each stretches it by as much again (see
  // DISABLED_ReplayMeasuresTheIntervalAcrossSkippedSlots).
  const double tolerance =
      static_cast<double>((skipped + 1) * kInterval) / static_cast<double>(live.seq_after);
  EXPECT_NEAR(static_cast<double>(g.interval_ns), static_cast<double>(kInterval), tolerance)
      << skipped << " slots skipped in the live run";
  EXPECT_NEAR(static_cast<double>(g.estimate_ns), static_cast<double>(live.estimate_ns), tolerance)
      << skipped << " slots skipped in the live run";
  const RxView rx = rig.rx_snapshot();
  EXPECT_EQ(rx.totals.requests, requests);
  EXPECT_EQ(rx.totals.replies, replies);
  EXPECT_EQ(rx.all_drops(), 0u);
  EXPECT_TRUE(rx.flows[0].active);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

TEST_F(CoresTest, ReplayOnTheTscLearnsAFlowFromBothDirections) {
  // No port timestamps: frames are stamped when the RX core takes them, so the capture is
  // played in real time, requests on an exact 1 ms grid, each reply right after its request.
  RigOptions o;
  o.learn_flows = true;
  CoreRig rig(o);
  ASSERT_EQ(rig.error(), "");
  constexpr uint32_t kFlow = 3;
  constexpr uint8_t kGeneration = 9;
  constexpr uint64_t kInterval = 1 * kMs;
  ProbeHeader h;
  FlowParams params;
  params.kind = ProbeKind::kUdpReflect;
  build_probe_header(ProbeIdentity{rig.options().probe.mac, rig.options().probe.ip}, kVm.mac, 0,
                     kVm.ip, params, kFlow, &h);
  reflector::Reflection reflector;
  const uint64_t t0 = probe_now_ns() + 1 * kMs;
  uint64_t replies = 0;
  constexpr uint32_t kProbes = 150;
  for (uint32_t seq = 0; seq < kProbes; ++seq) {
    const uint64_t tx = t0 + seq * kInterval;
    while (probe_now_ns() < tx) sleep_ns(50 * kUs);
    SentFrame probe;
    // write_probe copies the whole 64-byte header template, more than a 60-byte frame.
    probe.bytes.assign(std::max<size_t>(h.frame_len, ProbeHeader::kMaxHeader), 0);
    write_probe(h, probe.bytes.data(), kGeneration, kFlow, seq, tx);
    probe.bytes.resize(h.frame_len);
    ASSERT_EQ(an::parse_frame(an::ParseOptions{}, probe.bytes.data(),
                              static_cast<uint32_t>(probe.bytes.size()),
                              static_cast<uint32_t>(probe.bytes.size()), &probe.packet),
              an::DropReason::kNone);
    ASSERT_TRUE(rig.inject(probe.bytes));
    // 50..69 reach the guest; their replies are lost.
    const Frame reply = udp_reply_to(probe, &reflector);
    if (seq < 50 || seq > 69) {
      ASSERT_TRUE(rig.inject(reply));
      ++replies;
    }
  }
  const uint64_t end = probe_now_ns() + 1'000 * kMs;
  while (events_of(rig, RxEvent::kGap).empty() && probe_now_ns() < end) sleep_ns(kMs);
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  ASSERT_TRUE(rig.finish(0, nullptr));

  const std::vector<RxEvent> gaps = events_of(rig, RxEvent::kGap);
  ASSERT_EQ(gaps.size(), 1u);
  const an::Gap& g = gaps[0].gap;
  EXPECT_EQ(g.flow_id, kFlow);
  EXPECT_EQ(g.seq_before, 49u);
  EXPECT_EQ(g.seq_after, 70u);
  EXPECT_EQ(g.lost, 20u);
  EXPECT_EQ(g.interval_ns, kInterval);  // measured from the requests: an exact grid
  EXPECT_EQ(g.estimate_ns, 20 * kMs);
  EXPECT_TRUE(g.outage);
  EXPECT_TRUE(g.has_direction);
  EXPECT_EQ(g.return_lost, 20u);
  EXPECT_EQ(g.forward_lost, 0u);
  const RxView rx = rig.rx_snapshot();
  EXPECT_EQ(rx.totals.requests, kProbes);
  EXPECT_EQ(rx.totals.replies, replies);
  EXPECT_EQ(rx.all_drops(), 0u);
  EXPECT_TRUE(rx.flows[kFlow].active);
  EXPECT_EQ(rx.flows[kFlow].counters.sent, kProbes);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

// A product flaw this bench shows (see the report of issue 11): replay measures a flow's
// interval as (newest send - first send) / (sequence numbers between), but slots the TX core
// skipped after a stall (skipped_slots) took time and no sequence number. Here 30 slots are
// skipped after probe 19, as the TX core does after a 30 ms stall, and replies to 60..79 are
// withheld: live (interval known) the gap is 21 - 1 = 20 ms; replay measures 129 ms / 99 =
// 1.303 ms and says 19.697 ms, its lower bound 18.39 ms instead of 19 ms. Enable once
// analysis/flow_tracker.cc measures the interval from probes of consecutive sequence numbers.
TEST_F(CoresTest, DISABLED_ReplayMeasuresTheIntervalAcrossSkippedSlots) {
  RigOptions o;
  o.learn_flows = true;
  o.port_timestamps = true;
  CoreRig rig(o);
  ASSERT_EQ(rig.error(), "");
  constexpr uint64_t kInterval = 1 * kMs;
  ProbeHeader h;
  FlowParams params;
  build_probe_header(ProbeIdentity{rig.options().probe.mac, rig.options().probe.ip}, kVm.mac, 0,
                     kVm.ip, params, 0, &h);
  const uint64_t t0 = 1'700'000'000'000'000'000;
  for (uint32_t seq = 0; seq < 100; ++seq) {
    const uint64_t tx = t0 + (seq < 20 ? seq : seq + 30) * kInterval;
    SentFrame probe;
    probe.bytes.assign(ProbeHeader::kMaxHeader, 0);
    write_probe(h, probe.bytes.data(), 1, 0, seq, tx);
    probe.bytes.resize(h.frame_len);
    ASSERT_EQ(an::parse_frame(an::ParseOptions{}, probe.bytes.data(),
                              static_cast<uint32_t>(probe.bytes.size()),
                              static_cast<uint32_t>(probe.bytes.size()), &probe.packet),
              an::DropReason::kNone);
    ASSERT_TRUE(rig.inject(probe.bytes, tx / 1000));
    if (seq < 60 || seq > 79) {
      ASSERT_TRUE(rig.inject(icmp_reply_to(probe), tx / 1000 + 100));
    }
  }
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  ASSERT_TRUE(rig.finish(0, nullptr));
  const std::vector<RxEvent> gaps = events_of(rig, RxEvent::kGap);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].gap.seq_before, 59u);
  EXPECT_EQ(gaps[0].gap.seq_after, 80u);
  EXPECT_EQ(gaps[0].gap.interval_ns, kInterval);
  EXPECT_EQ(gaps[0].gap.estimate_ns, 20 * kMs);
  EXPECT_EQ(gaps[0].gap.lower_ns, 19 * kMs);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

// ARP and RARP ------------------------------------------------------------------------------

TEST_F(CoresTest, ArpForTheProbeIsAnsweredAndAnnouncesBecomeEvents) {
  CoreRig rig{RigOptions{}};
  ASSERT_EQ(rig.error(), "");
  Guest vm(&rig);
  const Host probe = rig.options().probe;
  const an::MacAddress broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const Host other{{}, 0x0a4d0032};  // 10.77.0.50
  const Host vm_announce{kVm.mac, 0};
  ASSERT_TRUE(rig.inject(arp_frame(0x0806, kArpRequest, broadcast, kVm, Host{{}, probe.ip})));
  ASSERT_TRUE(rig.inject(arp_frame(0x0806, kArpRequest, broadcast, kVm, other)));
  ASSERT_TRUE(rig.inject(arp_frame(0x0806, kArpRequest, broadcast, kVm, Host{{}, kVm.ip})));
  ASSERT_TRUE(rig.inject(arp_frame(0x8035, 3, broadcast, vm_announce, vm_announce)));
  ASSERT_TRUE(
      vm.run_until([&] { return !vm.others().empty() && rig.events().size() >= 3; }, 2'000 * kMs));
  vm.run_for(10 * kMs);  // nothing more comes

  // The ARP reply, sent by the TX core from the frames ring.
  ASSERT_EQ(vm.others().size(), 1u);
  const SentFrame& r = vm.others()[0];
  ASSERT_EQ(r.parse, an::DropReason::kNone);
  EXPECT_EQ(r.packet.kind, an::PacketKind::kArp);
  EXPECT_EQ(r.packet.arp_op, kArpReply);
  EXPECT_EQ(r.packet.dst_mac, kVm.mac);
  EXPECT_EQ(r.packet.src_mac, probe.mac);
  EXPECT_EQ(r.packet.arp_sender_mac, probe.mac);
  EXPECT_EQ(r.packet.arp_sender_ip, probe.ip);
  EXPECT_EQ(r.packet.arp_target_mac, kVm.mac);
  EXPECT_EQ(r.packet.arp_target_ip, kVm.ip);
  const TxView tx = rig.tx_snapshot();
  EXPECT_EQ(tx.totals.control_frames, 1u);

  const std::vector<RxEvent>& ev = rig.events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, RxEvent::kArp);
  EXPECT_EQ(ev[0].arp_op, kArpRequest);
  EXPECT_EQ(ev[0].sender_ip, kVm.ip);
  EXPECT_EQ(ev[0].target_ip, probe.ip);
  EXPECT_EQ(ev[0].sender_mac, kVm.mac);
  EXPECT_FALSE(ev[0].garp);
  EXPECT_EQ(ev[1].kind, RxEvent::kArp);
  EXPECT_TRUE(ev[1].garp);
  EXPECT_EQ(ev[1].sender_ip, kVm.ip);
  EXPECT_EQ(ev[2].kind, RxEvent::kRarp);
  EXPECT_EQ(ev[2].sender_mac, kVm.mac);
  EXPECT_GT(ev[2].ts_ns, 0u);

  const RxView rx = rig.rx_snapshot();
  EXPECT_EQ(rx.totals.arp, 4u);
  EXPECT_EQ(rx.totals.garp, 1u);
  EXPECT_EQ(rx.totals.rarp, 1u);
  EXPECT_EQ(rx.drops(an::DropReason::kNOT_FOR_US), 1u);  // the request for 10.77.0.50
  EXPECT_EQ(rx.totals.frames_dropped, 0u);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

TEST_F(CoresTest, FullEventRingCountsTheEventsItCouldNotTake) {
  RigOptions o;
  o.events_ring_size = 8;  // holds 7
  CoreRig rig(o);
  ASSERT_EQ(rig.error(), "");
  const Host vm_announce{kVm.mac, 0};
  const an::MacAddress broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(rig.inject(arp_frame(0x8035, 3, broadcast, vm_announce, vm_announce)));
  }
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  const RxView rx = rig.rx_snapshot();  // events not read until now
  EXPECT_EQ(rx.totals.rarp, 10u);
  EXPECT_EQ(rx.totals.events_dropped, 3u);
  EXPECT_EQ(events_of(rig, RxEvent::kRarp).size(), 7u);
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

// TCP flows ----------------------------------------------------------------------------------

// Plays the peer of one TCP flow by hand: takes what the TX core sent, keeps the flow's SYN and
// the end of the newest data segment, and builds the peer's segments (from target:peer_port to
// the flow's port) with correct checksums.
class TcpPeer {
 public:
  static constexpr uint32_t kIss = 5'000'000;

  TcpPeer(CoreRig* rig, const TcpFlowSpec& spec) : rig_(rig) {
    const TcpFrameAddress probe = rig->tcp_address(spec);
    from_ = probe;
    std::swap(from_.src_mac, from_.dst_mac);
    std::swap(from_.src_ip, from_.dst_ip);
    std::swap(from_.src_port, from_.dst_port);
    probe_ = probe;
  }

  void poll() {
    for (SentFrame& s : rig_->take_sent()) {
      const an::ParsedPacket& p = s.packet;
      if (s.parse != an::DropReason::kNone || p.kind != an::PacketKind::kTcp ||
          p.src_port != probe_.src_port || p.dst_port != probe_.dst_port ||
          an::load_be32(p.dst_ip.bytes.data()) != probe_.dst_ip) {
        ++misfits_;
        continue;
      }
      if ((p.tcp_flags & an::kTcpSyn) != 0) {
        syns_.push_back(s);
      } else if (p.payload_len != 0) {
        const uint32_t end = p.tcp_seq + p.payload_len;
        if (data_segments_ == 0 || an::seq_after(end, snd_max_)) snd_max_ = end;
        ++data_segments_;
        if (!an::seq_after(watch_from_, p.tcp_seq)) ++data_from_;
      }
    }
    rig_->events();
  }

  bool run_until(const std::function<bool()>& done, uint64_t timeout_ns) {
    const uint64_t end = probe_now_ns() + timeout_ns;
    while (!done()) {
      if (probe_now_ns() > end) return false;
      poll();
      sleep_ns(100 * kUs);
    }
    return true;
  }

  // A segment of the peer; the static one from the address and ports a test gives.
  Frame segment(uint8_t flags, uint32_t seq, uint32_t ack) const {
    return segment(from_, flags, seq, ack);
  }
  static Frame segment(const TcpFrameAddress& from, uint8_t flags, uint32_t seq, uint32_t ack) {
    TcpTx t;
    t.flags = flags;
    t.seq = seq;
    t.ack = ack;
    t.window = 65535;
    return tcp_frame(from, t);
  }
  // The answer to the flow's SYN: MSS, window scale and timestamps, as a Linux guest gives.
  Frame syn_ack() const {
    const an::ParsedPacket& syn = syns_.at(0).packet;
    TcpTx t;
    t.flags = an::kTcpSyn | an::kTcpAck;
    t.seq = kIss;
    t.ack = syn.tcp_seq + 1;
    t.window = 65535;
    t.syn_options = true;
    t.mss = 1460;
    t.wscale = 7;
    t.has_ts = true;
    t.ts_val = 1;
    t.ts_ecr = syn.tcp_ts_val;
    return tcp_frame(from_, t);
  }
  // Counts, from now on, the data segments that start at or after seq.
  void watch_from(uint32_t seq) {
    watch_from_ = seq;
    data_from_ = 0;
  }

  const TcpFrameAddress& from() const { return from_; }
  const std::vector<SentFrame>& syns() const { return syns_; }
  uint32_t iss() const { return syns_.at(0).packet.tcp_seq; }
  uint32_t snd_max() const { return snd_max_; }
  uint64_t data_segments() const { return data_segments_; }
  uint64_t data_from() const { return data_from_; }
  uint64_t misfits() const { return misfits_; }

 private:
  CoreRig* rig_;
  TcpFrameAddress from_;
  TcpFrameAddress probe_;
  std::vector<SentFrame> syns_;
  uint32_t snd_max_ = 0;
  uint64_t data_segments_ = 0;
  uint32_t watch_from_ = 0;
  uint64_t data_from_ = 0;
  uint64_t misfits_ = 0;
};

// Waits until the TX core has taken every TCP segment the RX core handed it, and returns the
// TX core's snapshot then.
TxView tx_after_tcp_segments(CoreRig& rig, uint64_t handed) {
  const uint64_t give_up = probe_now_ns() + 2'000 * kMs;
  TxView tx = rig.tx_snapshot();
  while (tx.totals.tcp_segments_received + tx.drops(an::DropReason::kTCP_NO_CONNECTION) < handed &&
         probe_now_ns() < give_up) {
    sleep_ns(100 * kUs);
    tx = rig.tx_snapshot();
  }
  return tx;
}

TEST_F(CoresTest, CraftedTcpSegmentsAreDroppedByReasonAndTheFlowGoesOn) {
  CoreRig rig{RigOptions{}};
  ASSERT_EQ(rig.error(), "");
  TcpFlowSpec spec;
  spec.slot = 1;  // the probe's port 49153
  spec.flow_id = 3;
  spec.target = kVm;
  spec.peer_port = 7;
  spec.rate_bytes_per_s = 200'000;  // a 1000-byte segment every 5 ms
  spec.segment_bytes = 1000;
  spec.echo = false;
  rig.add_tcp_flow(spec);
  TcpPeer peer(&rig, spec);

  // The handshake: the flow's SYN, answered by hand; then the flow sends data.
  ASSERT_TRUE(peer.run_until([&] { return !peer.syns().empty(); }, 2'000 * kMs));
  ASSERT_EQ(peer.syns().size(), 1u);
  EXPECT_EQ(peer.syns()[0].packet.tcp_flags, an::kTcpSyn);
  ASSERT_TRUE(rig.inject(peer.syn_ack()));
  ASSERT_TRUE(peer.run_until([&] { return peer.data_segments() >= 2; }, 2'000 * kMs));
  const std::vector<TcpFlowEvent>& events = rig.tcp_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.kind, TcpEndpointEvent::kEstablished);
  EXPECT_EQ(events[0].flow_id, spec.flow_id);
  EXPECT_EQ(events[0].tcp_slot, spec.slot);
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  const RxView rx_before = rig.rx_snapshot();
  ASSERT_EQ(rx_before.totals.tcp_segments, 1u);  // the SYN-ACK
  ASSERT_EQ(rx_before.all_drops(), 0u);

  // Crafted segments of the peer, each with correct checksums unless said otherwise.
  using R = an::DropReason;
  const uint32_t rcv_nxt = TcpPeer::kIss + 1;
  const uint32_t snd_una = peer.iss() + 1;  // nothing acknowledged since the handshake
  std::vector<Frame> bad;
  // Its TCP checksum changed on the way: it no longer holds (RX, the classifier).
  Frame corrupted = peer.segment(an::kTcpAck, rcv_nxt, snd_una);
  corrupted[kTcpOffset + 16] ^= 0x5a;
  bad.push_back(corrupted);
  // To the flow's port from another source port, and from another address (RX).
  TcpFrameAddress other_port = peer.from();
  other_port.src_port = 8;
  bad.push_back(TcpPeer::segment(other_port, an::kTcpAck, rcv_nxt, snd_una));
  TcpFrameAddress other_ip = peer.from();
  other_ip.src_ip = 0x0a4d0063;  // 10.77.0.99
  bad.push_back(TcpPeer::segment(other_ip, an::kTcpAck, rcv_nxt, snd_una));
  // To a TCP port of the probe with no flow (slot 2), and to a port below the TCP flows' (RX).
  TcpFrameAddress no_flow = peer.from();
  no_flow.dst_port = static_cast<uint16_t>(kTcpPortBase + 2);
  bad.push_back(TcpPeer::segment(no_flow, an::kTcpAck, rcv_nxt, snd_una));
  no_flow.dst_port = 40000;
  bad.push_back(TcpPeer::segment(no_flow, an::kTcpAck, rcv_nxt, snd_una));
  // Of the flow's connection, but outside its windows (TX, the endpoint): an ACK of far more
  // than was ever sent, and a reset far past the receive window.
  bad.push_back(peer.segment(an::kTcpAck, rcv_nxt, peer.snd_max() + 0x10000000));
  bad.push_back(peer.segment(an::kTcpRst | an::kTcpAck, rcv_nxt + 0x40000000, snd_una));
  std::map<R, uint64_t> rx_expected = {
      {R::kBAD_L4_CHECKSUM, 1}, {R::kTCP_WRONG_PEER, 2}, {R::kTCP_NO_CONNECTION, 2}};
  std::map<R, uint64_t> tx_expected = {{R::kTCP_OUT_OF_WINDOW, 2}};

  for (const Frame& f : bad) ASSERT_TRUE(rig.inject(f));
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  const RxView rx = rig.rx_snapshot();
  EXPECT_EQ(rx.totals.packets, rx_before.totals.packets + bad.size());
  // The two of the connection went to the TX core.
  EXPECT_EQ(rx.totals.tcp_segments, rx_before.totals.tcp_segments + 2);
  EXPECT_EQ(rx.totals.tcp_ring_full, 0u);
  const TxView tx = tx_after_tcp_segments(rig, rx.totals.tcp_segments);
  EXPECT_EQ(tx.totals.tcp_segments_received, rx.totals.tcp_segments);
  for (size_t r = 1; r < an::kDropReasonCount; ++r) {
    const R why = static_cast<R>(r);
    EXPECT_EQ(rx.drops(why), rx_expected[why]) << "RX " << an::drop_reason_name(why);
    EXPECT_EQ(tx.drops(why), tx_expected[why]) << "TX " << an::drop_reason_name(why);
  }
  ASSERT_GT(tx.tcp.size(), spec.slot);
  const TcpFlowSnapshot& flow = tx.tcp[spec.slot];
  EXPECT_TRUE(flow.used);
  EXPECT_EQ(flow.flow_id, spec.flow_id);
  EXPECT_TRUE(flow.established) << "a crafted segment ended the connection";

  // Not wedged: the peer acknowledges what it got, and the flow sends new data past it.
  peer.poll();
  const uint32_t acked = peer.snd_max();
  peer.watch_from(acked);
  ASSERT_TRUE(rig.inject(peer.segment(an::kTcpAck, rcv_nxt, acked)));
  ASSERT_TRUE(peer.run_until([&] { return peer.data_from() >= 2; }, 2'000 * kMs))
      << "no data sent after the crafted segments";
  ASSERT_TRUE(rig.wait_rx_ring_empty());
  const RxView rx_after = rig.rx_snapshot();
  EXPECT_EQ(rx_after.totals.tcp_segments, rx.totals.tcp_segments + 1);
  const TxView tx_after = tx_after_tcp_segments(rig, rx_after.totals.tcp_segments);
  EXPECT_EQ(tx_after.totals.tcp_segments_received, rx_after.totals.tcp_segments);
  // The ACK was taken: no new drop. (The flow's meter is not asked what it acknowledged: the
  // reset outside the window stopped it, see tcp_endpoint_test.cc
  // DISABLED_MeterMeasuresOnlyWhatTheEndpointTakes.)
  EXPECT_EQ(tx_after.all_drops(), tx.all_drops());
  EXPECT_EQ(rx_after.all_drops(), rx.all_drops());
  EXPECT_TRUE(tx_after.tcp[spec.slot].established);
  EXPECT_EQ(tx_after.totals.tcp_unsendable, 0u);
  EXPECT_EQ(tx_after.totals.tcp_events_dropped, 0u);
  EXPECT_EQ(rig.tcp_events().size(), 1u) << "the connection changed (reset or closed)";
  EXPECT_EQ(peer.misfits(), 0u);
  EXPECT_EQ(peer.syns().size(), 1u);

  rig.stop_tcp_flow(spec.slot);
  rig.tx_snapshot();
  EXPECT_EQ(rig.stop(), 0u) << "mbufs not back in the pool";
}

}  // namespace
}  // namespace migprobe::dataplane::cores_test
