// The migration driver as a state machine: a fake Nova plays a migration's states on a fake
// clock (minutes of polling in microseconds), and each test reads back what the driver
// journaled and asked of Nova: completion, Nova refusing the request, the converge
// policies, a migration that vanishes, Nova failing for longer than the driver waits,
// the migration timeout, a migration Nova holds queued (timeouts from its start, the queue
// timeout) and Ctrl-C.

#include "orchestrator/migration_driver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "analysis/journal.h"
#include "analysis/run_statistics.h"
#include "tests/orchestrator/fake_nova.h"

namespace migprobe::orchestrator {
namespace {

using fakes::FakeClock;
using fakes::FakeNova;
using std::chrono::seconds;

control::Error http_error(long status, const std::string& message) {
  return control::make_error(control::ErrorKind::kHttp, message, status, "req-failed");
}

// One migration driven to its outcome; the phases it journaled, in order.
struct Driven {
  v1::MigrationEvent outcome;
  std::vector<v1::MigrationPhase> phases;
  std::vector<std::string> errors;  // ErrorEvents journaled
};

class MigrationDriverTest : public testing::Test {
 protected:
  FakeClock clock;
  FakeNova nova{clock};
  EvacuationOptions options;
  StopRequest stop;

  Driven drive() {
    const std::string path = fakes::fresh_journal_path("driver");
    Driven d;
    {
      control::RunJournal journal;
      EXPECT_TRUE(journal.open(path, v1::JournalHeader{}).ok());
      RunProgress progress(true);
      MigrationDriver driver(nova, journal, options, progress, nullptr, clock);
      MigrationJob job;
      job.server_id = "srv-1";
      job.server_name = "vm1";
      job.mac = "52:54:00:00:00:01";
      job.source_host = "hostA";
      job.dest_host = "hostB";
      job.label = "test";
      d.outcome = driver.run(job, stop);
      journal.close();
    }
    analysis::JournalContents contents;
    EXPECT_TRUE(analysis::read_journal(path, &contents).ok());
    for (const auto& r : contents.records) {
      if (r.has_migration()) d.phases.push_back(r.migration().phase());
      if (r.has_error()) d.errors.push_back(r.error().message());
    }
    std::remove(path.c_str());
    return d;
  }

  int count(const std::string& call) const {
    int n = 0;
    for (const auto& c : nova.calls) n += c == call;
    return n;
  }
};

TEST_F(MigrationDriverTest, CompletesThroughItsPhases) {
  nova.script = [](FakeNova& n, auto t) {
    if (t < seconds(3)) {
      n.migrating("running", t < seconds(1) ? 100 : 600);
    } else {
      n.over("completed", "hostB");
    }
  };
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_COMPLETED) << d.outcome.error();
  EXPECT_EQ(d.outcome.request_id(), "req-live-migrate");
  EXPECT_EQ(d.outcome.nova_migration_id(), "mig-uuid");
  EXPECT_GT(d.outcome.completed_ns(), d.outcome.running_ns());
  EXPECT_GT(d.outcome.running_ns(), d.outcome.accepted_ns());
  ASSERT_GE(d.phases.size(), 5U);
  EXPECT_EQ(d.phases[0], v1::MIGRATION_PHASE_REQUESTED);
  EXPECT_EQ(d.phases[1], v1::MIGRATION_PHASE_ACCEPTED);
  EXPECT_EQ(d.phases[2], v1::MIGRATION_PHASE_RUNNING);
  EXPECT_EQ(d.phases[3], v1::MIGRATION_PHASE_PROGRESS);
  EXPECT_EQ(d.phases.back(), v1::MIGRATION_PHASE_COMPLETED);
  EXPECT_EQ(count("live_migrate srv-1 hostB"), 1);
  EXPECT_EQ(count("abort 7"), 0);
}

TEST_F(MigrationDriverTest, RefusedRequestFailsWithNovasWordsAndRequestId) {
  nova.failing = [](const std::string& call) -> std::optional<control::Error> {
    if (call.rfind("live_migrate", 0) == 0) {
      return http_error(409,
                        "Cannot 'os-migrateLive' instance while it is in task_state migrating");
    }
    return std::nullopt;
  };
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_FAILED);
  EXPECT_NE(d.outcome.error().find("os-migrateLive refused: HTTP 409"), std::string::npos)
      << d.outcome.error();
  EXPECT_NE(d.outcome.error().find("task_state migrating"), std::string::npos);
  EXPECT_EQ(d.outcome.request_id(), "req-failed");
  EXPECT_EQ(d.phases, (std::vector<v1::MigrationPhase>{v1::MIGRATION_PHASE_REQUESTED,
                                                       v1::MIGRATION_PHASE_FAILED}));
  EXPECT_EQ(count("server_migrations"), 0);  // nothing to watch
}

