// The truncated scenario: gap-12340us as classic pcap with nanosecond timestamps, cut in
// the middle of a packet record, as a capture looks when its writer died or the disk
// filled. The truth counts only what the complete records hold.

#include <filesystem>
#include <fstream>
#include <iterator>

#include "analysis/packet.h"
#include "analysis/probe_trailer.h"
#include "pcaps/gen/scenario.h"

namespace migprobe::pcapgen {
namespace {

constexpr size_t kPcapHeader = 24;
constexpr size_t kRecordHeader = 16;

uint32_t load_le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

}  // namespace

std::string write_truncated(const GenOptions& opt) {
  ScenarioFiles files(opt.dir, "truncated",
                      "gap-12340us written as classic pcap (nanosecond magic) and cut in the "
                      "middle of the packet data of a record three quarters into the file.");
  if (auto err = files.open(analysis::CaptureFormat::kPcapNano, ".pcap"); !err.empty()) {
    return err;
  }
  if (auto err = run_gap_12340us(&files); !err.empty()) return err;
  const std::string path = files.path(".pcap");
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  Truth& truth = files.truth();
  // Walk the records (written in this host's byte order, little endian on every machine
  // the project builds on) to the one to cut.
  const uint64_t keep = truth.frames * 3 / 4;
  size_t off = kPcapHeader;
  analysis::ParseOptions popt;
  uint64_t sent = 0;
  uint64_t answered = 0;
  for (uint64_t i = 0; i < keep; ++i) {
    const uint32_t caplen = load_le32(bytes.data() + off + 8);
    analysis::ParsedPacket pkt;
    analysis::ProbeTrailer t;
    if (analysis::parse_frame(popt, bytes.data() + off + kRecordHeader, caplen, caplen, &pkt) ==
            analysis::DropReason::kNone &&
        analysis::decode_trailer(pkt.payload, pkt.payload_len, &t) ==
            analysis::TrailerError::kNone) {
      ++(pkt.kind == analysis::PacketKind::kIcmpEchoRequest ? sent : answered);
    }
    off += kRecordHeader + caplen;
  }
  const uint32_t caplen = load_le32(bytes.data() + off + 8);
  const size_t cut = off + kRecordHeader + caplen / 2;
  std::error_code ec;
  std::filesystem::resize_file(path, cut, ec);
  if (ec) return "cannot truncate " + path + ": " + ec.message();
  truth.frames = keep;
  truth.flows.front().sent = sent;
  truth.flows.front().answered = answered;
  truth.notes.push_back("The file holds " + std::to_string(keep) +
                        " complete records; it ends at byte " + std::to_string(cut) + ", " +
                        std::to_string(caplen / 2) + " bytes into the packet data of record " +
                        std::to_string(keep + 1) + " (of " + std::to_string(caplen) +
                        "). sent and answered count the complete records only.");
  return files.write_truth_file();
}

}  // namespace migprobe::pcapgen
