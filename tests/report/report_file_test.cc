// Writing a report file: whole or not at all, and an error that names the file and why.

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis/report_writers.h"

namespace migprobe::analysis {
namespace {

class ReportFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("migprobe-report-file-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path dir_;
};

TEST_F(ReportFileTest, ReplacesTheFileWholeAndLeavesNoTemporary) {
  const auto path = dir_ / "report.txt";
  base::Status first = write_report_file(path.string(), "first\n");
  ASSERT_TRUE(first.ok()) << first.error().message;
  base::Status second = write_report_file(path.string(), "second\n");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(read(path), "second\n");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST_F(ReportFileTest, MissingDirectoryIsNamedWithTheReason) {
  const std::string path = (dir_ / "no-such-dir" / "report.json").string();
  base::Status r = write_report_file(path, "{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, base::ErrorKind::kIo);
  EXPECT_EQ(r.error().message, "cannot write " + path + ": No such file or directory");
}

TEST_F(ReportFileTest, AFailedWriteKeepsThePreviousReport) {
  const auto path = dir_ / "report.csv";
  base::Status old = write_report_file(path.string(), "old\n");
  ASSERT_TRUE(old.ok()) << old.error().message;
  // A file-size limit below the new report: the write fails with EFBIG (SIGXFSZ ignored).
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &before), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = before;
  small.rlim_cur = 16;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  base::Status r = write_report_file(path.string(), std::string(4096, 'x'));
  setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, base::ErrorKind::kIo);
  EXPECT_EQ(r.error().message, "cannot write " + path.string() + ": File too large");
  EXPECT_EQ(read(path), "old\n");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

}  // namespace
}  // namespace migprobe::analysis
