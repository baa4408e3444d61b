#include "control/run_journal.h"

#include <cerrno>
#include <cstring>

#include "base/clock.h"

namespace migprobe::control {

std::string RunJournal::failure(const char* what) const {
  return what + path_ + ": " + std::strerror(errno);
}

RunJournal::~RunJournal() {
  close();
}

Status RunJournal::open(const std::string& path, const v1::JournalHeader& header,
                        std::chrono::milliseconds flush_interval) {
  close();
  std::lock_guard<std::mutex> lock(mutex_);
  if (Status opened = writer_.open(path, header); !opened) return opened;
  // The header reaches the disk before anything else is written.
  if (!writer_.flush(true)) return make_error(ErrorKind::kIo, "cannot write journal " + path);
  path_ = path;
  open_ = true;
  error_.clear();
  flush_interval_ = flush_interval;
  flusher_ = std::thread([this] { flusher(); });
  return Done{};
}

void RunJournal::append(const v1::JournalRecord& record) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return;
  if (!writer_.append(record) && error_.empty()) error_ = failure("cannot append to journal ");
  dirty_ = true;
}

void RunJournal::append_error(const std::string& source, const std::string& message) {
  v1::JournalRecord r;
  r.mutable_error()->set_seen_ns(base::realtime_ns());
  r.mutable_error()->set_source(source);
  r.mutable_error()->set_message(message);
  append(r);
}

void RunJournal::flush(bool sync) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return;
  if (!writer_.flush(sync) && error_.empty()) error_ = failure("cannot flush journal ");
  dirty_ = false;
}

void RunJournal::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return;
    open_ = false;
  }
  wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  if (!writer_.flush(true) && error_.empty()) error_ = failure("cannot flush journal ");
  writer_.close();
}

std::string RunJournal::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

void RunJournal::flusher() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (open_) {
    wake_.wait_for(lock, flush_interval_, [this] { return !open_; });
    if (dirty_) {
      if (!writer_.flush(false) && error_.empty()) error_ = failure("cannot flush journal ");
      dirty_ = false;
    }
  }
}

}  // namespace migprobe::control
