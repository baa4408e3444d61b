#include "dataplane/event_publisher.h"

#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace migprobe::dataplane {

bool EventQueue::push(const v1::Event& e) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_ || q_.size() >= bound_) return false;
    q_.push_back(e);
  }
  cv_.notify_one();
  return true;
}

bool EventQueue::pop(v1::Event* e, int timeout_ms) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, std::chrono::milliseconds(timeout_ms), [&] { return closed_ || !q_.empty(); });
  if (q_.empty()) return false;
  *e = std::move(q_.front());
  q_.pop_front();
  return true;
}

void EventQueue::close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool EventQueue::closed() {
  std::lock_guard<std::mutex> l(mu_);
  return closed_;
}

EventPublisher::EventPublisher(const std::string& events_path, size_t queue_bound, bool quiet)
    : queue_bound_(queue_bound), quiet_(quiet) {
  if (events_path.empty()) return;
  file_.open(events_path, std::ios::app);
  if (!file_.is_open()) {
    file_error_ = "cannot open the events file " + events_path + ": " + std::strerror(errno);
  }
}

std::shared_ptr<EventQueue> EventPublisher::subscribe() {
  auto q = std::make_shared<EventQueue>(queue_bound_);
  subscribers_.push_back(Subscriber{q, false});
  ++counters_.subscribers;
  return q;
}

void EventPublisher::publish(const v1::Event& e) {
  ++counters_.published;
  if (file_.is_open()) {
    std::string json;
    google::protobuf::util::JsonPrintOptions opt;
    opt.always_print_primitive_fields = true;
    opt.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(e, &json, opt);
    file_ << json << '\n';
    file_.flush();
    if (!file_) ++counters_.file_errors;
  }
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    if (it->queue->closed()) {
      it = subscribers_.erase(it);
      continue;
    }
    if (it->queue->push(e)) {
      it->overflowing = false;
    } else {
      ++counters_.overflowed;
      if (!it->overflowing) {
        it->overflowing = true;
        ++counters_.overflow_episodes;
        if (!quiet_) {
          std::fprintf(stderr,
                       "migprobe-dp: an event subscriber is not reading: its queue holds %zu "
                       "events, newer ones are lost to it (stats: events overflowed)\n",
                       queue_bound_);
        }
      }
    }
    ++it;
  }
}

void EventPublisher::close_all() {
  for (auto& s : subscribers_) s.queue->close();
  subscribers_.clear();
}

}  // namespace migprobe::dataplane
