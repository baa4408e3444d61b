// DataplaneClient against a real gRPC server on a unix socket (a small Dataplane service
// in the test), and against a socket nobody serves.

#include "control/dataplane_client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "tests/orchestrator/fake_dataplane.h"

namespace migprobe::control {
namespace {

TEST(DataplaneClient, ADeadDataplaneIsAnErrorNotAHang) {
  const std::string path = socket_path("nobody");
  DataplaneClient client({path, std::chrono::milliseconds(500)});
  const auto t0 = std::chrono::steady_clock::now();
  auto stats = client.stats(false);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().kind, ErrorKind::kTransport);
  EXPECT_NE(stats.error().message.find(path), std::string::npos) << stats.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  auto events = client.start_events([](const v1::Event&) {}, [](const Error&) {});
  ASSERT_FALSE(events.ok());
  EXPECT_NE(events.error().message.find("event stream on unix:" + path + ": not reachable"),
            std::string::npos)
      << events.error().message;
}

TEST(DataplaneClient, ARefusedStreamSaysWhatTheDataplaneSaid) {
  ServedFake fake("refusing-dp");
  ASSERT_TRUE(fake.server);
  fake.service.refuse_streams = true;
  DataplaneClient client({fake.path, std::chrono::milliseconds(2000)});
  bool ended = false;
  auto events =
      client.start_events([](const v1::Event&) {}, [&ended](const Error&) { ended = true; });
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.error().kind, ErrorKind::kConfig);
  EXPECT_NE(events.error().message.find("too many event subscribers"), std::string::npos)
      << events.error().message;
  EXPECT_EQ(events.error().message.find("not reachable"), std::string::npos)
      << events.error().message;
  // The end handler is for streams that were open.
  EXPECT_FALSE(ended);
}

TEST(DataplaneClient, ConfiguresStartsAndStreamsUntilTheServerGoes) {
  ServedFake fake("fake-dp");
  ASSERT_TRUE(fake.server);
  FakeDataplane& service = fake.service;

  DataplaneClient client({fake.path, std::chrono::milliseconds(2000)});
  v1::Target t;
  t.set_name("vm1");
  t.set_ip("10.77.0.11");
  t.add_flows()->set_kind(v1::FLOW_KIND_ICMP_ECHO);
  t.add_flows()->set_kind(v1::FLOW_KIND_UDP_REFLECT);
  auto configured = client.configure({t}, true);
  ASSERT_TRUE(configured.ok()) << configured.error().message;
  ASSERT_EQ(configured->targets_size(), 1);
  EXPECT_EQ(configured->targets(0).flows(0).flow_id(), 1u);
  EXPECT_EQ(configured->targets(0).flows(1).flow_id(), 2u);
  auto started = client.start();
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(started->generation(), 7u);
  auto stats = client.stats(true);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pid(), 4242u);

  std::mutex mutex;
  std::condition_variable cv;
  std::vector<v1::Event> seen;
  std::string end_reason;
  ASSERT_TRUE(client
                  .start_events(
                      [&](const v1::Event& e) {
                        std::lock_guard<std::mutex> lock(mutex);
                        seen.push_back(e);
                        cv.notify_all();
                      },
                      [&](const Error& e) {
                        std::lock_guard<std::mutex> lock(mutex);
                        end_reason = e.message;
                        cv.notify_all();
                      })
                  .ok());
  // Pushed right after start_events returned: must not be missed.
  v1::Event gap;
  gap.mutable_gap()->set_target("vm1");
  gap.mutable_gap()->set_estimate_ns(31'000'000);
  service.push(gap);
  v1::Event announce;
  announce.mutable_announce()->set_mac("52:54:00:77:00:11");
  service.push(announce);
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return seen.size() == 2; }));
    EXPECT_EQ(seen[0].gap().estimate_ns(), 31'000'000u);
    EXPECT_EQ(seen[1].announce().mac(), "52:54:00:77:00:11");
  }
  // The dataplane goes away: the end is reported once, with a reason.
  service.close_streams();
  fake.server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !end_reason.empty(); }));
    EXPECT_NE(end_reason.find("dataplane"), std::string::npos) << end_reason;
  }
  client.stop_events();
  auto after = client.stats(false);
  EXPECT_FALSE(after.ok());
}

}  // namespace
}  // namespace migprobe::control
