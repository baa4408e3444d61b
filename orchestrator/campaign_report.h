#pragma once
// The campaign report (issue 13): one row per cell, its labels as columns, from the campaign
// journal and each cell's journal alone, so `campaign report DIR` gives again what `campaign
// run` printed. Text (a matrix table like the seed benchmark's results), JSON (the
// CampaignReport message) and CSV (one line per cell).

#include <cstdio>
#include <string>
#include <vector>

#include "base/result.h"
#include "migprobe/v1/campaign.pb.h"
#include "migprobe/v1/report.pb.h"

namespace migprobe::orchestrator {

// The campaign journal's name in a campaign directory.
inline constexpr const char* kCampaignJournal = "campaign.mpj";

// A cell's figures from its run's report: migrations and outcomes, downtime of completed
// migrations (union and per flow kind, over the VMs probed with that kind), TCP verdicts,
// evacuation time per direction, unattributed gaps. Labels, index and state are the caller's.
v1::CellResult cell_result(const v1::Report& report);

// Reads DIR's campaign journal and every cell's journal. A cell whose journal cannot be read
// keeps its row (state, no figures) and a line in problems; a campaign journal that cannot be
// read is the error (ErrorKind::kIo or kInvalid).
base::Result<v1::CampaignReport> build_campaign_report(const std::string& dir);

std::string render_campaign_text(const v1::CampaignReport& report);
std::string render_campaign_json(const v1::CampaignReport& report);
std::string render_campaign_csv(const v1::CampaignReport& report);

// Rows as a text table, each line indented by two spaces, columns padded to their widest
// cell: the first `left` columns left-aligned (labels), the others right-aligned (numbers).
std::string text_table(const std::vector<std::vector<std::string>>& rows, size_t left);

// Builds the report and writes campaign-report.{txt,json,csv} into dir; prints the text to
// text_out when not null. Every file is tried; the error lists those that failed.
base::Status write_campaign_reports(const std::string& dir, std::FILE* text_out);

}  // namespace migprobe::orchestrator
