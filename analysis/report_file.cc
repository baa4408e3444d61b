#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "analysis/report_writers.h"

namespace migprobe::analysis {

base::Status write_report_file(const std::string& path, const std::string& content) {
  auto failed = [&path](int err) {
    return base::make_error(base::ErrorKind::kIo,
                            "cannot write " + path + ": " + std::strerror(err));
  };
  if (path == "-") {
    if (std::fwrite(content.data(), 1, content.size(), stdout) != content.size() ||
        std::fflush(stdout) != 0) {
      return failed(errno);
    }
    return base::Done{};
  }
  // Beside the file and renamed over it at the end: a failed or interrupted write leaves
  // the previous report (or none), never half a report.
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return failed(errno);
  int err = 0;
  if (std::fwrite(content.data(), 1, content.size(), f) != content.size() || std::fflush(f) != 0) {
    err = errno;
  }
  if (std::fclose(f) != 0 && err == 0) err = errno;
  if (err == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    std::remove(tmp.c_str());
    return failed(err);
  }
  return base::Done{};
}

base::Status write_report_set(const std::string& dir,
                              const std::vector<std::pair<std::string, std::string>>& files,
                              const std::string& text, std::FILE* text_out) {
  std::string errors;
  for (const auto& [name, body] : files) {
    if (base::Status written = write_report_file(dir + "/" + name, body); !written) {
      errors += (errors.empty() ? "" : "; ") + written.error().message;
    }
  }
  if (text_out != nullptr) {
    std::fputs(text.c_str(), text_out);
    std::fflush(text_out);
  }
  if (!errors.empty()) return base::make_error(base::ErrorKind::kIo, errors);
  return base::Done{};
}

}  // namespace migprobe::analysis
