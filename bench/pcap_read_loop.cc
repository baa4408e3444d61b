// pcap-read-loop: the floor under migprobe-analyze's speed. Reads a capture with
// libpcap's pcap_next_ex and touches every packet (sums its bytes' length and first
// byte), doing nothing else; bench/analyze_bench.sh compares the analyzer's rate with it.

#include <pcap/pcap.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: pcap-read-loop CAPTURE\n");
    return 1;
  }
  char err[PCAP_ERRBUF_SIZE] = {};
  const auto start = std::chrono::steady_clock::now();
  pcap_t* p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err);
  if (p == nullptr) {
    std::fprintf(stderr, "pcap-read-loop: %s\n", err);
    return 1;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t touch = 0;
  int rc = 0;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    ++packets;
    bytes += h->caplen;
    // Read the packet, as any consumer must: otherwise the loop measures headers only.
    touch += h->caplen ? data[h->caplen - 1] : 0;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rc == -1) std::fprintf(stderr, "pcap-read-loop: %s\n", pcap_geterr(p));
  pcap_close(p);
  std::printf("packets %llu bytes %llu seconds %.6f check %llu\n",
              static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes),
              seconds, static_cast<unsigned long long>(touch));
  return rc == -1 ? 1 : 0;
}
