#include "control/dataplane_client.h"

#include <grpcpp/grpcpp.h>

#include <future>

#include "migprobe/v1/dataplane.grpc.pb.h"

namespace migprobe::control {

struct DataplaneClient::Stub {
  std::unique_ptr<v1::Dataplane::Stub> stub;
};

namespace {

// A gRPC failure as an Error naming the call and the socket.
Error rpc_error(const char* what, const std::string& socket, const grpc::Status& status) {
  std::string message = std::string("dataplane ") + what + " on unix:" + socket + ": ";
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      message += "not reachable (is migprobe-dp running with --control-socket?): ";
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      message += "no answer in time: ";
      break;
    default:
      break;
  }
  message += status.error_message();
  const ErrorKind kind = status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
                                 status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED
                             ? ErrorKind::kConfig
                             : ErrorKind::kTransport;
  return make_error(kind, std::move(message));
}

}  // namespace

DataplaneClient::DataplaneClient(DataplaneOptions options)
    : options_(std::move(options)), stub_(std::make_unique<Stub>()) {
  grpc::ChannelArguments args;
  // Reconnect quickly after a restart of the dataplane (the default backoff grows to 2 min).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  channel_ = grpc::CreateCustomChannel("unix:" + options_.socket_path,
                                       grpc::InsecureChannelCredentials(), args);
  stub_->stub = v1::Dataplane::NewStub(channel_);
}

DataplaneClient::~DataplaneClient() {
  stop_events();
}

template <typename Request, typename Reply, typename Call>
Result<Reply> DataplaneClient::unary(const char* what, const Request& request, Call call) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
  Reply reply;
  const grpc::Status status = (stub_->stub.get()->*call)(&context, request, &reply);
  if (!status.ok()) return rpc_error(what, options_.socket_path, status);
  return reply;
}

Result<v1::ConfigureReply> DataplaneClient::configure(const std::vector<v1::Target>& targets,
                                                      bool replace) {
  v1::ConfigureRequest request;
  for (const auto& t : targets) *request.add_targets() = t;
  request.set_replace(replace);
  return unary<v1::ConfigureRequest, v1::ConfigureReply>("Configure", request,
                                                         &v1::Dataplane::Stub::Configure);
}

Result<v1::RemoveTargetsReply> DataplaneClient::remove_targets(
    const std::vector<std::string>& names) {
  v1::RemoveTargetsRequest request;
  for (const auto& n : names) request.add_targets(n);
  return unary<v1::RemoveTargetsRequest, v1::RemoveTargetsReply>(
      "RemoveTargets", request, &v1::Dataplane::Stub::RemoveTargets);
}

Result<v1::StartReply> DataplaneClient::start() {
  return unary<v1::StartRequest, v1::StartReply>("Start", v1::StartRequest{},
                                                 &v1::Dataplane::Stub::Start);
}

Result<v1::StopReply> DataplaneClient::stop() {
  return unary<v1::StopRequest, v1::StopReply>("Stop", v1::StopRequest{},
                                               &v1::Dataplane::Stub::Stop);
}

Result<v1::Stats> DataplaneClient::stats(bool per_flow) {
  v1::StatsRequest request;
  request.set_per_flow(per_flow);
  return unary<v1::StatsRequest, v1::Stats>("GetStats", request, &v1::Dataplane::Stub::GetStats);
}

Status DataplaneClient::start_events(EventHandler on_event, EndHandler on_end) {
  stop_events();
  auto context = std::make_shared<grpc::ClientContext>();
  // Without a deadline the stream lives as long as the dataplane; a dead peer ends it.
  std::shared_ptr<grpc::ClientReader<v1::Event>> reader(
      stub_->stub->StreamEvents(context.get(), v1::StreamEventsRequest{}));
  // The stream is open once its initial metadata arrived (the server subscribed first);
  // a call that failed gives its status instead.
  struct Opened {
    bool subscribed = false;
    grpc::Status status;
  };
  std::promise<Opened> opened;
  auto opened_future = opened.get_future();
  {
    std::lock_guard<std::mutex> lock(stream_mutex_);
    stream_context_ = context;
  }
  reader_ = std::thread([this, context, reader, on_event = std::move(on_event),
                         on_end = std::move(on_end), opened = std::move(opened)]() mutable {
    reader->WaitForInitialMetadata();
    // The dataplane marks its initial metadata once it has subscribed this stream; a call
    // that failed has none.
    const auto& metadata = context->GetServerInitialMetadata();
    if (metadata.find("migprobe-subscribed") == metadata.end()) {
      // start_events reports it; the end handler is for streams that were open.
      opened.set_value(Opened{false, reader->Finish()});
      return;
    }
    opened.set_value(Opened{true, grpc::Status::OK});
    v1::Event event;
    while (reader->Read(&event)) on_event(event);
    const grpc::Status status = reader->Finish();
    bool cancelled = false;
    {
      std::lock_guard<std::mutex> lock(stream_mutex_);
      cancelled = stream_context_ == nullptr;
    }
    if (cancelled) {
      on_end(make_error(ErrorKind::kTransport, "stream closed by client"));
    } else if (status.ok()) {
      on_end(make_error(ErrorKind::kTransport,
                        "dataplane closed the event stream on unix:" + options_.socket_path +
                            " (it is shutting down)"));
    } else {
      on_end(rpc_error("event stream", options_.socket_path, status));
    }
  });
  if (opened_future.wait_for(options_.call_timeout) != std::future_status::ready) {
    stop_events();
    return make_error(ErrorKind::kTransport, "dataplane event stream on unix:" +
                                                 options_.socket_path + ": no answer in time");
  }
  const Opened result = opened_future.get();
  if (!result.subscribed) {
    // The reader has finished the failed call.
    if (reader_.joinable()) reader_.join();
    {
      std::lock_guard<std::mutex> lock(stream_mutex_);
      stream_context_ = nullptr;
    }
    if (!result.status.ok()) return rpc_error("event stream", options_.socket_path, result.status);
    return make_error(ErrorKind::kTransport,
                      "dataplane event stream on unix:" + options_.socket_path +
                          ": the server answered without subscribing the stream (not a "
                          "migprobe-dp of this version?)");
  }
  return Done{};
}

void DataplaneClient::stop_events() {
  std::shared_ptr<grpc::ClientContext> context;
  {
    std::lock_guard<std::mutex> lock(stream_mutex_);
    context = std::move(stream_context_);
    stream_context_ = nullptr;
  }
  if (context) context->TryCancel();
  if (reader_.joinable()) reader_.join();
}

}  // namespace migprobe::control
