#pragma once
// `campaign compare A B` (issue 13): the cells of two campaigns matched by their labels; per
// cell, the change of each statistic of the downtime and of the migration duration, and
// whether the two distributions differ (Mann-Whitney U, two-sided: exact without ties for
// up to 50 samples a side, else the normal approximation with the tie correction and a
// continuity correction). Conditions such as 'p95 > +10%' make it a regression gate: a cell
// fails one when its distributions differ at the significance level and the statistic moved
// past the threshold, so the noise of two runs of the same setting does not fail it.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "migprobe/v1/campaign.pb.h"

namespace migprobe::orchestrator {

struct RankTest {
  // U of the first sample (the number of pairs where it is the larger; ties count half).
  double u = 0;
  // Two-sided p-value; 1 when a sample is empty.
  double p = 1;
  bool exact = false;
};

// Mann-Whitney U test of a against b.
RankTest mann_whitney(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);

// What a condition looks at: the downtime or the duration of the completed migrations.
enum class CompareMetric { kDowntime, kDuration };

// A --fail-if condition: "[downtime.|duration.]STAT OP CHANGE", STAT mean, median, p95, p99
// or max; OP > or <; CHANGE a signed percentage ("+10%") or a signed duration ("+50ms").
struct FailCondition {
  CompareMetric metric = CompareMetric::kDowntime;
  std::string stat;
  bool greater = true;
  bool percent = true;
  // Percent, or ns when not percent.
  double threshold = 0;
  std::string text;
};

// Parses one condition; the error (ErrorKind::kInvalid) says what is wrong and what is
// expected.
base::Result<FailCondition> parse_fail_condition(const std::string& text);

// One statistic of one metric in both campaigns.
struct StatChange {
  std::string stat;
  uint64_t a_ns = 0;
  uint64_t b_ns = 0;
  // (b - a) / a in percent; 0 when a is 0.
  double change_percent = 0;
};

struct MetricComparison {
  CompareMetric metric = CompareMetric::kDowntime;
  uint32_t a_count = 0;
  uint32_t b_count = 0;
  std::vector<StatChange> stats;
  RankTest test;
  // The rank test's p is below the significance level.
  bool differs = false;
};

struct CellComparison {
  // The labels ("flavor=small storage=ceph").
  std::string name;
  MetricComparison downtime;
  MetricComparison duration;
  // The conditions this cell fails, each with the change that failed it.
  std::vector<std::string> failed;
};

struct CampaignComparison {
  std::string a_name;
  std::string b_name;
  double alpha = 0.05;
  std::vector<CellComparison> cells;
  // Cells in one campaign only, by name.
  std::vector<std::string> only_a;
  std::vector<std::string> only_b;
  // Some cell failed some condition.
  bool failed = false;
};

CampaignComparison compare_campaigns(const v1::CampaignReport& a, const v1::CampaignReport& b,
                                     const std::vector<FailCondition>& conditions, double alpha);

std::string render_comparison_text(const CampaignComparison& c);
std::string render_comparison_json(const CampaignComparison& c);

}  // namespace migprobe::orchestrator
