// Memory-dirtying load for lab guests: keeps a live migration from being trivial.
//
// Usage: migprobe-lab-dirty MEGABYTES PAGES_PER_SECOND
// Allocates MEGABYTES, touches every page once, then writes PAGES_PER_SECOND distinct pages
// per second whole (in 100 slices a second), walking the buffer round-robin, so QEMU's
// dirty-page tracking sees a steady known rate and the guest's CPU does the work a real
// writer does (4 KiB written per page, not one byte: VM metrics show it).
#include <sys/mman.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr long kPageBytes = 4096;
constexpr long kSlicesPerSecond = 100;

// Sleeps until an absolute CLOCK_MONOTONIC deadline, so the rate does not drift.
void sleep_until(const timespec& deadline) {
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) != 0) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MEGABYTES PAGES_PER_SECOND\n", argv[0]);
    return 2;
  }
  const long megabytes = std::strtol(argv[1], nullptr, 10);
  const long pages_per_second = std::strtol(argv[2], nullptr, 10);
  if (megabytes <= 0 || pages_per_second < 0) {
    std::fprintf(stderr, "migprobe-lab-dirty: need MEGABYTES > 0 and PAGES_PER_SECOND >= 0\n");
    return 2;
  }
  const long pages = megabytes * 1024 * 1024 / kPageBytes;
  void* mem =
      mmap(nullptr, pages * kPageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::perror("migprobe-lab-dirty: mmap");
    return 1;
  }
  auto* bytes = static_cast<volatile unsigned char*>(mem);
  for (long p = 0; p < pages; ++p) {
    bytes[p * kPageBytes] = 1;
  }
  const long per_slice = pages_per_second / kSlicesPerSecond;
  const long remainder = pages_per_second % kSlicesPerSecond;
  long next_page = 0;
  unsigned char stamp = 0;
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  for (long slice = 0;; ++slice) {
    ++stamp;
    const long count = per_slice + ((slice % kSlicesPerSecond) < remainder ? 1 : 0);
    for (long i = 0; i < count; ++i) {
      std::memset(const_cast<unsigned char*>(bytes) + next_page * kPageBytes, stamp, kPageBytes);
      next_page = (next_page + 1) % pages;
    }
    deadline.tv_nsec += 1000000000L / kSlicesPerSecond;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_nsec -= 1000000000L;
      ++deadline.tv_sec;
    }
    sleep_until(deadline);
  }
}
