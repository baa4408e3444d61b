#pragma once
// Writes captures as pcapng (nanosecond timestamps, one Ethernet interface) or classic
// pcap with the nanosecond magic. Used by the capture generator and by the dataplane's
// capture thread; readable by libpcap, tcpdump and Wireshark. Buffered: call flush() to
// make everything written so far durable on disk.

#include <cstdint>
#include <cstdio>
#include <string>

#include "base/result.h"

namespace migprobe::analysis {

enum class CaptureFormat : uint8_t { kPcapng, kPcapNano };

// One capture file being written.
class CaptureWriter {
 public:
  CaptureWriter() = default;
  ~CaptureWriter();
  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  // Creates (truncates) path and writes the file header. A file that cannot be created or
  // written is ErrorKind::kIo, its message naming path.
  base::Status open(const std::string& path, CaptureFormat format, uint32_t snaplen = 65535,
                    const std::string& interface_name = "");
  // Appends one frame captured at ts_ns (ns since the Unix epoch); frames longer than the
  // snaplen are cut, keeping their original length. False on a write error.
  bool write(uint64_t ts_ns, const uint8_t* frame, uint32_t len);
  // Pushes buffered frames to the kernel; with sync, also to the disk.
  bool flush(bool sync = false);
  // Flushes and closes; safe to call twice.
  bool close();

  bool is_open() const { return file_ != nullptr; }
  uint64_t bytes_written() const { return bytes_; }
  uint64_t frames_written() const { return frames_; }
  const std::string& path() const { return path_; }

 private:
  bool put(const void* p, size_t n);

  std::FILE* file_ = nullptr;
  CaptureFormat format_ = CaptureFormat::kPcapng;
  uint32_t snaplen_ = 65535;
  uint64_t bytes_ = 0;
  uint64_t frames_ = 0;
  std::string path_;
};

}  // namespace migprobe::analysis
