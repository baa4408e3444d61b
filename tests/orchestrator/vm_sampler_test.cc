// VM metrics sampling on the fake Nova: what a sample journals, watch and unwatch, a cloud
// that refuses diagnostics (told once, the run goes on), a failing call (told once per
// error, sampling goes on), and the leg runner's samples before its first migration.

#include "orchestrator/vm_sampler.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "analysis/journal.h"
#include "orchestrator/evacuation_legs.h"
#include "tests/orchestrator/fake_nova.h"

namespace migprobe::orchestrator {
namespace {

using std::chrono::milliseconds;

class VmSamplerTest : public testing::Test {
 protected:
  fakes::FakeClock clock;
  fakes::FakeNova nova{clock};
  EvacuationOptions options;
  RunProgress progress{true};
  std::string path = fakes::fresh_journal_path("vm-sampler");
  control::RunJournal journal;
  std::vector<v1::VmSample> samples;
  std::vector<std::string> errors;

  VmSamplerTest() {
    options.campaign = "c1";
    options.cell = "cell-a";
    options.vm_metrics_period = milliseconds(1);
    EXPECT_TRUE(journal.open(path, v1::JournalHeader{}).ok());
  }
  ~VmSamplerTest() override { std::remove(path.c_str()); }

  int diagnostics_calls() const {
    int n = 0;
    for (const auto& c : nova.calls) n += c.rfind("diagnostics ", 0) == 0;
    return n;
  }
  // Closes the journal and reads back its samples and errors.
  void read_back() {
    journal.close();
    analysis::JournalContents contents;
    ASSERT_TRUE(analysis::read_journal(path, &contents).ok());
    for (const auto& r : contents.records) {
      if (r.has_vm_sample()) samples.push_back(r.vm_sample());
      if (r.has_error()) errors.push_back(r.error().message());
    }
  }
};

TEST_F(VmSamplerTest, EachRoundJournalsOneSampleOfEachWatchedVm) {
  nova.cpu_ns_per_call = 250'000'000;
  nova.nic_bytes_per_call = 1000;
  VmSampler sampler(nova, journal, options, progress, clock);
  ASSERT_TRUE(sampler.enabled());
  sampler.watch("srv-1", "vm1");
  sampler.watch("srv-2", "vm2");
  sampler.sample_round();
  clock.sleep_for(milliseconds(1000));
  sampler.sample_round();
  // The last sample when a VM's window ends, then no more of it.
  sampler.unwatch("srv-1");
  sampler.sample_round();
  sampler.unwatch("srv-7");  // never watched: nothing
  read_back();
  ASSERT_EQ(samples.size(), 6U);
  int vm1 = 0;
  for (const auto& s : samples) vm1 += s.instance_id() == "srv-1";
  EXPECT_EQ(vm1, 3);
  const v1::VmSample& first = samples[0];
  EXPECT_EQ(first.instance_name(), "vm1");
  EXPECT_EQ(first.campaign(), "c1");
  EXPECT_EQ(first.cell(), "cell-a");
  EXPECT_EQ(first.cpu_time_ns(), 250'000'000U);
  EXPECT_EQ(first.nic_rx_bytes(), 1000U);
  EXPECT_EQ(first.num_cpus(), 1U);
  EXPECT_EQ(first.memory_max_mib(), 512U);
  EXPECT_EQ(samples[2].sampled_ns() - samples[0].sampled_ns(), 1'000'000'000U);
  EXPECT_TRUE(errors.empty());
}

TEST_F(VmSamplerTest, ACloudThatRefusesDiagnosticsIsToldOnceAndNotAskedAgain) {
  nova.failing = [](const std::string& call) -> std::optional<control::Error> {
    if (call.rfind("diagnostics", 0) == 0) {
      return control::make_error(control::ErrorKind::kHttp,
                                 "Policy doesn't allow os_compute_api:os-server-diagnostics to "
                                 "be performed.",
                                 403, "req-1");
    }
    return std::nullopt;
  };
  VmSampler sampler(nova, journal, options, progress, clock);
  sampler.watch("srv-1", "vm1");
  sampler.watch("srv-2", "vm2");
  sampler.sample_round();
  sampler.sample_round();
  sampler.unwatch("srv-1");
  EXPECT_FALSE(sampler.enabled());
  EXPECT_EQ(diagnostics_calls(), 1);
  read_back();
  EXPECT_TRUE(samples.empty());
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("refuses server diagnostics"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("HTTP 403"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("goes on without VM metrics"), std::string::npos) << errors[0];
}

TEST_F(VmSamplerTest, ANovaWithoutTheMicroversionCountsAsARefusal) {
  nova.failing = [](const std::string& call) -> std::optional<control::Error> {
    if (call.rfind("diagnostics", 0) == 0) {
      return control::make_error(control::ErrorKind::kUnsupported,
                                 "server diagnostics needs compute API 2.48");
    }
    return std::nullopt;
  };
  VmSampler sampler(nova, journal, options, progress, clock);
  sampler.watch("srv-1", "vm1");
  sampler.sample_round();
  sampler.sample_round();
  EXPECT_FALSE(sampler.enabled());
  EXPECT_EQ(diagnostics_calls(), 1);
}

TEST_F(VmSamplerTest, AFailingSampleIsToldOnceAndSamplingGoesOn) {
  int calls = 0;
  nova.failing = [&calls](const std::string& call) -> std::optional<control::Error> {
    if (call.rfind("diagnostics", 0) == 0) {
      ++calls;
      if (calls <= 3) {
        return control::make_error(control::ErrorKind::kHttp, "Unexpected API Error.", 500,
                                   "req-" + std::to_string(calls));
      }
      if (calls == 4) {
        // The guest not running (around a switchover): lost, not told.
        return control::make_error(control::ErrorKind::kHttp,
                                   "Cannot 'get_diagnostics' instance srv-1 while it is in "
                                   "power_state 4",
                                   409, "req-4");
      }
    }
    return std::nullopt;
  };
  VmSampler sampler(nova, journal, options, progress, clock);
  sampler.watch("srv-1", "vm1");
  for (int i = 0; i < 6; ++i) sampler.sample_round();
  EXPECT_TRUE(sampler.enabled());
  read_back();
  EXPECT_EQ(samples.size(), 2U);
  // Three failures with three request ids: one error record; the 409 none.
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("vm1"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("HTTP 500"), std::string::npos) << errors[0];
}

TEST_F(VmSamplerTest, PeriodZeroSamplesNothing) {
  options.vm_metrics_period = milliseconds(0);
  VmSampler sampler(nova, journal, options, progress, clock);
  EXPECT_FALSE(sampler.enabled());
  sampler.start();
  sampler.watch("srv-1", "vm1");
  sampler.sample_round();
  sampler.unwatch("srv-1");
  sampler.stop();
  EXPECT_EQ(diagnostics_calls(), 0);
}

TEST_F(VmSamplerTest, TheLegSamplesItsVmsTwiceBeforeItsFirstMigrationAndOnceAfterEach) {
  options.settle = milliseconds(0);
  nova.script = [](fakes::FakeNova& n, auto t) {
    if (t < std::chrono::seconds(1)) {
      n.migrating("running", 500);
    } else {
      n.over("completed", n.dest());
    }
  };
  std::vector<Vm> vms = {{"srv-1", "vm1", "10.0.0.1", "52:54:00:00:00:01", "hostA"}};
  VmSampler sampler(nova, journal, options, progress, clock);
  MigrationDriver driver(nova, journal, options, progress, nullptr, clock);
  LegRunner runner(options, driver, journal, progress, nullptr, &sampler);
  StopRequest stop;
  const LegResult r = runner.run(Leg{1, "hostA", "hostB", "iteration 1/1"}, vms, stop);
  EXPECT_EQ(r.completed, 1U);
  std::vector<std::string> order;
  for (const auto& c : nova.calls) {
    if (c.rfind("diagnostics", 0) == 0 || c.rfind("live_migrate", 0) == 0) order.push_back(c);
  }
  ASSERT_GE(order.size(), 4U);
  EXPECT_EQ(order[0], "diagnostics srv-1");
  EXPECT_EQ(order[1], "diagnostics srv-1");
  EXPECT_EQ(order[2], "live_migrate srv-1 hostB");
  EXPECT_EQ(order.back(), "diagnostics srv-1");
  // Unwatched at the end of its settle time: no more samples of it.
  const int calls = diagnostics_calls();
  sampler.sample_round();
  EXPECT_EQ(diagnostics_calls(), calls);
}

}  // namespace
}  // namespace migprobe::orchestrator
