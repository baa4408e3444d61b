// DataplaneClient against a real gRPC server on a unix socket (a small Dataplane service
// in the test), and against a socket nobody serves.

#include "control/dataplane_client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "migprobe/v1/dataplane.grpc.pb.h"

namespace migprobe::control {
namespace {

std::string socket_path(const char* name) {
  return testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".sock";
}

// A dataplane that assigns flow ids and streams the events a test pushes.
class FakeDataplane final : public v1::Dataplane::Service {
 public:
  grpc::Status Configure(grpc::ServerContext*, const v1::ConfigureRequest* req,
                         v1::ConfigureReply* reply) override {
    uint32_t next = 1;
    for (const auto& t : req->targets()) {
      v1::Target* out = reply->add_targets();
      *out = t;
      for (auto& f : *out->mutable_flows()) {
        if (f.flow_id() == 0) f.set_flow_id(next++);
      }
    }
    return grpc::Status::OK;
  }
  grpc::Status Start(grpc::ServerContext*, const v1::StartRequest*,
                     v1::StartReply* reply) override {
    reply->set_generation(7);
    return grpc::Status::OK;
  }
  grpc::Status GetStats(grpc::ServerContext*, const v1::StatsRequest*, v1::Stats* reply) override {
    reply->set_pid(4242);
    reply->set_running(true);
    return grpc::Status::OK;
  }
  grpc::Status StreamEvents(grpc::ServerContext* ctx, const v1::StreamEventsRequest*,
                            grpc::ServerWriter<v1::Event>* writer) override {
    if (refuse_streams) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many event subscribers");
    }
    ctx->AddInitialMetadata("migprobe-subscribed", "1");
    writer->SendInitialMetadata();
    std::unique_lock<std::mutex> lock(mutex_);
    while (!ctx->IsCancelled() && !closing_) {
      changed_.wait_for(lock, std::chrono::milliseconds(20));
      while (!queue_.empty()) {
        v1::Event e = queue_.front();
        queue_.pop_front();
        lock.unlock();
        writer->Write(e);
        lock.lock();
      }
    }
    return grpc::Status::OK;
  }
  void push(const v1::Event& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(e);
    changed_.notify_all();
  }
  std::atomic<bool> refuse_streams{false};

  void close_streams() {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<v1::Event> queue_;
  bool closing_ = false;
};

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
  const std::string path = socket_path("refusing-dp");
  unlink(path.c_str());
  FakeDataplane service;
  service.refuse_streams = true;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  DataplaneClient client({path, std::chrono::milliseconds(2000)});
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
  server->Shutdown();
  unlink(path.c_str());
}

TEST(DataplaneClient, ConfiguresStartsAndStreamsUntilTheServerGoes) {
  const std::string path = socket_path("fake-dp");
  unlink(path.c_str());
  FakeDataplane service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server);

  DataplaneClient client({path, std::chrono::milliseconds(2000)});
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
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !end_reason.empty(); }));
    EXPECT_NE(end_reason.find("dataplane"), std::string::npos) << end_reason;
  }
  client.stop_events();
  auto after = client.stats(false);
  EXPECT_FALSE(after.ok());
  unlink(path.c_str());
}

}  // namespace
}  // namespace migprobe::control
