#include "analysis/report_builder.h"

#include <utility>

#include "analysis/flow_tracker.h"
#include "analysis/journal_events.h"
#include "analysis/report_tagging.h"
#include "analysis/run_statistics.h"
#include "analysis/vm_metrics.h"

namespace migprobe::analysis {

v1::Report start_report(const ReportInputs& inputs, std::string_view default_generator,
                        v1::AnalysisSettings settings) {
  v1::Report report;
  report.set_format_version(kReportFormatVersion);
  report.set_generator(inputs.generator.empty() ? std::string(default_generator)
                                                : inputs.generator);
  *report.mutable_source() = inputs.source;
  settings.set_reorder_window(FlowTracker::kReorderWindow);
  *report.mutable_settings() = std::move(settings);
  return report;
}

void finish_report(std::vector<TargetBuild> targets, const std::vector<Announce>& announces,
                   const JournalContents* journal, uint64_t settle_ns, v1::Report* report) {
  const std::vector<v1::MigrationEvent> migrations = merge_migrations(journal);
  const MigrationTargets matched = match_migrations(targets, migrations);
  const GapTags tags = tag_gaps(migrations, matched, settle_ns, &targets);
  add_migration_reports(migrations, matched, tags, announces, coverage_spans(journal), settle_ns,
                        &targets);
  add_untagged_gaps(tags, targets, report);

  add_migrations(migrations, report);
  for (TargetBuild& t : targets) {
    if (t.mac_known) t.report.set_mac(mac_to_string(t.mac));
    *report->add_targets() = std::move(t.report);
  }
  if (journal != nullptr) add_vm_metrics(*journal, settle_ns, report);
  *report->mutable_downtime() = completed_downtime(*report);
  add_evacuations(merge_evacuations(journal), report);
  if (journal != nullptr) add_coverage_gaps_and_errors(*journal, report);
}

}  // namespace migprobe::analysis
