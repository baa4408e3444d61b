#include "analysis/capture_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace migprobe::analysis {
namespace {

constexpr uint32_t kBlockShb = 0x0a0d0d0a;
constexpr uint32_t kBlockIdb = 0x00000001;
constexpr uint32_t kBlockEpb = 0x00000006;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptIfName = 2;
constexpr uint16_t kOptIfTsresol = 9;
constexpr uint16_t kLinkEthernet = 1;
constexpr uint32_t kPcapNanoMagic = 0xa1b23c4d;

uint32_t pad4(uint32_t n) {
  return (n + 3) & ~3U;
}

// Appends raw host-order values; pcapng and pcap are written in the host's byte order,
// which their magic numbers let readers detect.
template <typename T>
void append(std::vector<uint8_t>* b, T v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b->insert(b->end(), p, p + sizeof v);
}

void append_option(std::vector<uint8_t>* b, uint16_t code, const void* value, uint16_t len) {
  append(b, code);
  append(b, len);
  const auto* p = static_cast<const uint8_t*>(value);
  b->insert(b->end(), p, p + len);
  b->resize(b->size() + (pad4(len) - len), 0);
}

// Wraps a block body in type, total length (twice) as pcapng requires.
std::vector<uint8_t> block(uint32_t type, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> b;
  const auto total = static_cast<uint32_t>(body.size() + 12);
  append(&b, type);
  append(&b, total);
  b.insert(b.end(), body.begin(), body.end());
  append(&b, total);
  return b;
}

}  // namespace

CaptureWriter::~CaptureWriter() {
  close();
}

bool CaptureWriter::put(const void* p, size_t n) {
  if (std::fwrite(p, 1, n, file_) != n) return false;
  bytes_ += n;
  return true;
}

base::Status CaptureWriter::open(const std::string& path, CaptureFormat format, uint32_t snaplen,
                                 const std::string& interface_name) {
  close();
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    return base::make_error(base::ErrorKind::kIo,
                            "cannot create " + path + ": " + std::strerror(errno));
  }
  // A large buffer keeps the writer to a few big writes per second at probe rates.
  std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
  path_ = path;
  format_ = format;
  snaplen_ = snaplen;
  bytes_ = 0;
  frames_ = 0;
  bool ok = true;
  if (format == CaptureFormat::kPcapNano) {
    std::vector<uint8_t> h;
    append(&h, kPcapNanoMagic);
    append(&h, uint16_t{2});
    append(&h, uint16_t{4});
    append(&h, int32_t{0});
    append(&h, uint32_t{0});
    append(&h, snaplen);
    append(&h, uint32_t{kLinkEthernet});
    ok = put(h.data(), h.size());
  } else {
    std::vector<uint8_t> shb;
    append(&shb, kByteOrderMagic);
    append(&shb, uint16_t{1});
    append(&shb, uint16_t{0});
    append(&shb, int64_t{-1});  // section length unknown
    append_option(&shb, kOptEnd, nullptr, 0);
    std::vector<uint8_t> idb;
    append(&idb, kLinkEthernet);
    append(&idb, uint16_t{0});
    append(&idb, snaplen);
    if (!interface_name.empty()) {
      append_option(&idb, kOptIfName, interface_name.data(),
                    static_cast<uint16_t>(interface_name.size()));
    }
    const uint8_t tsresol = 9;  // 10^-9 s
    append_option(&idb, kOptIfTsresol, &tsresol, 1);
    append_option(&idb, kOptEnd, nullptr, 0);
    const auto a = block(kBlockShb, shb);
    const auto b = block(kBlockIdb, idb);
    ok = put(a.data(), a.size()) && put(b.data(), b.size());
  }
  if (!ok) {
    std::string err = "cannot write " + path + ": " + std::strerror(errno);
    close();
    return base::make_error(base::ErrorKind::kIo, std::move(err));
  }
  return base::Done{};
}

bool CaptureWriter::write(uint64_t ts_ns, const uint8_t* frame, uint32_t len) {
  if (file_ == nullptr) return false;
  const uint32_t caplen = len < snaplen_ ? len : snaplen_;
  static constexpr uint8_t kZeros[4] = {};
  ++frames_;
  if (format_ == CaptureFormat::kPcapNano) {
    const uint32_t hdr[4] = {static_cast<uint32_t>(ts_ns / 1'000'000'000),
                             static_cast<uint32_t>(ts_ns % 1'000'000'000), caplen, len};
    return put(hdr, sizeof hdr) && put(frame, caplen);
  }
  const uint32_t padded = pad4(caplen);
  const uint32_t total = 32 + padded;
  const uint32_t hdr[7] = {
      kBlockEpb, total, 0, static_cast<uint32_t>(ts_ns >> 32), static_cast<uint32_t>(ts_ns),
      caplen,    len};
  return put(hdr, sizeof hdr) && put(frame, caplen) && put(kZeros, padded - caplen) &&
         put(&total, sizeof total);
}

bool CaptureWriter::flush(bool sync) {
  if (file_ == nullptr) return true;
  if (std::fflush(file_) != 0) return false;
  return !sync || fdatasync(fileno(file_)) == 0;
}

bool CaptureWriter::close() {
  if (file_ == nullptr) return true;
  const bool ok = std::fflush(file_) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  return ok && closed;
}

}  // namespace migprobe::analysis
