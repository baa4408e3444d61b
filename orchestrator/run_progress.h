#pragma once
// Progress on the terminal: one line per event of the run (iteration, VM, phase, bytes),
// prefixed with the time, written whole so parallel migrations do not interleave.

#include <mutex>
#include <string>

namespace migprobe::orchestrator {

// Writes progress lines to stderr unless quiet; problems always.
class RunProgress {
 public:
  explicit RunProgress(bool quiet) : quiet_(quiet) {}
  // A progress line: not written when quiet.
  void line(const std::string& text);
  // Something the operator must see (the run cannot start or lost output): written even
  // when quiet.
  void problem(const std::string& text);

 private:
  void write(const std::string& text);

  const bool quiet_;
  std::mutex mutex_;
};

// "12.3 MiB" for a byte count.
std::string mib_text(uint64_t bytes);
// "12.3 s" for a duration in nanoseconds.
std::string seconds_text(uint64_t ns);

}  // namespace migprobe::orchestrator