TEST_F(MigrationDriverTest, NotConvergedIsAbortedUnderTheAbortPolicy) {
  options.policy = ConvergePolicy::kAbort;
  options.converge_timeout = seconds(30);
  bool aborted = false;
  nova.failing = [&aborted](const std::string& call) -> std::optional<control::Error> {
    if (call == "abort 7") aborted = true;
    return std::nullopt;
  };
  nova.script = [&aborted](FakeNova& n, auto) {
    if (aborted) {
      n.over("cancelled", "hostA");
    } else {
      n.migrating("running", 500);  // never converges
    }
  };
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_ABORTED);
  EXPECT_NE(d.outcome.error().find("stayed on hostA"), std::string::npos) << d.outcome.error();
  EXPECT_EQ(count("abort 7"), 1);
  EXPECT_EQ(count("force_complete 7"), 0);
  const auto abort_at =
      std::find(d.phases.begin(), d.phases.end(), v1::MIGRATION_PHASE_ABORT_REQUESTED);
  ASSERT_NE(abort_at, d.phases.end());
  EXPECT_EQ(d.phases.back(), v1::MIGRATION_PHASE_ABORTED);
  // Asked at the converge timeout, not before: the polls until then are 30 s / 250 ms.
  EXPECT_GE(count("server_migrations"), 120);
  EXPECT_LE(count("server_migrations"), 124);
}

TEST_F(MigrationDriverTest, NotConvergedIsForcedUnderTheForceCompletePolicy) {
  options.policy = ConvergePolicy::kForceComplete;
  options.converge_timeout = seconds(10);
  bool forced = false;
  nova.failing = [&forced](const std::string& call) -> std::optional<control::Error> {
    if (call == "force_complete 7") forced = true;
    return std::nullopt;
  };
  nova.script = [&forced](FakeNova& n, auto) {
    if (forced) {
      n.over("completed", "hostB");
    } else {
      n.migrating("running", 500);
    }
  };
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_COMPLETED) << d.outcome.error();
  EXPECT_EQ(count("force_complete 7"), 1);
  EXPECT_EQ(count("abort 7"), 0);
  EXPECT_NE(
      std::find(d.phases.begin(), d.phases.end(), v1::MIGRATION_PHASE_FORCE_COMPLETE_REQUESTED),
      d.phases.end());
}

TEST_F(MigrationDriverTest, MigrationThatVanishesFailsWithNovasActionError) {
  // Nova drops the migration (its record never shows) and the server stays where it was.
  nova.script = [](FakeNova& n, auto t) {
    if (t < seconds(1)) {
      n.migrating("preparing", 0);
    } else {
      n.vanish();
    }
  };
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_FAILED);
  // The first line of the failed event's details, from the instance action.
  EXPECT_EQ(d.outcome.error(),
            "compute_pre_live_migration: libvirt: Unable to pre-create chardev file");
  EXPECT_EQ(d.phases.back(), v1::MIGRATION_PHASE_FAILED);
}

TEST_F(MigrationDriverTest, NovaFailingForAMinuteLosesTrackAndSaysWhyOnce) {
  // Nova answers the request, then times out on every poll.
  nova.failing = [this](const std::string& call) -> std::optional<control::Error> {
    if (nova.requested() && (call == "server_migrations" || call == "server")) {
      return control::make_error(control::ErrorKind::kTransport,
                                 "Operation timed out after 30000 milliseconds");
    }
    return std::nullopt;
  };
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_FAILED);
  EXPECT_NE(d.outcome.error().find("lost track of the migration"), std::string::npos)
      << d.outcome.error();
  EXPECT_NE(d.outcome.error().find("timed out"), std::string::npos);
  // One journaled error for the one distinct failure, not one per poll.
  EXPECT_EQ(d.errors.size(), 1U);
  // About a minute of polls (250 ms each).
  EXPECT_GE(count("server_migrations"), 240);
  EXPECT_LE(count("server_migrations"), 245);
}

TEST_F(MigrationDriverTest, PollErrorsThatHealAreJournaledAndTheMigrationCompletes) {
  // A token that expires mid-poll (401), then Nova answers again.
  nova.failing = [this](const std::string& call) -> std::optional<control::Error> {
    if (nova.requested() && call == "server_migrations" && nova.calls.size() < 8) {
      return http_error(401, "The request you have made requires authentication.");
    }
    return std::nullopt;
  };
  nova.script = [](FakeNova& n, auto t) {
    if (t < seconds(5)) {
      n.migrating("running", 300);
    } else {
      n.over("completed", "hostB");
    }
  };
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_COMPLETED) << d.outcome.error();
  ASSERT_EQ(d.errors.size(), 1U);
  EXPECT_NE(d.errors[0].find("HTTP 401"), std::string::npos) << d.errors[0];
}

