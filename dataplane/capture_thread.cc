#include "dataplane/capture_thread.h"

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <chrono>
#include <cstdio>

#include "dataplane/tsc_clock.h"

namespace migprobe::dataplane {

namespace {
constexpr unsigned kBatch = 256;
// How long a frame is held for the other ring's earlier frames (see drain_once).
constexpr uint64_t kHoldNs = 2'000'000;

uint64_t steady_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

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

void CaptureThread::drain_once(bool* any, bool flush_all) {
  rte_mbuf* a[kBatch];
  rte_mbuf* b[kBatch];
  const unsigned na =
      tx_ != nullptr ? rte_ring_sc_dequeue_burst(tx_, reinterpret_cast<void**>(a), kBatch, nullptr)
                     : 0;
  const unsigned nb =
      rx_ != nullptr ? rte_ring_sc_dequeue_burst(rx_, reinterpret_cast<void**>(b), kBatch, nullptr)
                     : 0;
  *any = na + nb != 0;
  const uint64_t now = steady_ns();
  for (unsigned i = 0; i < na; ++i) held_tx_.push_back(Held{a[i], now});
  for (unsigned i = 0; i < nb; ++i) held_rx_.push_back(Held{b[i], now});
  // Each ring is in time order, but a core puts a frame on its ring a moment after it
  // stamped it: the TX core a probe after sending it, while the RX core may already have
  // put its reply on the other ring. So the earliest frame of the two is written only once
  // it has been held kHoldNs, when the other side's earlier frames are in (a request
  // precedes its reply in the file, unless a core was held up longer than that).
  while (!held_tx_.empty() || !held_rx_.empty()) {
    const bool from_tx = held_rx_.empty() || (!held_tx_.empty() && ts_of(held_tx_.front().m) <=
                                                                       ts_of(held_rx_.front().m));
    std::deque<Held>& q = from_tx ? held_tx_ : held_rx_;
    if (!flush_all && now - q.front().taken_ns < kHoldNs) break;
    rte_mbuf* m = q.front().m;
    q.pop_front();
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
    drain_once(&any, false);
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
  bool any = false;
  drain_once(&any, true);  // the rings are empty: what is held goes out, in order
  writer_.close();
}

void CaptureThread::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

}  // namespace migprobe::dataplane
