#include "dataplane/capture_thread.h"

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <chrono>
#include <cstdio>

#include "dataplane/tsc_clock.h"

namespace migprobe::dataplane {

namespace {
constexpr unsigned kBatch = 256;

uint64_t ts_of(rte_mbuf* m) {
  return *static_cast<uint64_t*>(rte_mbuf_to_priv(m));
}

std::string numbered(const std::string& path, uint32_t i) {
  return i == 0 ? path : path + "." + std::to_string(i);
}
}  // namespace

std::string CaptureThread::start(const CaptureSettings& s, rte_ring* tx, rte_ring* rx) {
  s_ = s;
  tx_ = tx;
  rx_ = rx;
  const base::Status opened =
      writer_.open(s_.path, analysis::CaptureFormat::kPcapng, 65535, "migprobe-dp");
  if (!opened) return "capture '" + s_.path + "': " + opened.error().message;
  counters_.files = 1;
  thread_ = std::thread([this] { run(); });
  return "";
}

void CaptureThread::rotate() {
  writer_.close();
  ++index_;
  if (index_ >= s_.max_files) {
    std::remove(numbered(s_.path, index_ - s_.max_files).c_str());
  }
  if (!writer_
           .open(numbered(s_.path, index_), analysis::CaptureFormat::kPcapng, 65535, "migprobe-dp")
           .ok()) {
    ++counters_.write_errors;
  }
  ++counters_.files;
}

void CaptureThread::drain_once(bool* any) {
  rte_mbuf* a[kBatch];
  rte_mbuf* b[kBatch];
  const unsigned na =
      tx_ != nullptr ? rte_ring_sc_dequeue_burst(tx_, reinterpret_cast<void**>(a), kBatch, nullptr)
                     : 0;
  const unsigned nb =
      rx_ != nullptr ? rte_ring_sc_dequeue_burst(rx_, reinterpret_cast<void**>(b), kBatch, nullptr)
                     : 0;
  *any = na + nb != 0;
  // Each ring is in time order; merge them so the file is too (a request precedes its reply).
  unsigned i = 0, j = 0;
  while (i < na || j < nb) {
    rte_mbuf* m = (j >= nb || (i < na && ts_of(a[i]) <= ts_of(b[j]))) ? a[i++] : b[j++];
    if (writer_.is_open()) {
      if (!writer_.write(ts_of(m), rte_pktmbuf_mtod(m, const uint8_t*), m->data_len)) {
        ++counters_.write_errors;
      } else {
        ++counters_.frames;
        counters_.bytes += m->data_len;
      }
    }
    rte_pktmbuf_free(m);
    if (writer_.is_open() && writer_.bytes_written() >= s_.max_bytes) rotate();
  }
}

void CaptureThread::run() {
  uint64_t last_flush = realtime_ns();
  for (;;) {
    const bool stopping = stop_.load(std::memory_order_acquire);
    bool any = false;
    drain_once(&any);
    const uint64_t now = realtime_ns();
    if (now - last_flush >= s_.flush_ns) {
      if (!writer_.flush()) ++counters_.write_errors;
      last_flush = now;
    }
    if (!any) {
      if (stopping) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  writer_.close();
}

void CaptureThread::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

}  // namespace migprobe::dataplane
