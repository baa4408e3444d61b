#include "analysis/capture_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace migprobe::analysis {

CaptureReader::~CaptureReader() {
  if (pcap_ != nullptr) pcap_close(pcap_);
}

base::Status CaptureReader::open(const std::string& path) {
  path_ = path;
  std::FILE* probe = std::fopen(path.c_str(), "rb");
  if (probe == nullptr) {
    return base::make_error(base::ErrorKind::kIo,
                            "cannot read capture " + path + ": " + std::strerror(errno));
  }
  uint32_t magic = 0;
  const size_t got = std::fread(&magic, 1, sizeof magic, probe);
  std::fclose(probe);
  if (got < sizeof magic) {
    return base::make_error(base::ErrorKind::kInvalid,
                            "capture " + path + " is empty or shorter than a file header");
  }
  format_ = magic == 0x0a0d0d0a ? "pcapng" : "pcap";
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_ = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  // The file was just read: what libpcap refuses here is its contents.
  if (pcap_ == nullptr) {
    return base::make_error(base::ErrorKind::kInvalid, "cannot read capture " + path + ": " + err);
  }
  const int dlt = pcap_datalink(pcap_);
  switch (dlt) {
    case DLT_EN10MB:
      link_ = LinkType::kEthernet;
      break;
    case DLT_LINUX_SLL:
      link_ = LinkType::kLinuxSll;
      break;
    case DLT_LINUX_SLL2:
      link_ = LinkType::kLinuxSll2;
      break;
    case DLT_RAW:
      link_ = LinkType::kRawIp;
      break;
    default: {
      const char* name = pcap_datalink_val_to_name(dlt);
      return base::make_error(
          base::ErrorKind::kInvalid,
          "capture " + path + ": unsupported link type " + std::to_string(dlt) + " (" +
              (name ? name : "unknown") +
              "); migprobe reads Ethernet, Linux cooked (tcpdump -i any) and raw IP captures");
    }
  }
  return base::Done{};
}

std::string CaptureReader::stop_message(const char* why) {
  long offset = -1;
  if (std::FILE* f = pcap_file(pcap_)) offset = std::ftell(f);
  struct stat st {};
  const long long size = stat(path_.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
  std::string msg = "capture " + path_ + " stopped after frame " + std::to_string(frames_);
  if (format_ == "pcap") {
    // 24-byte file header, then a 16-byte header per record.
    msg += ", whose record ends at byte " + std::to_string(24 + 16 * frames_ + frame_bytes_);
  }
  if (offset >= 0) {
    msg +=
        " (reading stopped at byte " + std::to_string(offset) + " of " + std::to_string(size) + ")";
  }
  msg += ": ";
  msg += why;
  return msg;
}

}  // namespace migprobe::analysis
