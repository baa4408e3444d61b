// A report's targets: found by IP and by name while the builders fill them, matched to the
// migrations that moved them by IP, name or MAC, and to the announces they sent.

#include "analysis/report_targets.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace migprobe::analysis {
namespace {

v1::JournalRecord target(const std::string& name, const std::string& ip, const std::string& mac) {
  v1::JournalRecord r;
  r.mutable_target()->set_name(name);
  r.mutable_target()->set_ip(ip);
  r.mutable_target()->set_mac(mac);
  return r;
}

TEST(ReportTargets, NamedByIpUntilTheJournalNamesThem) {
  ReportTargets targets;
  TargetBuild& t = targets.add_ip("10.77.0.11");
  EXPECT_EQ(t.report.name(), "10.77.0.11");
  EXPECT_EQ(t.ipv4, 0x0a4d000bU);
  EXPECT_EQ(&targets.add_ip("10.77.0.11"), &t);
  EXPECT_EQ(targets.find_name("10.77.0.11"), 0);

  JournalContents j;
  j.records.push_back(target("vm-1", "10.77.0.11", "52:54:00:77:00:0b"));
  j.records.push_back(target("vm-2", "fd00::12", "not a mac"));
  targets.add_journal_targets(j);
  ASSERT_EQ(targets.all().size(), 2U);
  EXPECT_EQ(targets.find_name("vm-1"), 0);
  EXPECT_EQ(targets.find_name("vm-2"), 1);
  // A name that is no target's name is looked up as an IP.
  EXPECT_EQ(targets.find_name("10.77.0.11"), 0);
  EXPECT_EQ(targets.find_name("vm-3"), -1);
  EXPECT_EQ(targets.find_ip("fd00::12"), 1);
  EXPECT_TRUE(targets.at(0).mac_known);
  EXPECT_FALSE(targets.at(1).mac_known);
  EXPECT_EQ(targets.at(1).ipv4, 0U);
}

v1::MigrationEvent migration(const std::string& name, const std::string& ip,
                             const std::string& mac) {
  v1::MigrationEvent m;
  m.set_instance_name(name);
  m.set_ip(ip);
  m.set_mac(mac);
  return m;
}

TEST(MatchMigrations, ByIpNameOrMacTheFirstTargetInReportOrder) {
  ReportTargets built;
  JournalContents j;
  j.records.push_back(target("vm-1", "10.77.0.11", "52:54:00:77:00:0b"));
  j.records.push_back(target("vm-2", "10.77.0.12", "52:54:00:77:00:0c"));
  built.add_journal_targets(j);
  const std::vector<v1::MigrationEvent> migrations = {
      migration("vm-2", "", ""),                             // by name
      migration("", "10.77.0.11", ""),                       // by IP
      migration("", "", "52:54:00:77:00:0c"),                // by MAC
      migration("vm-2", "10.77.0.11", ""),                   // both: the first target wins
      migration("vm-9", "10.77.0.99", "52:54:00:00:00:01"),  // none
  };
  const MigrationTargets m = match_migrations(built.all(), migrations);
  EXPECT_EQ(m.target_of, (std::vector<int>{1, 0, 1, 0, -1}));
  ASSERT_EQ(m.migrations_of.size(), 2U);
  EXPECT_EQ(m.migrations_of[0], (std::vector<size_t>{1, 3}));
  EXPECT_EQ(m.migrations_of[1], (std::vector<size_t>{0, 2}));
}

TEST(FindAnnounce, ByMacOrGratuitousArpForItsAddressInTheWindow) {
  ReportTargets built;
  JournalContents j;
  j.records.push_back(target("vm-1", "10.77.0.11", "52:54:00:77:00:0b"));
  built.add_journal_targets(j);
  const TargetBuild& t = built.at(0);
  Announce other;  // another VM's RARP
  other.seen_ns = 100;
  other.rarp = true;
  other.mac = {0x52, 0x54, 0, 0x77, 0, 0x0c};
  Announce garp;  // a gratuitous ARP for the target's address, from another MAC
  garp.seen_ns = 200;
  garp.ip = 0x0a4d000b;
  Announce rarp;
  rarp.seen_ns = 300;
  rarp.rarp = true;
  rarp.mac = t.mac;
  const std::vector<Announce> announces = {other, garp, rarp};
  EXPECT_EQ(find_announce(announces, t, 0, 1000), &announces[1]);
  EXPECT_EQ(find_announce(announces, t, 250, 1000), &announces[2]);
  EXPECT_EQ(find_announce(announces, t, 0, 150), nullptr);
  EXPECT_EQ(find_announce(announces, t, 301, 1000), nullptr);
}

}  // namespace
}  // namespace migprobe::analysis
