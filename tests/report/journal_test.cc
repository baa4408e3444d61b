// The journal file: round trip, a record cut short by a crash, a foreign file, and a
// journal of a format version this code does not read.

#include "analysis/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace migprobe::analysis {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("migprobe-journal-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "run.journal").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static v1::JournalRecord migration(const std::string& name, uint64_t requested) {
    v1::JournalRecord r;
    r.mutable_migration()->set_instance_name(name);
    r.mutable_migration()->set_requested_ns(requested);
    return r;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(JournalTest, RoundTripKeepsHeaderAndRecordsInOrder) {
  {
    JournalWriter w;
    v1::JournalHeader h;
    h.set_campaign("c1");
    h.set_run_generation(7);
    base::Status opened = w.open(path_, h);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    ASSERT_TRUE(w.append(migration("vm-1", 100)));
    ASSERT_TRUE(w.append(migration("vm-2", 200)));
    ASSERT_TRUE(w.close());
  }
  {
    // Reopening appends; the header is not written twice.
    JournalWriter w;
    base::Status opened = w.open(path_, v1::JournalHeader());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    ASSERT_TRUE(w.append(migration("vm-3", 300)));
  }
  JournalContents c;
  base::Status read = read_journal(path_, &c);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(c.header.format_version(), kJournalFormatVersion);
  EXPECT_EQ(c.header.campaign(), "c1");
  EXPECT_EQ(c.header.run_generation(), 7U);
  ASSERT_EQ(c.records.size(), 3U);
  EXPECT_EQ(c.records[0].migration().instance_name(), "vm-1");
  EXPECT_EQ(c.records[2].migration().requested_ns(), 300U);
  EXPECT_EQ(c.warning, "");
}

TEST_F(JournalTest, RecordCutShortKeepsWhatCameBefore) {
  {
    JournalWriter w;
    base::Status opened = w.open(path_, v1::JournalHeader());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    ASSERT_TRUE(w.append(migration("vm-1", 100)));
    ASSERT_TRUE(w.append(migration("vm-2", 200)));
  }
  const auto size = std::filesystem::file_size(path_);
  std::filesystem::resize_file(path_, size - 3);
  JournalContents c;
  base::Status read = read_journal(path_, &c);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(c.records.size(), 1U);
  EXPECT_EQ(c.records[0].migration().instance_name(), "vm-1");
  EXPECT_NE(c.warning.find("record 3"), std::string::npos) << c.warning;
}

TEST_F(JournalTest, ATornTailIsCutBeforeAppending) {
  {
    JournalWriter w;
    ASSERT_TRUE(w.open(path_, v1::JournalHeader()).ok());
    ASSERT_TRUE(w.append(migration("vm-1", 100)));
    ASSERT_TRUE(w.append(migration("vm-2", 200)));
  }
  const auto whole = std::filesystem::file_size(path_);
  std::string message;
  JournalContents c;
  // A whole journal is left alone.
  ASSERT_TRUE(cut_torn_tail(path_, &c, &message).ok());
  EXPECT_EQ(message, "");
  EXPECT_EQ(c.whole_bytes, whole);
  EXPECT_EQ(std::filesystem::file_size(path_), whole);
  // A crash in the middle of the third record: its bytes go, the two before stay.
  {
    std::ofstream out(path_, std::ios::binary | std::ios::app);
    out << "\x20\x22\x05vm-3";
  }
  JournalContents torn;
  ASSERT_TRUE(cut_torn_tail(path_, &torn, &message).ok());
  EXPECT_NE(message.find("stopped at record 4"), std::string::npos) << message;
  EXPECT_NE(message.find("the last 7 bytes (a record cut short) were removed"), std::string::npos)
      << message;
  EXPECT_EQ(torn.records.size(), 2U);
  EXPECT_EQ(std::filesystem::file_size(path_), whole);
  // What is appended next reads back after the two.
  {
    JournalWriter w;
    ASSERT_TRUE(w.open(path_, v1::JournalHeader()).ok());
    ASSERT_TRUE(w.append(migration("vm-3", 300)));
  }
  JournalContents after;
  ASSERT_TRUE(read_journal(path_, &after).ok());
  EXPECT_EQ(after.warning, "");
  ASSERT_EQ(after.records.size(), 3U);
  EXPECT_EQ(after.records[2].migration().instance_name(), "vm-3");
}

TEST_F(JournalTest, WrongFormatVersionIsRefusedByName) {
  {
    std::ofstream out(path_, std::ios::binary);
    v1::JournalRecord r;
    r.mutable_header()->set_format_version(9);
    const std::string body = r.SerializeAsString();
    out.put(static_cast<char>(body.size()));
    out << body;
  }
  JournalContents c;
  base::Status r = read_journal(path_, &c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, base::ErrorKind::kInvalid);
  const std::string& err = r.error().message;
  EXPECT_NE(err.find("format version 9"), std::string::npos) << err;
  EXPECT_NE(err.find(path_), std::string::npos) << err;
}

TEST_F(JournalTest, NotAJournalAndMissingFile) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << "this is a text file, not a journal\n";
  }
  JournalContents c;
  base::Status foreign = read_journal(path_, &c);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().kind, base::ErrorKind::kInvalid);
  EXPECT_NE(foreign.error().message.find("not a migprobe journal"), std::string::npos)
      << foreign.error().message;
  base::Status missing = read_journal((dir_ / "missing").string(), &c);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, base::ErrorKind::kIo);
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos)
      << missing.error().message;
}

}  // namespace
}  // namespace migprobe::analysis
