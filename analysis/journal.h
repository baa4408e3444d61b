#pragma once
// The journal file: length-delimited migprobe.v1.JournalRecord messages, the first one a
// JournalHeader carrying the format version. Written append-only by the control process
// (flushed so that a crash loses at most the last second), read by migprobe-analyze.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "base/result.h"
#include "migprobe/v1/journal.pb.h"

namespace migprobe::analysis {

// The journal format this code writes and reads.
inline constexpr uint32_t kJournalFormatVersion = 1;

// Appends records to a journal.
class JournalWriter {
 public:
  JournalWriter() = default;
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Opens path for appending; writes header first when the file is new or empty. A file
  // that cannot be opened or written is ErrorKind::kIo, its message naming path.
  base::Status open(const std::string& path, const v1::JournalHeader& header);
  // Appends one record (buffered). False on a write error.
  bool append(const v1::JournalRecord& record);
  // Pushes buffered records to the kernel; with sync, also to the disk.
  bool flush(bool sync = false);
  bool close();

 private:
  std::FILE* file_ = nullptr;
  std::string buffer_;
};

// What a journal held.
struct JournalContents {
  v1::JournalHeader header;
  std::vector<v1::JournalRecord> records;
  // Set when reading stopped early (a record cut short by a crash): what and where. The
  // records before it are kept.
  std::string warning;
  // The bytes of whole records from the start of the file (the header included): the file's
  // size unless reading stopped early.
  uint64_t whole_bytes = 0;
};

// Reads a whole journal (on success possibly with a warning in contents). The error names
// the file and what was wrong: ErrorKind::kIo when it cannot be opened or read, kInvalid
// when it is not a journal (or is empty) or has a format version this code does not read.
base::Status read_journal(const std::string& path, JournalContents* contents);

// Before appending to a journal a crash left behind: reads it and cuts a torn last record
// (the bytes after contents->whole_bytes), so that new records follow whole ones. message
// says what was cut ("" when nothing). The error is read_journal's, or kIo when the file
// cannot be cut.
base::Status cut_torn_tail(const std::string& path, JournalContents* contents,
                           std::string* message);

}  // namespace migprobe::analysis
