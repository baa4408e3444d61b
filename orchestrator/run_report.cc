#include "orchestrator/run_report.h"

#include "analysis/journal.h"
#include "analysis/journal_report.h"
#include "analysis/report_writers.h"

namespace migprobe::orchestrator {

base::Status write_reports(const std::string& journal_path, const std::string& out_dir,
                           std::FILE* text_out) {
  analysis::JournalContents journal;
  if (base::Status read = analysis::read_journal(journal_path, &journal); !read) return read;
  analysis::ReportInputs inputs;
  // The builder completes the source (format, span, record count, a journal cut short).
  inputs.source.set_journal_path(journal_path);
  const v1::Report report = analysis::build_report_from_journal(journal, inputs);
  const std::string text = analysis::render_text(report);
  return analysis::write_report_set(out_dir,
                                    {{"report.txt", text},
                                     {"report.json", analysis::render_json(report)},
                                     {"report.csv", analysis::render_csv(report)}},
                                    text, text_out);
}

}  // namespace migprobe::orchestrator
