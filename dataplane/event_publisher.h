#pragma once
// The dataplane's event publisher: every event the control thread makes (gaps, outages in
// progress, announces, neighbour changes, clock records) goes to the events file and to the
// queue of each subscriber (a gRPC StreamEvents call). Publishing never blocks the control
// thread: a subscriber that does not keep up loses what its bounded queue cannot hold, and
// that loss is counted (stats "events") and said once per episode on the terminal, never
// silent.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "migprobe/v1/dataplane.pb.h"

namespace migprobe::dataplane {

// The queue of one subscriber, bounded; read by its gRPC thread.
class EventQueue {
 public:
  explicit EventQueue(size_t bound) : bound_(bound) {}
  // False when the queue was full (the event is lost for this subscriber) or closed.
  bool push(const v1::Event& e);
  // Waits up to timeout_ms for an event; false on timeout or when closed.
  bool pop(v1::Event* e, int timeout_ms);
  void close();
  bool closed();

 private:
  const size_t bound_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::Event> q_;
  bool closed_ = false;
};

// What the publisher did, for stats.
struct PublisherCounters {
  uint64_t published = 0;
  // Events a subscriber's full queue could not take (summed over subscribers).
  uint64_t overflowed = 0;
  // Times a subscriber started to overflow.
  uint64_t overflow_episodes = 0;
  uint64_t subscribers = 0;
  uint64_t file_errors = 0;
};

// Used by the control thread only (subscribe is called through its task queue).
class EventPublisher {
 public:
  static constexpr size_t kDefaultQueueBound = 100'000;

  // events_path: JSON lines appended there ("" for none). quiet: no terminal warnings.
  EventPublisher(const std::string& events_path, size_t queue_bound, bool quiet);

  std::shared_ptr<EventQueue> subscribe();
  void publish(const v1::Event& e);
  // Ends every subscriber's stream (shutdown).
  void close_all();
  const PublisherCounters& counters() const { return counters_; }
  // Why the events file could not be opened ("" when it was, or when none was asked for).
  const std::string& file_error() const { return file_error_; }

 private:
  struct Subscriber {
    std::shared_ptr<EventQueue> queue;
    bool overflowing = false;
  };

  const size_t queue_bound_;
  const bool quiet_;
  std::ofstream file_;
  std::string file_error_;
  std::vector<Subscriber> subscribers_;
  PublisherCounters counters_;
};

}  // namespace migprobe::dataplane
