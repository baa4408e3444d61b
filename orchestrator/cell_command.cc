#include "orchestrator/cell_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"

namespace migprobe::orchestrator {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kKillGrace = std::chrono::seconds(2);

void keep_tail(std::string* out, const char* data, size_t n) {
  out->append(data, n);
  if (out->size() > 2 * kCommandOutputTail) out->erase(0, out->size() - kCommandOutputTail);
}

// One read of what fd has within wait_ms: the bytes read (0: none yet), -1 once it closed.
ssize_t drain(int fd, int wait_ms, std::string* out) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, wait_ms) <= 0) return 0;
  char buf[4096];
  const ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0) keep_tail(out, buf, static_cast<size_t>(n));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  return n > 0 ? n : -1;
}

}  // namespace

v1::CommandResult run_cell_command(const v1::CellCommand& command) {
  v1::CommandResult r;
  for (const auto& a : command.argv()) r.add_argv(a);
  r.set_started_ns(base::realtime_ns());
  r.set_exit_status(-1);
  if (command.argv().empty()) {
    r.set_error("no command given");
    r.set_finished_ns(r.started_ns());
    return r;
  }
  std::vector<std::string> args(command.argv().begin(), command.argv().end());
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  // The child reports a failed exec through this pipe (closed on a successful exec).
  int status_pipe[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(status_pipe, O_CLOEXEC) != 0) {
    r.set_error(std::string("pipe: ") + std::strerror(errno));
    r.set_finished_ns(base::realtime_ns());
    return r;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    r.set_error(std::string("fork: ") + std::strerror(errno));
    for (int fd : {out[0], out[1], status_pipe[0], status_pipe[1]}) close(fd);
    r.set_finished_ns(base::realtime_ns());
    return r;
  }
  if (pid == 0) {
    setpgid(0, 0);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv.data());
    const int e = errno;
    const ssize_t ignored = write(status_pipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  close(out[1]);
  close(status_pipe[1]);
  int exec_errno = 0;
  const bool exec_failed = read(status_pipe[0], &exec_errno, sizeof exec_errno) ==
                           static_cast<ssize_t>(sizeof exec_errno);
  close(status_pipe[0]);

  std::string output;
  const auto started = Clock::now();
  const auto timeout = std::chrono::nanoseconds(command.has_timeout_ns() ? command.timeout_ns()
                                                                         : 600'000'000'000ULL);
  bool open_out = true;
  bool exited = false;
  int status = 0;
  std::optional<Clock::time_point> termed;
  while (!exited) {
    if (open_out) {
      open_out = drain(out[0], 100, &output) >= 0;
    } else {
      usleep(50'000);
    }
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) exited = true;
    const auto now = Clock::now();
    if (!exited && !termed && now - started > timeout) {
      r.set_timed_out(true);
      kill(-pid, SIGTERM);
      termed = now;
    } else if (!exited && termed && now - *termed > kKillGrace) {
      kill(-pid, SIGKILL);
    }
  }
  // What is still buffered (the command's children may hold the pipe: do not wait for them).
  while (open_out && drain(out[0], 0, &output) > 0) {
  }
  close(out[0]);
  if (output.size() > kCommandOutputTail) output.erase(0, output.size() - kCommandOutputTail);
  r.set_output(output);
  r.set_finished_ns(base::realtime_ns());
  if (exec_failed) {
    r.set_error("could not start " + args[0] + ": " + std::strerror(exec_errno));
  } else if (WIFEXITED(status)) {
    r.set_exit_status(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    r.set_error(std::string("killed by signal ") + std::to_string(WTERMSIG(status)) +
                (r.timed_out() ? " (timed out)" : ""));
  }
  return r;
}

bool command_succeeded(const v1::CommandResult& result) {
  return result.error().empty() && !result.timed_out() && result.exit_status() == 0;
}

std::string command_summary(const v1::CommandResult& r) {
  char took[32];
  std::snprintf(took, sizeof took, "%.1f s",
                static_cast<double>(r.finished_ns() - r.started_ns()) / 1e9);
  if (r.timed_out()) return std::string("timed out after ") + took;
  if (!r.error().empty()) return r.error();
  return "exit " + std::to_string(r.exit_status()) + " after " + took;
}

}  // namespace migprobe::orchestrator
