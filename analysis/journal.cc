#include "analysis/journal.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

namespace migprobe::analysis {
namespace {

// Appends the varint size and the serialized record.
void encode_delimited(const v1::JournalRecord& record, std::string* out) {
  const std::string body = record.SerializeAsString();
  uint64_t n = body.size();
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
  out->append(body);
}

}  // namespace

JournalWriter::~JournalWriter() {
  close();
}

base::Status JournalWriter::open(const std::string& path, const v1::JournalHeader& header) {
  close();
  file_ = std::fopen(path.c_str(), "ab");
  if (file_ == nullptr) {
    return base::make_error(base::ErrorKind::kIo,
                            "cannot open journal " + path + ": " + std::strerror(errno));
  }
  std::fseek(file_, 0, SEEK_END);
  if (std::ftell(file_) == 0) {
    v1::JournalRecord r;
    *r.mutable_header() = header;
    r.mutable_header()->set_format_version(kJournalFormatVersion);
    if (!append(r) || !flush(true)) {
      std::string err = "cannot write journal " + path + ": " + std::strerror(errno);
      close();
      return base::make_error(base::ErrorKind::kIo, std::move(err));
    }
  }
  return base::Done{};
}

bool JournalWriter::append(const v1::JournalRecord& record) {
  if (file_ == nullptr) return false;
  buffer_.clear();
  encode_delimited(record, &buffer_);
  return std::fwrite(buffer_.data(), 1, buffer_.size(), file_) == buffer_.size();
}

bool JournalWriter::flush(bool sync) {
  if (file_ == nullptr) return true;
  if (std::fflush(file_) != 0) return false;
  return !sync || fdatasync(fileno(file_)) == 0;
}

bool JournalWriter::close() {
  if (file_ == nullptr) return true;
  const bool ok = flush(true);
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  return ok && closed;
}

base::Status read_journal(const std::string& path, JournalContents* contents) {
  auto invalid = [&path](const std::string& what) {
    return base::make_error(base::ErrorKind::kInvalid, "journal " + path + ": " + what);
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return base::make_error(base::ErrorKind::kIo,
                            "cannot open journal " + path + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  google::protobuf::io::ArrayInputStream raw(data.data(), static_cast<int>(data.size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  uint64_t index = 0;
  while (true) {
    const int offset = coded.CurrentPosition();
    contents->whole_bytes = static_cast<uint64_t>(offset);
    if (static_cast<size_t>(offset) == data.size()) break;
    uint32_t size = 0;
    v1::JournalRecord record;
    bool ok = coded.ReadVarint32(&size);
    if (ok) {
      const auto limit = coded.PushLimit(static_cast<int>(size));
      ok = size <= data.size() - static_cast<size_t>(coded.CurrentPosition()) &&
           record.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
      coded.PopLimit(limit);
    }
    if (!ok) {
      const std::string where =
          "record " + std::to_string(index + 1) + " at byte " + std::to_string(offset);
      if (index == 0) return invalid("not a migprobe journal (" + where + " unreadable)");
      contents->warning = "journal " + path + ": stopped at " + where +
                          " (cut short or corrupt); " + std::to_string(index) + " records read";
      break;
    }
    if (index == 0) {
      if (!record.has_header()) {
        return invalid("not a migprobe journal (first record is not a header)");
      }
      if (record.header().format_version() != kJournalFormatVersion) {
        return invalid("format version " + std::to_string(record.header().format_version()) +
                       ", this migprobe reads version " + std::to_string(kJournalFormatVersion));
      }
      contents->header = record.header();
    } else {
      contents->records.push_back(std::move(record));
    }
    ++index;
  }
  if (index == 0) return invalid("empty file");
  return base::Done{};
}

base::Status cut_torn_tail(const std::string& path, JournalContents* contents,
                           std::string* message) {
  message->clear();
  if (base::Status read = read_journal(path, contents); !read) return read;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return base::make_error(base::ErrorKind::kIo,
                            "cannot stat journal " + path + ": " + std::strerror(errno));
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size <= contents->whole_bytes) return base::Done{};
  if (truncate(path.c_str(), static_cast<off_t>(contents->whole_bytes)) != 0) {
    return base::make_error(base::ErrorKind::kIo, "cannot cut the torn end of journal " + path +
                                                      ": " + std::strerror(errno));
  }
  *message = contents->warning + "; the last " + std::to_string(size - contents->whole_bytes) +
             " bytes (a record cut short) were removed before appending";
  contents->warning.clear();
  return base::Done{};
}

}  // namespace migprobe::analysis
