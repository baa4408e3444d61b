// IPv4 text and numbers.

#include "base/ipv4.h"

#include <gtest/gtest.h>

namespace migprobe::base {
namespace {

TEST(Ipv4, TextBothWays) {
  EXPECT_EQ(*parse_ipv4("10.78.0.11"), 0x0a4e000bU);
  EXPECT_EQ(ipv4_text(0x0a4e000b), "10.78.0.11");
  EXPECT_EQ(*parse_ipv4("255.255.255.255"), 0xffffffffU);
  const uint8_t bytes[4] = {10, 78, 0, 11};
  EXPECT_EQ(ipv4_from_bytes(bytes), 0x0a4e000bU);
}

TEST(Ipv4, RefusesAnythingElse) {
  for (const char* bad : {"", "10.78.0", "10.78.0.256", "10.78.0.1.2", "10.78.0.x", "a.b.c.d",
                          " 10.78.0.1", "10.78.0.1 ", "1000.1.1.1", "fd77::2"}) {
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  }
}

}  // namespace
}  // namespace migprobe::base
