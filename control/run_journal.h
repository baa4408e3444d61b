#pragma once
// The journal of a control run: analysis::JournalWriter made safe for the run's threads
// (the migration workers, the dataplane event reader) and flushed to the kernel every
// flush_interval by a thread of its own, so a crash of the control process loses at most
// that much (DESIGN.md "Outputs"; issue: at most the last second).

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "analysis/journal.h"
#include "control/result.h"

namespace migprobe::control {

// Appends records from any thread; flushes in the background.
class RunJournal {
 public:
  RunJournal() = default;
  ~RunJournal();
  RunJournal(const RunJournal&) = delete;
  RunJournal& operator=(const RunJournal&) = delete;

  // Opens (or continues) the journal at path and starts the flusher. A journal that cannot
  // be opened or written is ErrorKind::kIo, its message naming path.
  Status open(const std::string& path, const v1::JournalHeader& header,
              std::chrono::milliseconds flush_interval = std::chrono::milliseconds(250));
  // Appends one record. A write error is remembered (see error()) and reported once.
  void append(const v1::JournalRecord& record);
  // Appends an ErrorEvent stamped now (source: "nova", "dataplane", "control").
  void append_error(const std::string& source, const std::string& message);
  // Pushes everything to the kernel now; with sync, to the disk too.
  void flush(bool sync = false);
  // Flushes, syncs and closes; the flusher stops.
  void close();
  // The first write error, empty when none.
  std::string error() const;

 private:
  void flusher();
  // what + the path + errno's text.
  std::string failure(const char* what) const;

  std::string path_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  analysis::JournalWriter writer_;
  bool open_ = false;
  bool dirty_ = false;
  std::string error_;
  std::chrono::milliseconds flush_interval_{250};
  std::thread flusher_;
};

}  // namespace migprobe::control
