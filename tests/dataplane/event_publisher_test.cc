// The event publisher: a subscriber that never reads loses events to its bounded queue,
// counted and said once per episode; the others and the events file get everything.

#include "dataplane/event_publisher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace migprobe::dataplane {
namespace {

v1::Event gap_event(uint32_t i) {
  v1::Event e;
  e.mutable_gap()->set_flow_id(i);
  e.mutable_gap()->set_lost(i + 1);
  return e;
}

TEST(EventPublisher, SubscriberThatNeverReadsIsCountedNotFatal) {
  EventPublisher pub("", EventPublisher::kDefaultQueueBound, false);
  auto stuck = pub.subscribe();
  ::testing::internal::CaptureStderr();
  const uint32_t n = EventPublisher::kDefaultQueueBound + 250;
  for (uint32_t i = 0; i < n; ++i) pub.publish(gap_event(i));
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(pub.counters().published, n);
  EXPECT_EQ(pub.counters().overflowed, 250U);
  EXPECT_EQ(pub.counters().overflow_episodes, 1U);
  // Said once, not once per event lost.
  EXPECT_NE(said.find("not reading"), std::string::npos) << said;
  EXPECT_EQ(said.find("not reading"), said.rfind("not reading")) << said;
  // What the queue holds is the oldest events, in order.
  v1::Event e;
  ASSERT_TRUE(stuck->pop(&e, 0));
  EXPECT_EQ(e.gap().flow_id(), 0U);
}

TEST(EventPublisher, ReadingSubscriberGetsEverythingBesideAStuckOne) {
  EventPublisher pub("", 100, true);
  auto stuck = pub.subscribe();
  auto reader = pub.subscribe();
  uint32_t got = 0;
  for (uint32_t i = 0; i < 1000; ++i) {
    pub.publish(gap_event(i));
    v1::Event e;
    while (reader->pop(&e, 0)) {
      EXPECT_EQ(e.gap().flow_id(), got);
      ++got;
    }
  }
  EXPECT_EQ(got, 1000U);
  EXPECT_EQ(pub.counters().overflowed, 900U);
  EXPECT_EQ(pub.counters().subscribers, 2U);
}

TEST(EventPublisher, AnEpisodeEndsWhenTheSubscriberCatchesUp) {
  EventPublisher pub("", 10, true);
  auto q = pub.subscribe();
  for (uint32_t i = 0; i < 20; ++i) pub.publish(gap_event(i));
  v1::Event e;
  while (q->pop(&e, 0)) {
  }
  for (uint32_t i = 0; i < 20; ++i) pub.publish(gap_event(i));
  EXPECT_EQ(pub.counters().overflowed, 20U);
  EXPECT_EQ(pub.counters().overflow_episodes, 2U);
}

TEST(EventPublisher, ClosedSubscribersAreForgottenAndCloseAllEndsStreams) {
  EventPublisher pub("", 10, true);
  auto gone = pub.subscribe();
  auto live = pub.subscribe();
  gone->close();
  for (uint32_t i = 0; i < 5; ++i) pub.publish(gap_event(i));
  EXPECT_EQ(pub.counters().overflowed, 0U);
  pub.close_all();
  EXPECT_TRUE(live->closed());
  v1::Event e;
  EXPECT_TRUE(live->pop(&e, 0));  // what was queued is still read out
}

TEST(EventPublisher, EventsFileGetsOneJsonLinePerEvent) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("events-" + std::to_string(getpid()) + ".jsonl"))
          .string();
  std::filesystem::remove(path);
  {
    EventPublisher pub(path, 10, true);
    EXPECT_EQ(pub.file_error(), "");
    for (uint32_t i = 0; i < 3; ++i) pub.publish(gap_event(i));
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    EXPECT_NE(line.find("\"flow_id\":" + std::to_string(lines)), std::string::npos) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 3);
  std::filesystem::remove(path);
}

TEST(EventPublisher, UnopenableEventsFileIsNamed) {
  EventPublisher pub("/nonexistent-dir/events.jsonl", 10, true);
  EXPECT_NE(pub.file_error().find("/nonexistent-dir/events.jsonl"), std::string::npos);
  pub.publish(gap_event(1));  // still publishes to subscribers, no crash
  EXPECT_EQ(pub.counters().published, 1U);
}

}  // namespace
}  // namespace migprobe::dataplane
