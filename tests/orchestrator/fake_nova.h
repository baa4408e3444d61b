#pragma once
// A fake Nova and a fake clock for the migration driver and the leg runner: Nova's states of
// a migration, set by a test's script by the time since the latest request, and failures
// injected by call ("live_migrate srv-2 hostB", "server_migrations", "abort 7").

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "control/migration_api.h"
#include "orchestrator/driver_clock.h"

namespace migprobe::orchestrator::fakes {

using std::chrono::milliseconds;

class FakeClock : public DriverClock {
 public:
  std::chrono::steady_clock::time_point now() override { return t_; }
  uint64_t realtime_ns() override {
    return 1'800'000'000'000'000'000ULL +
           static_cast<uint64_t>(
               std::chrono::duration_cast<std::chrono::nanoseconds>(t_.time_since_epoch()).count());
  }
  void sleep_for(milliseconds d) override { t_ += d; }

 private:
  std::chrono::steady_clock::time_point t_{};
};

constexpr int64_t kMigrationId = 7;

// Nova as the driver sees it, in the states the test gives it by the time since the request.
class FakeNova : public control::MigrationApi {
 public:
  explicit FakeNova(FakeClock& clock) : clock_(clock) {
    server_.id = "srv-1";
    server_.host = "hostA";
    server_.status = "ACTIVE";
  }

  // What Nova shows at a time after the request: set by each test.
  std::function<void(FakeNova&, std::chrono::steady_clock::duration)> script =
      [](FakeNova&, std::chrono::steady_clock::duration) {};
  // An error for the named call, or none.
  std::function<std::optional<control::Error>(const std::string&)> failing =
      [](const std::string&) { return std::nullopt; };
  std::vector<std::string> calls;

  // Nova's states.
  void migrating(const std::string& status, uint64_t processed) {
    server_.status = "MIGRATING";
    server_.task_state = "migrating";
    control::ServerMigration m;
    m.id = kMigrationId;
    m.uuid = "mig-uuid";
    m.status = status;
    m.dest_compute = dest_;
    m.memory_total_bytes = 1000;
    m.memory_processed_bytes = processed;
    m.memory_remaining_bytes = 1000 - processed;
    in_progress_ = {m};
  }
  void over(const std::string& status, const std::string& host) {
    server_.status = "ACTIVE";
    server_.task_state.clear();
    server_.host = host;
    in_progress_.clear();
    listed(status, dest_.empty() ? host : dest_);
  }
  // Nova's migration list (os-migrations) shows the migration of srv-1 from hostA to dest
  // in status; the server stays where it is.
  void listed(const std::string& status, const std::string& dest,
              const std::string& updated_at = "2026-12-01T10:00:05.000000") {
    control::Migration m;
    m.id = kMigrationId;
    m.uuid = "mig-uuid";
    m.instance_uuid = server_.id;
    m.status = status;
    m.migration_type = "live-migration";
    m.source_compute = "hostA";
    m.dest_compute = dest;
    m.created_at = "2026-12-01T10:00:00.000000";
    m.updated_at = updated_at;
    history_ = {m};
  }
  // The migration gone from Nova: no record of it, the server back where it was.
  void vanish() {
    server_.status = "ACTIVE";
    server_.task_state.clear();
    in_progress_.clear();
    history_.clear();
  }
  bool requested() const { return requested_.has_value(); }
  // Where the latest request sends the server.
  const std::string& dest() const { return dest_; }

  control::Result<control::Traced<control::Server>> server(const std::string&) override {
    if (auto e = enter("server")) return *e;
    return control::Traced<control::Server>{server_, "req-server"};
  }
  control::Result<control::Traced<control::Done>> live_migrate(
      const std::string& server_id, const control::LiveMigrateOptions& o) override {
    if (auto e = enter("live_migrate " + server_id + " " + o.host)) return *e;
    requested_ = clock_.now();
    dest_ = o.host;
    return control::Traced<control::Done>{{}, "req-live-migrate"};
  }
  control::Result<control::Traced<std::vector<control::ServerMigration>>> server_migrations(
      const std::string&) override {
    if (auto e = enter("server_migrations")) return *e;
    return control::Traced<std::vector<control::ServerMigration>>{in_progress_, "req-list"};
  }
  control::Result<control::Traced<control::Done>> force_complete(const std::string&,
                                                                 int64_t id) override {
    if (auto e = enter("force_complete " + std::to_string(id))) return *e;
    return control::Traced<control::Done>{{}, "req-force"};
  }
  control::Result<control::Traced<control::Done>> abort_migration(const std::string&,
                                                                  int64_t id) override {
    if (auto e = enter("abort " + std::to_string(id))) return *e;
    return control::Traced<control::Done>{{}, "req-abort"};
  }
  control::Result<control::Traced<std::vector<control::Migration>>> migrations(
      const control::MigrationFilter&) override {
    if (auto e = enter("migrations")) return *e;
    return control::Traced<std::vector<control::Migration>>{history_, "req-migrations"};
  }
  control::Result<control::Traced<control::InstanceAction>> instance_action(
      const std::string&, const std::string& request_id) override {
    if (auto e = enter("instance_action")) return *e;
    control::InstanceAction a;
    a.request_id = request_id;
    control::InstanceActionEvent ev;
    ev.event = "compute_pre_live_migration";
    ev.result = "Error";
    ev.details = "libvirt: Unable to pre-create chardev file\nmore";
    a.events.push_back(ev);
    return control::Traced<control::InstanceAction>{a, "req-action"};
  }
  // Diagnostics: cpu_ns_per_call of CPU time and nic_bytes_per_call received per call.
  uint64_t cpu_ns_per_call = 0;
  uint64_t nic_bytes_per_call = 0;
  control::Result<control::Traced<control::ServerDiagnostics>> diagnostics(
      const std::string& server_id) override {
    if (auto e = enter("diagnostics " + server_id)) return *e;
    ++diagnostics_calls_;
    control::ServerDiagnostics d;
    d.state = "running";
    d.num_cpus = 1;
    d.uptime = 100 + diagnostics_calls_;
    d.memory_maximum = 512;
    d.cpu_details.push_back({0, cpu_ns_per_call * diagnostics_calls_, 0});
    control::NicDiagnostics nic;
    nic.rx_octets = nic_bytes_per_call * diagnostics_calls_;
    d.nic_details.push_back(nic);
    return control::Traced<control::ServerDiagnostics>{d, "req-diagnostics"};
  }

 private:
  // Each call: the scripted state as of now, then the injected failure if any.
  std::optional<control::Error> enter(const std::string& call) {
    calls.push_back(call);
    if (requested_) script(*this, clock_.now() - *requested_);
    return failing(call);
  }

  FakeClock& clock_;
  std::optional<std::chrono::steady_clock::time_point> requested_;
  uint64_t diagnostics_calls_ = 0;
  std::string dest_;
  control::Server server_;
  std::vector<control::ServerMigration> in_progress_;
  std::vector<control::Migration> history_;
};

// A journal path of its own for the running test (removed if a run left one).
inline std::string fresh_journal_path(const std::string& prefix) {
  const std::string path = ::testing::TempDir() + "/" + prefix + "-" + std::to_string(getpid()) +
                           "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                           ".mpj";
  std::remove(path.c_str());
  return path;
}

}  // namespace migprobe::orchestrator::fakes
