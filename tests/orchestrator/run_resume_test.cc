// Resuming a run: what its journal says was done (the VMs, the migrations that ended, the
// one in flight, the legs), and Nova's word on the migration in flight (completed while the
// run was away, still running then completed, failed, never started, a stop while waiting),
// against the fake Nova on the fake clock.

#include "orchestrator/run_resume.h"

#include <gtest/gtest.h>

#include "fake_nova.h"

namespace migprobe::orchestrator {
namespace {

using fakes::FakeClock;
using fakes::FakeNova;

v1::JournalRecord target(const std::string& id, const std::string& name) {
  v1::JournalRecord r;
  r.mutable_target()->set_instance_id(id);
  r.mutable_target()->set_name(name);
  r.mutable_target()->set_ip("10.0.0.1");
  return r;
}

v1::JournalRecord migration(const std::string& id, const std::string& from, const std::string& to,
                            v1::MigrationOutcome outcome, uint64_t requested, uint64_t recorded) {
  v1::JournalRecord r;
  v1::MigrationEvent& m = *r.mutable_migration();
  m.set_iteration(1);
  m.set_instance_id(id);
  m.set_instance_name(id == "srv-1" ? "vm1" : "vm2");
  m.set_source_host(from);
  m.set_dest_host(to);
  m.set_outcome(outcome);
  m.set_requested_ns(requested);
  m.set_recorded_ns(recorded);
  if (outcome == v1::MIGRATION_OUTCOME_COMPLETED) m.set_completed_ns(recorded);
  return r;
}

v1::JournalRecord leg(const std::string& from, const std::string& to, uint64_t started,
                      uint64_t finished) {
  v1::JournalRecord r;
  r.mutable_evacuation()->set_iteration(1);
  r.mutable_evacuation()->set_source_host(from);
  r.mutable_evacuation()->set_dest_host(to);
  r.mutable_evacuation()->set_started_ns(started);
  r.mutable_evacuation()->set_finished_ns(finished);
  return r;
}

TEST(RunSoFar, WhatTheJournalSaysWasDone) {
  analysis::JournalContents j;
  j.header.set_created_ns(100);
  j.records = {target("srv-1", "vm1"), target("srv-2", "vm2"),
               // A target again (the dataplane restarted): still two VMs.
               target("srv-1", "vm1"), leg("hostA", "hostB", 200, 900),
               migration("srv-1", "hostA", "hostB", v1::MIGRATION_OUTCOME_IN_PROGRESS, 210, 220),
               migration("srv-1", "hostA", "hostB", v1::MIGRATION_OUTCOME_COMPLETED, 210, 400),
               migration("srv-2", "hostA", "hostB", v1::MIGRATION_OUTCOME_FAILED, 450, 500),
               leg("hostA", "hostB", 200, 0), leg("hostA", "hostB", 200, 900),
               leg("hostB", "hostA", 950, 0),
               migration("srv-1", "hostB", "hostA", v1::MIGRATION_OUTCOME_IN_PROGRESS, 960, 1000)};
  const RunSoFar s = read_run_so_far(j);
  ASSERT_EQ(s.vms.size(), 2U);
  EXPECT_EQ(s.vms[1].name, "vm2");
  EXPECT_EQ(s.ended, (std::set<std::string>{attempt_key(1, "hostA", "hostB", "srv-1"),
                                            attempt_key(1, "hostA", "hostB", "srv-2")}));
  EXPECT_EQ(s.completed, 1U);
  EXPECT_EQ(s.failed, 1U);
  ASSERT_EQ(s.in_flight.size(), 1U);
  EXPECT_EQ(s.in_flight[0].source_host(), "hostB");
  EXPECT_EQ(s.legs_finished, std::set<std::string>{leg_key(1, "hostA", "hostB")});
  EXPECT_EQ(s.legs_started.size(), 2U);
  EXPECT_EQ(s.last_seen_ns, 1000U);
}

class SettleInFlight : public ::testing::Test {
 protected:
  SettleInFlight() : nova(clock) {
    in_flight.set_instance_id("srv-1");
    in_flight.set_instance_name("vm1");
    in_flight.set_source_host("hostA");
    in_flight.set_dest_host("hostB");
    in_flight.set_requested_ns(1'796'119'200'000'000'000ULL);  // 2026-12-01T10:00:00Z
    in_flight.set_outcome(v1::MIGRATION_OUTCOME_IN_PROGRESS);
  }
  InFlightFate settle() {
    return settle_in_flight(nova, in_flight, std::chrono::milliseconds(250),
                            std::chrono::seconds(60), stop, progress, &out, clock);
  }

