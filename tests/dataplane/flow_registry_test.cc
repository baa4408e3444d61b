// The flow registry: flow ids handed out and taken back (a freed id waits behind every id
// never used), lookups by name and address, all-or-none adds with errors that name the target.

#include "dataplane/flow_registry.h"

#include <gtest/gtest.h>

namespace migprobe::dataplane {
namespace {

// The error message of a status, "" on success.
std::string why(const base::Status& s) {
  return s ? "" : s.error().message;
}

TargetParams target(const std::string& name, uint32_t ip, int flows) {
  TargetParams t;
  t.name = name;
  t.ip = ip;
  for (int i = 0; i < flows; ++i) t.flows.push_back(FlowParams{});
  return t;
}

constexpr uint32_t kIp1 = 0x0a4e000b;  // 10.78.0.11
constexpr uint32_t kIp2 = 0x0a4e000c;

TEST(FlowRegistry, HandsOutIdsAndFindsByFlowNameAndAddress) {
  FlowRegistry r(8);
  std::vector<uint32_t> added;
  ASSERT_EQ(why(r.add({target("vm1", kIp1, 2), target("vm2", kIp2, 1)}, &added)), "");
  ASSERT_EQ(added.size(), 2U);
  EXPECT_EQ(r.target(added[0]).flow_ids, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(r.target(added[1]).flow_ids, (std::vector<uint32_t>{2}));
  EXPECT_EQ(r.target_of(2)->params.name, "vm2");
  EXPECT_EQ(r.flow(7), nullptr);
  EXPECT_EQ(r.flow(100), nullptr);
  EXPECT_EQ(r.targets_at(kIp1), (std::vector<uint32_t>{added[0]}));
  EXPECT_TRUE(r.targets_at(0x01020304).empty());
  EXPECT_EQ(r.used_flow_ids(), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(r.free_flows(), 5U);
}

TEST(FlowRegistry, FreedIdsComeBackOnlyAfterTheUnusedOnes) {
  FlowRegistry r(4);
  ASSERT_EQ(why(r.add({target("vm1", kIp1, 2)}, nullptr)), "");
  std::vector<uint32_t> freed, ips;
  EXPECT_EQ(r.remove({"vm1"}, &freed, &ips), 1U);
  EXPECT_EQ(freed, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(ips, (std::vector<uint32_t>{kIp1}));
  EXPECT_EQ(r.target_of(0), nullptr);
  std::vector<uint32_t> added;
  ASSERT_EQ(why(r.add({target("vm2", kIp2, 3)}, &added)), "");
  // 2 and 3 were never used: they go first, then the oldest freed one.
  EXPECT_EQ(r.target(added[0]).flow_ids, (std::vector<uint32_t>{2, 3, 0}));
  // The whole table is reusable: this used to leak slots on every remove.
  for (int i = 0; i < 100; ++i) {
    freed.clear();
    ASSERT_EQ(r.remove({"vm2"}, &freed, nullptr), 1U);
    ASSERT_EQ(why(r.add({target("vm2", kIp2, 4)}, nullptr)), "") << i;
  }
}

TEST(FlowRegistry, RemovesByAddressText) {
  FlowRegistry r(8);
  ASSERT_EQ(why(r.add({target("a", kIp1, 1), target("b", kIp1, 1), target("c", kIp2, 1)}, nullptr)),
            "");
  std::vector<uint32_t> freed;
  EXPECT_EQ(r.remove({"10.78.0.11", "a"}, &freed, nullptr), 2U);  // a counted once
  EXPECT_EQ(r.names(), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(r.targets_at(kIp1).empty());
  EXPECT_EQ(r.remove({"nobody"}, &freed, nullptr), 0U);
}

TEST(FlowRegistry, AddIsAllOrNoneAndSaysWhy) {
  FlowRegistry r(3);
  EXPECT_NE(
      why(r.add({target("vm1", kIp1, 2), target("vm2", kIp2, 2)}, nullptr)).find("not enough"),
      std::string::npos);
  EXPECT_EQ(r.check({target("vm1", kIp1, 4)}, false).error().kind, base::ErrorKind::kExhausted);
  EXPECT_EQ(r.free_flows(), 3U);
  EXPECT_TRUE(r.names().empty());
  EXPECT_NE(why(r.add({target("vm1", kIp1, 1), target("vm1", kIp2, 1)}, nullptr)).find("twice"),
            std::string::npos);
  ASSERT_EQ(why(r.add({target("vm1", kIp1, 1)}, nullptr)), "");
  EXPECT_NE(why(r.add({target("vm1", kIp2, 1)}, nullptr)).find("already probed"),
            std::string::npos);
  // Replacing every target: the names and the whole table are free again.
  EXPECT_EQ(why(r.check({target("vm1", kIp2, 3)}, true)), "");
  TargetParams bad = target("vm9", kIp2, 1);
  bad.flows[0].interval_ns = 0;
  EXPECT_EQ(r.check({bad}, false).error().kind, base::ErrorKind::kInvalid);
  const std::string text = why(r.add({bad}, nullptr));
  EXPECT_NE(text.find("vm9"), std::string::npos) << text;
}

}  // namespace
}  // namespace migprobe::dataplane
