// Neighbours: resolution with retries and back-off, aging, moves, announces, static entries.

#include "dataplane/neighbour_table.h"

#include <gtest/gtest.h>

namespace migprobe::dataplane {
namespace {

constexpr uint64_t kMs = 1'000'000;
const analysis::MacAddress kMacA{2, 0, 0, 0, 0, 0xa};
const analysis::MacAddress kMacB{2, 0, 0, 0, 0, 0xb};

TEST(NeighbourTable, RetriesThenBacksOff) {
  NeighbourConfig cfg;
  cfg.retry_ns = 100 * kMs;
  cfg.fast_tries = 3;
  cfg.slow_retry_ns = 1000 * kMs;
  NeighbourTable t(cfg);
  t.want(0x0a4e000b, 0);
  std::vector<uint32_t> due;
  t.due_requests(0, &due);
  EXPECT_EQ(due.size(), 1U);
  due.clear();
  t.due_requests(50 * kMs, &due);
  EXPECT_TRUE(due.empty());
  t.due_requests(100 * kMs, &due);
  t.due_requests(200 * kMs, &due);
  EXPECT_EQ(due.size(), 2U);
  due.clear();
  t.due_requests(300 * kMs, &due);  // 3 tries done: slow now
  EXPECT_TRUE(due.empty());
  t.due_requests(1200 * kMs, &due);
  EXPECT_EQ(due.size(), 1U);
}

TEST(NeighbourTable, ResolvesAgesAndMoves) {
  NeighbourConfig cfg;
  cfg.max_age_ns = 10'000 * kMs;
  NeighbourTable t(cfg);
  const uint32_t ip = 0x0a4e000b;
  t.want(ip, 0);
  EXPECT_EQ(t.on_arp(ip, kMacA, 5 * kMs), NeighbourChange::kResolved);
  EXPECT_EQ(t.on_arp(ip, kMacA, 6 * kMs), NeighbourChange::kNone);
  std::vector<uint32_t> due;
  t.due_requests(5000 * kMs, &due);
  EXPECT_TRUE(due.empty());
  t.due_requests(10'007 * kMs, &due);  // aged: re-probed, MAC kept meanwhile
  EXPECT_EQ(due.size(), 1U);
  EXPECT_TRUE(t.find(ip)->resolved);
  EXPECT_EQ(t.on_arp(ip, kMacB, 10'008 * kMs), NeighbourChange::kMoved);
  EXPECT_EQ(t.find(ip)->mac, kMacB);
}

TEST(NeighbourTable, IgnoresUnwantedAndStatic) {
  NeighbourTable t;
  EXPECT_EQ(t.on_arp(1, kMacA, 0), NeighbourChange::kNone);
  EXPECT_EQ(t.size(), 0U);  // an ARP flood cannot grow the table
  t.set_static(2, kMacA, 0);
  EXPECT_EQ(t.on_arp(2, kMacB, 1), NeighbourChange::kNone);
  EXPECT_EQ(t.find(2)->mac, kMacA);
  std::vector<uint32_t> due;
  t.due_requests(1ULL << 62, &due);
  EXPECT_TRUE(due.empty());
}

TEST(NeighbourTable, AnnouncesByMacOrGratuitousArpForTheAddress) {
  NeighbourTable t;
  using analysis::Announce;
  t.on_announce(Announce{100, true, kMacA, 0, 0});
  t.on_announce(Announce{200, false, kMacA, 7, 0});
  // Stamped before the newest: kept in time order all the same.
  t.on_announce(Announce{150, true, kMacB, 0, 0});
  // A gratuitous ARP for address 9 from a MAC the table does not know.
  t.on_announce(Announce{300, false, kMacB, 9, 0});
  const Announce* a = t.first_announce(&kMacA, 0, 120, 400);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->seen_ns, 200U);
  EXPECT_FALSE(a->rarp);
  EXPECT_EQ(t.first_announce(&kMacA, 0, 201, 400), nullptr);
  ASSERT_NE(t.first_announce(&kMacB, 0, 0, 400), nullptr);
  EXPECT_EQ(t.first_announce(&kMacB, 0, 0, 400)->seen_ns, 150U);
  EXPECT_EQ(t.first_announce(&kMacB, 0, 0, 149), nullptr);
  // By address alone (MAC not resolved): only the gratuitous ARP for it, never a RARP.
  ASSERT_NE(t.first_announce(nullptr, 9, 0, 400), nullptr);
  EXPECT_EQ(t.first_announce(nullptr, 9, 0, 400)->seen_ns, 300U);
  EXPECT_EQ(t.first_announce(nullptr, 7, 201, 400), nullptr);
}

TEST(NeighbourTable, AnnounceFloodKeepsTheNewestBounded) {
  NeighbourTable t;
  analysis::MacAddress mac{2, 0, 0, 0, 0, 0};
  const size_t n = NeighbourTable::kMaxAnnounces + 100;
  for (size_t i = 0; i < n; ++i) {
    mac[5] = static_cast<uint8_t>(i);
    mac[4] = static_cast<uint8_t>(i >> 8);
    t.on_announce(analysis::Announce{1000 + i, true, mac, 0, 0});
  }
  // The oldest 100 are gone, the newest is there.
  mac[5] = static_cast<uint8_t>(99);
  mac[4] = 0;
  EXPECT_EQ(t.first_announce(&mac, 0, 0, UINT64_MAX), nullptr);
  mac[5] = static_cast<uint8_t>(n - 1);
  mac[4] = static_cast<uint8_t>((n - 1) >> 8);
  ASSERT_NE(t.first_announce(&mac, 0, 0, UINT64_MAX), nullptr);
  EXPECT_EQ(t.first_announce(&mac, 0, 0, UINT64_MAX)->seen_ns, 1000 + n - 1);
}

}  // namespace
}  // namespace migprobe::dataplane
