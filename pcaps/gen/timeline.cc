#include "pcaps/gen/timeline.h"

#include <utility>

namespace migprobe::pcapgen {

void Timeline::add(uint64_t ts_ns, Frame frame) {
  heap_.push(Entry{ts_ns, next_order_++, std::move(frame)});
}

bool Timeline::drain_before(uint64_t ts_ns) {
  while (!heap_.empty() && heap_.top().ts_ns < ts_ns) {
    const Entry& e = heap_.top();
    if (!writer_->write(e.ts_ns, e.frame.data(), static_cast<uint32_t>(e.frame.size()))) {
      return false;
    }
    ++frames_;
    heap_.pop();
  }
  return true;
}

}  // namespace migprobe::pcapgen
