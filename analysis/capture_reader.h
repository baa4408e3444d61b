#pragma once
// Reads pcap and pcapng files with libpcap, keeping nanosecond timestamps, and says
// clearly what went wrong: a missing file, an unsupported link type, a file cut short.

#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "analysis/packet.h"
#include "base/result.h"

namespace migprobe::analysis {

// One capture file open for reading.
class CaptureReader {
 public:
  CaptureReader() = default;
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  // Opens path. The error names the file and the problem: ErrorKind::kIo when it cannot be
  // opened, kInvalid when it is shorter than a file header, libpcap does not read it as a
  // capture, or its link type is not one migprobe reads.
  base::Status open(const std::string& path);

  // Calls on_frame(ts_ns, data, caplen, wirelen) for every frame. Returns an empty string
  // when the whole file was read, else where and why reading stopped (the frames before
  // that point have been delivered). Not an error: a capture cut short still gives a
  // report of what it holds, and this text goes into it.
  template <typename OnFrame>
  std::string for_each(OnFrame&& on_frame);

  LinkType link() const { return link_; }
  // "pcap" or "pcapng".
  const std::string& format() const { return format_; }
  uint64_t frames() const { return frames_; }

 private:
  std::string stop_message(const char* why);

  pcap_t* pcap_ = nullptr;
  std::string path_;
  std::string format_;
  LinkType link_ = LinkType::kEthernet;
  uint64_t frames_ = 0;
  // Captured bytes of the frames read: where the last whole record ends, for classic pcap.
  uint64_t frame_bytes_ = 0;
};

template <typename OnFrame>
std::string CaptureReader::for_each(OnFrame&& on_frame) {
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  while (true) {
    const int rc = pcap_next_ex(pcap_, &hdr, &data);
    if (rc == 1) {
      ++frames_;
      // With nanosecond precision libpcap puts nanoseconds in tv_usec.
      const uint64_t ts = static_cast<uint64_t>(hdr->ts.tv_sec) * 1'000'000'000ULL +
                          static_cast<uint64_t>(hdr->ts.tv_usec);
      on_frame(ts, data, hdr->caplen, hdr->len);
      frame_bytes_ += hdr->caplen;
      continue;
    }
    if (rc == PCAP_ERROR_BREAK) return {};
    return stop_message(pcap_geterr(pcap_));
  }
}

}  // namespace migprobe::analysis
