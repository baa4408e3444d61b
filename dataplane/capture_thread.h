#pragma once
// The capture writer: a plain thread (not an lcore) that drains the TX and RX capture rings,
// merges the two by timestamp (each frame held a little while for the other side's earlier
// ones), writes pcapng with ns timestamps, rotates at a size limit
// and flushes periodically, so a crash of the dataplane leaves a readable file up to the
// last flush. What the rings could not take is counted by the cores.

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "analysis/capture_writer.h"

struct rte_mbuf;
struct rte_ring;

namespace migprobe::dataplane {

struct CaptureSettings {
  std::string path;
  uint64_t max_bytes = 1ULL << 30;
  uint32_t max_files = 8;
  uint64_t flush_ns = 100'000'000;
};

// Counters of the writer (read by the control thread: atomics, off the fast path).
struct CaptureCounters {
  std::atomic<uint64_t> frames{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> files{0};
  std::atomic<uint64_t> write_errors{0};
};

class CaptureThread {
 public:
  ~CaptureThread() { stop(); }
  // Opens the first file and starts the thread; an error message when the file cannot be
  // created.
  std::string start(const CaptureSettings& s, rte_ring* tx, rte_ring* rx);
  // Drains both rings, flushes, closes. Safe to call twice.
  void stop();
  const CaptureCounters& counters() const { return counters_; }

 private:
  void run();
  // Takes what the rings hold, then writes the held frames that are due (all of them with
  // flush_all) in timestamp order.
  void drain_once(bool* any, bool flush_all);
  void rotate();

  CaptureSettings s_;
  rte_ring* tx_ = nullptr;
  rte_ring* rx_ = nullptr;
  // Frames taken from each ring and not written yet, with when they were taken.
  struct Held {
    rte_mbuf* m;
    uint64_t taken_ns;
  };
  std::deque<Held> held_tx_;
  std::deque<Held> held_rx_;
  analysis::CaptureWriter writer_;
  uint32_t index_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  CaptureCounters counters_;
};

}  // namespace migprobe::dataplane
