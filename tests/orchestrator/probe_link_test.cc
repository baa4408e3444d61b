// ProbeLink against the fake dataplane served for real: what it journals at the start, and
// a dataplane that restarts and refuses the targets for a while (the refusal is journaled
// once, not at every retry; the restarted process's settings and clock are journaled).

#include "orchestrator/probe_link.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "analysis/journal.h"
#include "tests/orchestrator/fake_dataplane.h"

namespace migprobe::orchestrator {
namespace {

using control::ServedFake;

struct Journaled {
  int probe_settings = 0;
  int calibrations = 0;
  int refusals = 0;
  int coverage_gaps = 0;
  std::vector<uint32_t> probe_pids;
};

Journaled read_back(const std::string& path) {
  analysis::JournalContents j;
  base::Status read = analysis::read_journal(path, &j);
  EXPECT_TRUE(read.ok()) << read.error().message;
  Journaled out;
  for (const auto& r : j.records) {
    if (r.has_probe()) {
      ++out.probe_settings;
      out.probe_pids.push_back(r.probe().pid());
    }
    out.calibrations += r.has_calibration();
    if (r.has_calibration()) {
      // The whole clock record, not only the rate: where it came from, drift, steps.
      EXPECT_EQ(r.calibration().rate_source(), "measured against CLOCK_MONOTONIC_RAW over 0.5 s");
      EXPECT_EQ(r.calibration().drift_ns(), -3);
      EXPECT_EQ(r.calibration().realtime_step_total_ns(), 3'600'000'000'000);
    }
    out.coverage_gaps += r.has_coverage_gap();
    if (r.has_error() && r.error().message().find("refused the targets") != std::string::npos) {
      ++out.refusals;
      EXPECT_NE(r.error().message().find("flow id 1 is taken"), std::string::npos);
    }
  }
  return out;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

TEST(ProbeLink, ARestartedDataplaneThatRefusesTheTargetsIsJournaledOnce) {
  ServedFake fake("probe-link");
  ASSERT_TRUE(fake.server);
  const std::string journal_path = fake.path + ".mpj";
  std::filesystem::remove(journal_path);
  {
    control::RunJournal journal;
    ASSERT_TRUE(journal.open(journal_path, v1::JournalHeader{}).ok());
    std::vector<std::string> notices;
    std::mutex notices_mutex;
    ProbeLink link(control::DataplaneOptions{fake.path, std::chrono::milliseconds(2000)}, journal,
                   nullptr, [&](const std::string& text) {
                     std::lock_guard<std::mutex> lock(notices_mutex);
                     notices.push_back(text);
                   });
    v1::Target t;
    t.set_name("vm1");
    t.set_ip("10.77.0.11");
    t.add_flows()->set_kind(v1::FLOW_KIND_ICMP_ECHO);
    ASSERT_TRUE(link.start({t}).ok());
    ASSERT_TRUE(link.healthy());

    // The dataplane restarts (new pid) and refuses the targets: retried every 250 ms.
    fake.service.refuse_configure = true;
    fake.service.pid = 5151;
    fake.service.close_streams();
    ASSERT_TRUE(wait_for([&] { return fake.service.configures >= 6; }, std::chrono::seconds(10)))
        << fake.service.configures;
    EXPECT_FALSE(link.healthy());
    // It accepts them again: probing resumes.
    fake.service.refuse_configure = false;
    EXPECT_TRUE(link.wait_healthy(std::chrono::seconds(10), [] { return false; }));
    link.finish(std::chrono::milliseconds(0));
    std::lock_guard<std::mutex> lock(notices_mutex);
    int refusal_notices = 0;
    for (const auto& n : notices) refusal_notices += n.find("refused the targets") != n.npos;
    EXPECT_EQ(refusal_notices, 1);
  }
  const Journaled j = read_back(journal_path);
  EXPECT_EQ(j.refusals, 1);
  // At the start and after the restart: the settings and the clock of each process.
  EXPECT_EQ(j.probe_pids, (std::vector<uint32_t>{4242, 5151}));
  EXPECT_EQ(j.calibrations, 2);
  EXPECT_EQ(j.coverage_gaps, 1);
  std::filesystem::remove(journal_path);
}

}  // namespace
}  // namespace migprobe::orchestrator
