#pragma once
// The report of a run, made from its journal alone: what `evacuate` prints at the end and
// what `migprobe-control report` gives again from the same journal (a replay gives the
// same report).

#include <cstdio>
#include <string>

#include "base/result.h"

namespace migprobe::orchestrator {

// Reads the journal at journal_path and writes report.txt, report.json and report.csv into
// out_dir; prints the text to text_out when not null. A journal that cannot be read is
// read_journal's error (ErrorKind::kIo or kInvalid) and nothing is written. A file that
// cannot be written does not stop the others: the error is then kIo, with the messages of
// every file that failed, "; " between them.
base::Status write_reports(const std::string& journal_path, const std::string& out_dir,
                           std::FILE* text_out);

}  // namespace migprobe::orchestrator
