#pragma once
// The gRPC face of the control thread: migprobe.v1.Dataplane on a unix socket (mode 0600).
// Handlers run on gRPC's threads and hand every request to ProbeControl::call, so only the
// control thread touches the rings to the lcores.

#include <memory>
#include <string>

namespace grpc {
class Server;
}

namespace migprobe::dataplane {

class ProbeControl;

// A running server; stops (and cancels event streams) when destroyed.
class ControlServer {
 public:
  ControlServer();
  ~ControlServer();
  // Starts serving on unix:path; returns an error message or "".
  std::string start(const std::string& path, ProbeControl* control);
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace migprobe::dataplane
