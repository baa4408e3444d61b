#pragma once
// A fixed array of per-flow state for a fast-path core, indexed by flow id. With 100,000
// flows the tables span tens of MB and every reply touches a random slot: on 4 KiB pages
// nearly each access misses the TLB (a two-level page walk under a hypervisor), so the
// array lives in memory the kernel backs with 2 MiB pages where it can (transparent huge
// pages, asked for with madvise before the first touch). Without them it still works, on
// small pages.

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <utility>

namespace migprobe::dataplane {

template <typename T>
class FlowArray {
 public:
  explicit FlowArray(size_t n) : n_(n) {
    if (n == 0) return;
    bytes_ = (n * sizeof(T) + kHugePage - 1) / kHugePage * kHugePage;
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    // Advice only: refused (THP off), the pages stay small.
    madvise(p, bytes_, MADV_HUGEPAGE);
    data_ = static_cast<T*>(p);
    for (size_t i = 0; i < n; ++i) new (&data_[i]) T();
  }
  ~FlowArray() {
    if (data_ == nullptr) return;
    for (size_t i = 0; i < n_; ++i) data_[i].~T();
    munmap(data_, bytes_);
  }
  FlowArray(const FlowArray&) = delete;
  FlowArray& operator=(const FlowArray&) = delete;

  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  size_t size() const { return n_; }

 private:
  static constexpr size_t kHugePage = size_t{2} << 20;
  T* data_ = nullptr;
  size_t n_ = 0;
  size_t bytes_ = 0;
};

}  // namespace migprobe::dataplane
