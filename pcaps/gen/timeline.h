#pragma once
// Puts generated frames in capture order. Scenarios produce frames out of order (a reply
// is known when its request is made, a reordered reply lands later), so frames wait in a
// heap keyed by (timestamp, order of creation) and reach the writer only once nothing
// earlier can still come. Ties keep creation order, so output never depends on the heap.

#include <cstdint>
#include <queue>
#include <vector>

#include "analysis/capture_writer.h"
#include "pcaps/gen/frames.h"

namespace migprobe::pcapgen {

// A sorted stream of frames into one capture writer.
class Timeline {
 public:
  explicit Timeline(analysis::CaptureWriter* writer) : writer_(writer) {}

  // Queues a frame captured at ts_ns.
  void add(uint64_t ts_ns, Frame frame);
  // Writes every queued frame stamped before ts_ns: the caller promises that nothing
  // earlier than ts_ns will be added afterwards.
  bool drain_before(uint64_t ts_ns);
  // Writes everything left.
  bool finish() { return drain_before(UINT64_MAX); }
  uint64_t frames() const { return frames_; }

 private:
  struct Entry {
    uint64_t ts_ns;
    uint64_t order;
    Frame frame;
    // Earliest first: std::priority_queue keeps the largest on top.
    bool operator<(const Entry& o) const {
      return ts_ns != o.ts_ns ? ts_ns > o.ts_ns : order > o.order;
    }
  };

  analysis::CaptureWriter* writer_;
  std::priority_queue<Entry> heap_;
  uint64_t next_order_ = 0;
  uint64_t frames_ = 0;
};

}  // namespace migprobe::pcapgen
