#pragma once
// The client of migprobe-dp's control API (proto/migprobe/v1/dataplane.proto) over its unix
// socket: configure targets and flows, start, stop, stats, and the event stream. Every call
// has a deadline, so a dataplane that died or hangs is an Error, never a hang; the event
// stream reports its end once, which is how a dead dataplane is noticed at once.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/result.h"
#include "migprobe/v1/dataplane.pb.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace migprobe::control {

// Where the dataplane listens and how long a call may take.
struct DataplaneOptions {
  // The unix socket migprobe-dp serves (its --control-socket).
  std::string socket_path;
  std::chrono::milliseconds call_timeout{5000};
};

// Talks to one migprobe-dp. Calls are thread-safe; one event stream at a time.
class DataplaneClient {
 public:
  explicit DataplaneClient(DataplaneOptions options);
  ~DataplaneClient();
  DataplaneClient(const DataplaneClient&) = delete;
  DataplaneClient& operator=(const DataplaneClient&) = delete;

  // Adds targets (replace: and removes every other); returns them with their flow ids.
  Result<v1::ConfigureReply> configure(const std::vector<v1::Target>& targets, bool replace);
  Result<v1::RemoveTargetsReply> remove_targets(const std::vector<std::string>& names);
  Result<v1::StartReply> start();
  Result<v1::StopReply> stop();
  Result<v1::Stats> stats(bool per_flow);

  // Called on the reader thread for each event.
  using EventHandler = std::function<void(const v1::Event&)>;
  // Called once on the reader thread when an open stream ends: the reason (the dataplane went
  // away, or stop_events was called: kind kTransport, message "stream closed by client").
  using EndHandler = std::function<void(const Error&)>;
  // Subscribes to events on a thread of its own. The stream is open when this returns
  // (events after it are not missed) or an Error says why it could not be opened.
  Status start_events(EventHandler on_event, EndHandler on_end);
  // Closes the stream and joins its thread; safe to call when none is open.
  void stop_events();

 private:
  // The RPC wrapper every unary call goes through: deadline, error translation.
  template <typename Request, typename Reply, typename Call>
  Result<Reply> unary(const char* what, const Request& request, Call call);

  const DataplaneOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  struct Stub;
  std::unique_ptr<Stub> stub_;
  // Guards stream_context_.
  std::mutex stream_mutex_;
  std::shared_ptr<grpc::ClientContext> stream_context_;
  std::thread reader_;
};

}  // namespace migprobe::control
