#pragma once
// A small Dataplane gRPC service for the control process's tests, served for real on a unix
// socket: it assigns flow ids, streams the events a test pushes, and can play a dataplane
// that restarts (a new pid), refuses the targets or refuses the event stream.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "migprobe/v1/dataplane.grpc.pb.h"

namespace migprobe::control {

inline std::string socket_path(const char* name) {
  return ::testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".sock";
}

class FakeDataplane final : public v1::Dataplane::Service {
 public:
  grpc::Status Configure(grpc::ServerContext*, const v1::ConfigureRequest* req,
                         v1::ConfigureReply* reply) override {
    ++configures;
    if (refuse_configure) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "flow id 1 is taken");
    }
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
  grpc::Status Stop(grpc::ServerContext*, const v1::StopRequest*, v1::StopReply*) override {
    return grpc::Status::OK;
  }
  grpc::Status GetStats(grpc::ServerContext*, const v1::StatsRequest*, v1::Stats* reply) override {
    const uint32_t p = pid;
    reply->set_pid(p);
    reply->set_process_started_ns(uint64_t{p} * 1000);
    reply->set_running(true);
    reply->set_outage_threshold_ns(2'000'000);
    reply->mutable_clock()->set_taken_ns(uint64_t{p} * 1'000'000);
    reply->mutable_clock()->set_tsc_hz(2'000'000'000);
    reply->mutable_clock()->set_rate_source("measured against CLOCK_MONOTONIC_RAW over 0.5 s");
    reply->mutable_clock()->set_drift_ns(-3);
    reply->mutable_clock()->set_realtime_step_total_ns(3'600'000'000'000);
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
    const uint64_t generation = generation_;
    while (!ctx->IsCancelled() && generation == generation_) {
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
  // Ends the streams open now (later ones stay open).
  void close_streams() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    changed_.notify_all();
  }

  std::atomic<uint32_t> pid{4242};
  std::atomic<bool> refuse_streams{false};
  std::atomic<bool> refuse_configure{false};
  std::atomic<int> configures{0};

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<v1::Event> queue_;
  uint64_t generation_ = 0;
};

// The fake served on a unix socket for the length of a test.
struct ServedFake {
  explicit ServedFake(const char* name) : path(socket_path(name)) {
    unlink(path.c_str());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
  }
  ~ServedFake() {
    if (server) server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    unlink(path.c_str());
  }
  std::string path;
  FakeDataplane service;
  std::unique_ptr<grpc::Server> server;
};

}  // namespace migprobe::control
