#include "dataplane/control_service.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

#include "analysis/flow_proto.h"
#include "base/ipv4.h"
#include "dataplane/probe_control.h"
#include "migprobe/v1/dataplane.grpc.pb.h"

namespace migprobe::dataplane {

namespace {

// Converts a proto Target to the dataplane's; error message or "".
std::string from_proto(const v1::Target& t, TargetParams* out) {
  const auto ip = base::parse_ipv4(t.ip());
  if (!ip) return "target '" + t.name() + "': ip '" + t.ip() + "' is not IPv4";
  out->ip = *ip;
  out->name = t.name().empty() ? t.ip() : t.name();
  if (!t.mac().empty()) {
    analysis::MacAddress mac;
    if (!analysis::parse_mac(t.mac(), &mac)) return "target '" + out->name + "': bad mac";
    out->mac = mac;
  }
  if (t.vlan() > 4094) return "target '" + out->name + "': vlan must be 0..4094";
  out->vlan = static_cast<uint16_t>(t.vlan());
  for (const v1::FlowSpec& f : t.flows()) {
    base::Result<FlowParams> p = analysis::from_proto(f);
    if (!p) return "target '" + out->name + "': " + p.error().message;
    out->flows.push_back(*p);
  }
  if (out->flows.empty()) return "target '" + out->name + "': no flows";
  return "";
}

class Service final : public v1::Dataplane::Service {
 public:
  explicit Service(ProbeControl* c) : c_(c) {}
  std::atomic<bool> stopping{false};

  grpc::Status Configure(grpc::ServerContext*, const v1::ConfigureRequest* req,
                         v1::ConfigureReply* reply) override {
    std::vector<TargetParams> targets;
    for (const auto& t : req->targets()) {
      TargetParams p;
      const std::string err = from_proto(t, &p);
      if (!err.empty()) return {grpc::StatusCode::INVALID_ARGUMENT, err};
      targets.push_back(p);
    }
    base::Status done = base::Done{};
    if (!c_->call([&] { done = c_->configure(targets, req->replace(), reply); })) {
      return shutting_down();
    }
    if (done) return grpc::Status::OK;
    // A full flow table is a resource; anything else is the request's own fault.
    return {done.error().kind == base::ErrorKind::kExhausted ? grpc::StatusCode::RESOURCE_EXHAUSTED
                                                             : grpc::StatusCode::INVALID_ARGUMENT,
            done.error().message};
  }

  grpc::Status RemoveTargets(grpc::ServerContext*, const v1::RemoveTargetsRequest* req,
                             v1::RemoveTargetsReply* reply) override {
    std::vector<std::string> names(req->targets().begin(), req->targets().end());
    if (!c_->call([&] { reply->set_removed(c_->remove_targets(names)); })) {
      return shutting_down();
    }
    return grpc::Status::OK;
  }

  grpc::Status Start(grpc::ServerContext*, const v1::StartRequest*,
                     v1::StartReply* reply) override {
    if (!c_->call([&] { reply->set_generation(c_->start()); })) return shutting_down();
    reply->set_started_ns(realtime_ns());
    return grpc::Status::OK;
  }

  grpc::Status Stop(grpc::ServerContext*, const v1::StopRequest*, v1::StopReply* reply) override {
    if (!c_->call([&] { c_->stop(); })) return shutting_down();
    reply->set_stopped_ns(realtime_ns());
    return grpc::Status::OK;
  }

  grpc::Status GetStats(grpc::ServerContext*, const v1::StatsRequest* req,
                        v1::Stats* out) override {
    if (!c_->call([&] { c_->stats(req->per_flow(), out); })) return shutting_down();
    return grpc::Status::OK;
  }

  grpc::Status StreamEvents(grpc::ServerContext* ctx, const v1::StreamEventsRequest*,
                            grpc::ServerWriter<v1::Event>* writer) override {
    std::shared_ptr<EventQueue> q;
    if (!c_->call([&] { q = c_->subscribe(); })) return shutting_down();
    // Tells the client the subscription exists: events from now on reach it.
    ctx->AddInitialMetadata("migprobe-subscribed", "1");
    writer->SendInitialMetadata();
    v1::Event e;
    while (!ctx->IsCancelled() && !stopping.load()) {
      if (q->pop(&e, 200)) {
        if (!writer->Write(e)) break;
      } else if (q->closed()) {
        break;
      }
    }
    q->close();
    return grpc::Status::OK;
  }

 private:
  static grpc::Status shutting_down() {
    return {grpc::StatusCode::UNAVAILABLE, "migprobe-dp is shutting down"};
  }

  ProbeControl* c_;
};

}  // namespace

struct ControlServer::Impl {
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
};

ControlServer::ControlServer() = default;
ControlServer::~ControlServer() {
  shutdown();
}

std::string ControlServer::start(const std::string& path, ProbeControl* control) {
  impl_ = std::make_unique<Impl>();
  impl_->service = std::make_unique<Service>(control);
  unlink(path.c_str());
  // The socket is created 0600 (no window where others could connect).
  const mode_t old = umask(0077);
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  b.RegisterService(impl_->service.get());
  impl_->server = b.BuildAndStart();
  umask(old);
  if (!impl_->server) return "cannot serve the control API on unix:" + path;
  chmod(path.c_str(), 0600);
  return "";
}

void ControlServer::shutdown() {
  if (impl_ && impl_->server) {
    impl_->service->stopping = true;
    impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    impl_->server.reset();
  }
}

}  // namespace migprobe::dataplane
