// The evacuation as a plan of legs and a leg runner, on the fake Nova: which VMs a leg
// moves, what a failure leaves where, what the leg journals, and a stop before it starts.

#include "orchestrator/evacuation_legs.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "analysis/journal.h"
#include "tests/orchestrator/fake_nova.h"

namespace migprobe::orchestrator {
namespace {

using std::chrono::milliseconds;

TEST(EvacuationLegs, PlanGoesThereAndBackEachIteration) {
  EvacuationOptions o;
  o.source_host = "hostA";
  o.dest_host = "hostB";
  o.iterations = 2;
  const std::vector<Leg> legs = plan_legs(o);
  ASSERT_EQ(legs.size(), 4U);
  EXPECT_EQ(legs[0].from, "hostA");
  EXPECT_EQ(legs[0].to, "hostB");
  EXPECT_EQ(legs[1].from, "hostB");
  EXPECT_EQ(legs[1].to, "hostA");
  EXPECT_EQ(legs[3].iteration, 2U);
  EXPECT_EQ(legs[3].label, "iteration 2/2 hostB -> hostA");
}

class LegRunnerTest : public testing::Test {
 protected:
  fakes::FakeClock clock;
  fakes::FakeNova nova{clock};
  EvacuationOptions options;
  StopRequest stop;
  std::vector<Vm> vms = {{"srv-1", "vm1", "10.0.0.1", "52:54:00:00:00:01", "hostA"},
                         {"srv-2", "vm2", "10.0.0.2", "52:54:00:00:00:02", "hostA"},
                         {"srv-3", "vm3", "10.0.0.3", "52:54:00:00:00:03", "hostA"},
                         {"srv-4", "vm4", "10.0.0.4", "52:54:00:00:00:04", "hostB"}};
  std::vector<v1::EvacuationEvent> legs_journaled;

  LegRunnerTest() {
    options.settle = milliseconds(0);
    // Each migration runs for a second, then completes where it was sent.
    nova.script = [](fakes::FakeNova& n, auto t) {
      if (t < std::chrono::seconds(1)) {
        n.migrating("running", 500);
      } else {
        n.over("completed", n.dest());
      }
    };
  }

  LegResult run(const Leg& leg) {
    const std::string path = fakes::fresh_journal_path("legs");
    LegResult result;
    {
      control::RunJournal journal;
      EXPECT_TRUE(journal.open(path, v1::JournalHeader{}).ok());
      RunProgress progress(true);
      MigrationDriver driver(nova, journal, options, progress, nullptr, clock);
      LegRunner runner(options, driver, journal, progress, nullptr);
      result = runner.run(leg, vms, stop);
      journal.close();
    }
    analysis::JournalContents contents;
    EXPECT_TRUE(analysis::read_journal(path, &contents).ok());
    for (const auto& r : contents.records) {
      if (r.has_evacuation()) legs_journaled.push_back(r.evacuation());
    }
    std::remove(path.c_str());
    return result;
  }
};

TEST_F(LegRunnerTest, MovesWhatIsOnItsSourceAndAFailureStaysWhereItWas) {
  nova.failing = [](const std::string& call) -> std::optional<control::Error> {
    if (call == "live_migrate srv-2 hostB") {
      return control::make_error(control::ErrorKind::kHttp, "No valid host was found.", 400);
    }
    return std::nullopt;
  };
  const LegResult r = run(Leg{1, "hostA", "hostB", "iteration 1/1 hostA -> hostB"});
  EXPECT_EQ(r.completed, 2U);
  EXPECT_EQ(r.failed, 1U);
  EXPECT_FALSE(r.probe_lost);
  EXPECT_EQ(vms[0].host, "hostB");
  EXPECT_EQ(vms[1].host, "hostA");  // its migration failed
  EXPECT_EQ(vms[2].host, "hostB");
  EXPECT_EQ(vms[3].host, "hostB");  // not on the leg's source: skipped
  int requests = 0;
  for (const auto& c : nova.calls) requests += c.rfind("live_migrate", 0) == 0;
  EXPECT_EQ(requests, 3);
  // The leg at its start and at its end.
  ASSERT_EQ(legs_journaled.size(), 2U);
  EXPECT_EQ(legs_journaled[0].migrations(), 3U);
  EXPECT_EQ(legs_journaled[0].finished_ns(), 0U);
  EXPECT_EQ(legs_journaled[1].completed(), 2U);
  EXPECT_EQ(legs_journaled[1].failed(), 1U);
  EXPECT_FALSE(legs_journaled[1].interrupted());
  EXPECT_EQ(legs_journaled[1].source_host(), "hostA");
  EXPECT_EQ(legs_journaled[1].dest_host(), "hostB");
}

TEST_F(LegRunnerTest, StopBeforeTheLegMovesNothingAndSaysInterrupted) {
  stop.level = 1;
  const LegResult r = run(Leg{1, "hostA", "hostB", "iteration 1/1 hostA -> hostB"});
  EXPECT_EQ(r.completed + r.failed, 0U);
  EXPECT_TRUE(nova.calls.empty());
  ASSERT_EQ(legs_journaled.size(), 2U);
  EXPECT_TRUE(legs_journaled[1].interrupted());
  EXPECT_EQ(vms[0].host, "hostA");
}

}  // namespace
}  // namespace migprobe::orchestrator