TEST_F(MigrationDriverTest, MigrationTimeoutAbortsThenGivesUpAfterTheGrace) {
  options.migration_timeout = seconds(20);
  nova.script = [](FakeNova& n, auto) { n.migrating("running", 500); };  // abort or not
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_FAILED);
  EXPECT_EQ(d.outcome.error(), "did not finish within the migration timeout, nor after an abort");
  EXPECT_EQ(count("abort 7"), 1);
  // 20 s, then the 60 s of grace.
  EXPECT_GE(count("server_migrations"), 320);
  EXPECT_LE(count("server_migrations"), 325);
}

TEST_F(MigrationDriverTest, SecondCtrlCAbortsTheMigrationInFlight) {
  nova.script = [this](FakeNova& n, auto t) {
    if (t >= seconds(2)) stop.level = 2;  // the operator pressed Ctrl-C twice
    if (n.calls.size() > 0 && n.calls.back() == "abort 7") {
      n.over("cancelled", "hostA");
    } else if (std::find(n.calls.begin(), n.calls.end(), "abort 7") == n.calls.end()) {
      n.migrating("running", 400);
    }
  };
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_ABORTED) << d.outcome.error();
  EXPECT_EQ(count("abort 7"), 1);
}

TEST_F(MigrationDriverTest, TimeoutsCountFromNovasStartNotWhileQueued) {
  // Nova holds the migration queued for 15 minutes (another one runs on the source host),
  // then runs it for 50 s: longer queued than the migration timeout, never long enough
  // running for the converge policy.
  options.policy = ConvergePolicy::kAbort;
  options.converge_timeout = seconds(60);
  options.migration_timeout = seconds(120);
  nova.script = [](FakeNova& n, auto t) {
    if (t < std::chrono::minutes(15)) {
      n.migrating("queued", 0);
    } else if (t < std::chrono::minutes(15) + seconds(50)) {
      n.migrating("running", 700);
    } else {
      n.over("completed", "hostB");
    }
  };
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_COMPLETED) << d.outcome.error();
  EXPECT_EQ(count("abort 7"), 0);
  ASSERT_NE(d.outcome.queued_ns(), 0U);
  EXPECT_GT(d.outcome.running_ns(), d.outcome.queued_ns());
  const double queued_s = static_cast<double>(analysis::time_queued_ns(d.outcome)) / 1e9;
  EXPECT_NEAR(queued_s, 900.0, 1.0);
  ASSERT_GE(d.phases.size(), 4U);
  EXPECT_EQ(d.phases[2], v1::MIGRATION_PHASE_QUEUED);
  EXPECT_EQ(d.phases[3], v1::MIGRATION_PHASE_RUNNING);
  EXPECT_EQ(std::count(d.phases.begin(), d.phases.end(), v1::MIGRATION_PHASE_QUEUED), 1);
}

TEST_F(MigrationDriverTest, QueuedTooLongIsCancelledWithNovasAbort) {
  options.queue_timeout = seconds(30);
  bool cancelled = false;
  nova.failing = [&cancelled](const std::string& call) -> std::optional<control::Error> {
    if (call == "abort 7") cancelled = true;
    return std::nullopt;
  };
  nova.script = [&cancelled](FakeNova& n, auto) {
    if (cancelled) {
      n.over("cancelled", "hostA");
    } else {
      n.migrating("queued", 0);
    }
  };
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_ABORTED) << d.outcome.error();
  EXPECT_EQ(count("abort 7"), 1);
  EXPECT_EQ(d.outcome.running_ns(), 0U);
  EXPECT_NEAR(static_cast<double>(analysis::time_queued_ns(d.outcome)) / 1e9, 30.0, 1.0);
  EXPECT_EQ(std::count(d.phases.begin(), d.phases.end(), v1::MIGRATION_PHASE_ABORT_REQUESTED), 1);
}

TEST_F(MigrationDriverTest, QueuedAndNeverCancelledFailsAfterTheGrace) {
  options.queue_timeout = seconds(30);
  nova.script = [](FakeNova& n, auto) { n.migrating("queued", 0); };  // cancel or not
  const Driven d = drive();
  EXPECT_EQ(d.outcome.outcome(), v1::MIGRATION_OUTCOME_FAILED);
  EXPECT_NE(d.outcome.error().find("within the queue timeout"), std::string::npos)
      << d.outcome.error();
  EXPECT_EQ(count("abort 7"), 1);
}

}  // namespace
}  // namespace migprobe::orchestrator