  FakeClock clock;
  FakeNova nova;
  StopRequest stop;
  RunProgress progress{true};
  v1::MigrationEvent in_flight;
  v1::MigrationEvent out;
};

TEST_F(SettleInFlight, CompletedWhileTheRunWasAway) {
  nova.listed("completed", "hostB", "2026-12-01T10:00:07.500000Z");
  ASSERT_EQ(settle(), InFlightFate::kEnded);
  EXPECT_EQ(out.outcome(), v1::MIGRATION_OUTCOME_COMPLETED);
  EXPECT_EQ(out.nova_status(), "completed");
  EXPECT_EQ(out.nova_migration_id(), "mig-uuid");
  // Nova's updated_at, the best the run can know of when it ended.
  EXPECT_EQ(out.completed_ns(), 1'796'119'207'500'000'000ULL);
  EXPECT_EQ(out.requested_ns(), in_flight.requested_ns());
  EXPECT_NE(out.error().find("recorded from Nova's migration list"), std::string::npos);
}

TEST_F(SettleInFlight, StillRunningThenCompleted) {
  nova.listed("running", "hostB");
  int calls = 0;
  nova.failing = [&](const std::string&) -> std::optional<control::Error> {
    if (++calls == 4) nova.listed("completed", "hostB");
    return std::nullopt;
  };
  const auto t0 = clock.now();
  ASSERT_EQ(settle(), InFlightFate::kEnded);
  EXPECT_EQ(out.outcome(), v1::MIGRATION_OUTCOME_COMPLETED);
  // Polled every 250 ms until Nova said so.
  EXPECT_EQ(clock.now() - t0, std::chrono::milliseconds(750));
}

TEST_F(SettleInFlight, FailedOrCancelled) {
  nova.listed("error", "hostB");
  ASSERT_EQ(settle(), InFlightFate::kEnded);
  EXPECT_EQ(out.outcome(), v1::MIGRATION_OUTCOME_FAILED);
  EXPECT_NE(out.failed_ns(), 0U);
  nova.listed("cancelled", "hostB");
  ASSERT_EQ(settle(), InFlightFate::kEnded);
  EXPECT_EQ(out.outcome(), v1::MIGRATION_OUTCOME_ABORTED);
}

TEST_F(SettleInFlight, NeverReachedNova) {
  // Nothing listed; nor is an older migration of the server to another host taken for it.
  ASSERT_EQ(settle(), InFlightFate::kNotInNova);
  // The record that closes the request: not a migration, so no report shows it in progress.
  EXPECT_EQ(out.outcome(), v1::MIGRATION_OUTCOME_NOT_MADE);
  EXPECT_EQ(out.requested_ns(), in_flight.requested_ns());
  EXPECT_NE(out.error().find("never took the request"), std::string::npos);
  nova.listed("completed", "hostC");
  ASSERT_EQ(settle(), InFlightFate::kNotInNova);
}

TEST_F(SettleInFlight, AStopWhileWaitingRecordsNothing) {
  nova.listed("running", "hostB");
  nova.failing = [&](const std::string&) -> std::optional<control::Error> {
    stop.level = 1;
    return std::nullopt;
  };
  EXPECT_EQ(settle(), InFlightFate::kUnresolved);
}

TEST_F(SettleInFlight, PastTheTimeoutItIsAborted) {
  nova.listed("running", "hostB");
  nova.failing = [&](const std::string& call) -> std::optional<control::Error> {
    if (call == "abort 7") nova.listed("cancelled", "hostB");
    return std::nullopt;
  };
  ASSERT_EQ(settle(), InFlightFate::kEnded);
  EXPECT_EQ(out.outcome(), v1::MIGRATION_OUTCOME_ABORTED);
  EXPECT_NE(std::find(nova.calls.begin(), nova.calls.end(), "abort 7"), nova.calls.end());
}

}  // namespace
}  // namespace migprobe::orchestrator
