// The one grammar of durations and rates.

#include "base/duration.h"

#include <gtest/gtest.h>

namespace migprobe::base {
namespace {

TEST(Duration, UnitsEverywhere) {
  EXPECT_EQ(*parse_duration_ns("250us"), 250'000U);
  EXPECT_EQ(*parse_duration_ns("1ms"), 1'000'000U);
  EXPECT_EQ(*parse_duration_ns("2s"), 2'000'000'000U);
  EXPECT_EQ(*parse_duration_ns("12.5ms"), 12'500'000U);
  EXPECT_EQ(*parse_duration_ns("100ns"), 100U);
  EXPECT_EQ(*parse_duration_ns("2m"), 120'000'000'000U);
  EXPECT_EQ(*parse_duration_ns("0s"), 0U);
}

TEST(Duration, RefusesWhatIsNotOne) {
  EXPECT_FALSE(parse_duration_ns("200"));  // no unit
  EXPECT_FALSE(parse_duration_ns(""));
  EXPECT_FALSE(parse_duration_ns("-1s"));
  EXPECT_FALSE(parse_duration_ns("1h"));
  EXPECT_FALSE(parse_duration_ns("ms"));
  EXPECT_FALSE(parse_duration_ns("1e30s"));
  EXPECT_FALSE(parse_duration_ns("nan s"));
}

TEST(Duration, RatesAreIntervals) {
  EXPECT_EQ(*parse_interval_ns("1000"), 1'000'000U);
  EXPECT_EQ(*parse_interval_ns("1000pps"), 1'000'000U);
  EXPECT_EQ(*parse_interval_ns("2.5k"), 400'000U);
  EXPECT_EQ(*parse_interval_ns("1M"), 1'000U);
  EXPECT_EQ(*parse_interval_ns("1Mpps"), 1'000U);
  EXPECT_EQ(*parse_interval_ns("1ms"), 1'000'000U);
  EXPECT_EQ(*parse_interval_ns("1s"), 1'000'000'000U);
  EXPECT_FALSE(parse_interval_ns("fast"));
  EXPECT_FALSE(parse_interval_ns("-1"));
  EXPECT_FALSE(parse_interval_ns("0"));
  EXPECT_FALSE(parse_interval_ns("0ms"));
}

TEST(Duration, TextReadsBack) {
  for (uint64_t ns : {1ULL, 999ULL, 1'000ULL, 250'000ULL, 1'000'000ULL, 1'500'000'000ULL,
                      2'000'000'000ULL, 12'345'678ULL}) {
    const std::string text = duration_text(ns);
    ASSERT_TRUE(parse_duration_ns(text)) << text;
    EXPECT_EQ(*parse_duration_ns(text), ns) << text;
  }
  EXPECT_EQ(duration_text(250'000), "250us");
  EXPECT_EQ(duration_text(2'000'000'000), "2s");
}

}  // namespace
}  // namespace migprobe::base
