// Each migration's TCP verdict from the streams of its VM: intact only when measured across
// the window, recovered with its stall, reset with its loss, not established, not measured;
// the worst of several streams; no stream, no verdict.

#include "analysis/tcp_verdict.h"

#include <gtest/gtest.h>

namespace migprobe::analysis {
namespace {

constexpr uint64_t kS = 1'000'000'000;

// A stream to 10.0.0.11:7077, established at 1 s, seen until 100 s.
v1::TcpStreamReport stream() {
  v1::TcpStreamReport s;
  s.set_opener("10.0.0.1:40001");
  s.set_peer("10.0.0.11:7077");
  s.set_connections(1);
  s.set_established(1);
  s.set_first_ns(1 * kS);
  s.set_first_established_ns(1 * kS);
  s.set_last_ns(100 * kS);
  s.set_open_at_end(true);
  return s;
}

v1::TcpEpisode* add_episode(v1::TcpStreamReport* s, uint64_t from, uint64_t to, uint64_t stall) {
  v1::TcpEpisode* e = s->mutable_from_opener()->add_episodes();
  e->set_start_ns(from);
  e->set_end_ns(to);
  e->set_stall_ns(stall);
  e->set_timeout_retransmits(60);
  e->set_fast_retransmits(2);
  return e;
}

TEST(TcpVerdict, IntactOnlyWhenMeasuredAcrossTheWindow) {
  const v1::TcpStreamReport s = stream();
  EXPECT_EQ(tcp_verdict(s, 10 * kS, 20 * kS).verdict(), v1::TCP_VERDICT_INTACT);
  // Began inside the window: not measured, never "intact".
  EXPECT_EQ(tcp_verdict(s, 0, 20 * kS).verdict(), v1::TCP_VERDICT_NOT_MEASURED);
  // Ended inside it.
  EXPECT_EQ(tcp_verdict(s, 90 * kS, 120 * kS).verdict(), v1::TCP_VERDICT_NOT_MEASURED);
}

TEST(TcpVerdict, RecoveredWithItsStallAndRetransmissions) {
  v1::TcpStreamReport s = stream();
  add_episode(&s, 12 * kS, 13 * kS + 400'000'000, 1'400'000'000);
  add_episode(&s, 50 * kS, 51 * kS, 900'000'000);  // another migration's
  const v1::TcpVerdict v = tcp_verdict(s, 10 * kS, 20 * kS);
  EXPECT_EQ(v.verdict(), v1::TCP_VERDICT_RECOVERED);
  EXPECT_EQ(v.stall_ns(), 1'400'000'000U);
  EXPECT_EQ(v.retransmits(), 62U);
}

TEST(TcpVerdict, AnEpisodeStillOpenAtTheEndIsStalledNotRecovered) {
  // The guest went dark in the migration and never came back before the run ended.
  v1::TcpStreamReport s = stream();
  add_episode(&s, 15 * kS, 41 * kS, 25 * kS)->set_open(true);
  s.mutable_from_opener()->set_unacked_bytes(10'700);
  for (const auto& [from, to] : {std::pair{10 * kS, 20 * kS}, std::pair{30 * kS, 40 * kS}}) {
    const v1::TcpVerdict v = tcp_verdict(s, from, to);
    EXPECT_EQ(v.verdict(), v1::TCP_VERDICT_STALLED);
    EXPECT_EQ(v.stall_ns(), 25 * kS);
    EXPECT_EQ(v.bytes_lost(), 10'700U);
  }
  EXPECT_EQ(tcp_verdict(s, 2 * kS, 5 * kS).verdict(), v1::TCP_VERDICT_INTACT);
}

TEST(TcpVerdict, ResetWithTheBytesItLost) {
  v1::TcpStreamReport s = stream();
  add_episode(&s, 12 * kS, 15 * kS, 3 * kS)->set_reset(true);
  v1::TcpResetReport* r = s.add_resets();
  r->set_ts_ns(15 * kS);
  r->set_unacked_opener_bytes(30'000);
  r->set_unacked_peer_bytes(2'000);
  r->set_established(true);
  const v1::TcpVerdict v = tcp_verdict(s, 10 * kS, 20 * kS);
  EXPECT_EQ(v.verdict(), v1::TCP_VERDICT_RESET);
  EXPECT_EQ(v.reset_ns(), 15 * kS);
  EXPECT_EQ(v.bytes_lost(), 32'000U);
  EXPECT_EQ(v.retransmits(), 62U);
  // The next window, after the reconnection: not the reset's.
  EXPECT_NE(tcp_verdict(s, 30 * kS, 40 * kS).verdict(), v1::TCP_VERDICT_RESET);
}

TEST(TcpVerdict, NeverEstablishedIsSaid) {
  v1::TcpStreamReport s;
  s.set_opener("10.0.0.1:40001");
  s.set_peer("10.0.0.11:9");
  s.set_connections(3);
  s.set_first_ns(11 * kS);
  s.set_last_ns(19 * kS);
  EXPECT_EQ(tcp_verdict(s, 10 * kS, 20 * kS).verdict(), v1::TCP_VERDICT_NOT_ESTABLISHED);
}

TEST(TcpVerdict, EachMigrationGetsTheWorstOfItsVmsStreams) {
  v1::Report r;
  v1::TargetReport* vm1 = r.add_targets();
  vm1->set_ip("10.0.0.11");
  v1::MigrationReport* m = vm1->add_migrations();
  m->mutable_migration()->set_requested_ns(10 * kS);
  m->mutable_migration()->set_completed_ns(18 * kS);
  v1::TargetReport* vm2 = r.add_targets();
  vm2->set_ip("10.0.0.12");
  vm2->add_migrations()->mutable_migration()->set_requested_ns(10 * kS);
  *r.add_tcp_streams() = stream();  // intact
  v1::TcpStreamReport hit = stream();
  hit.set_stream_id(1);
  hit.set_opener("10.0.0.11:5000");  // the VM opened this one
  hit.set_peer("10.0.0.99:80");
  add_episode(&hit, 19 * kS, 20 * kS, 700'000'000);  // inside the settle time
  *r.add_tcp_streams() = hit;
  add_tcp_verdicts(2 * kS, &r);
  ASSERT_TRUE(r.targets(0).migrations(0).has_tcp());
  EXPECT_EQ(r.targets(0).migrations(0).tcp().verdict(), v1::TCP_VERDICT_RECOVERED);
  EXPECT_EQ(r.targets(0).migrations(0).tcp().stream_id(), 1U);
  // No stream of vm2: no verdict at all.
  EXPECT_FALSE(r.targets(1).migrations(0).has_tcp());
}

}  // namespace
}  // namespace migprobe::analysis
