#include "orchestrator/campaign_compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/duration.h"
#include "orchestrator/campaign_report.h"
#include "orchestrator/campaign_spec.h"

namespace migprobe::orchestrator {
namespace {

// Exact p-values up to this many samples a side (the distribution has a*b+1 terms).
constexpr size_t kExactMax = 50;

const char* metric_name(CompareMetric m) {
  return m == CompareMetric::kDowntime ? "downtime" : "duration";
}

// The distribution of U for sample sizes m and n with no ties: the coefficients of the
// Gaussian binomial [m+n choose m] in q, as counts (doubles: C(100, 50) fits).
std::vector<double> u_distribution(size_t m, size_t n) {
  std::vector<double> c(m * n + 1, 0.0);
  c[0] = 1;
  size_t degree = 0;
  // prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), one factor at a time (each step a polynomial).
  for (size_t i = 1; i <= m; ++i) {
    const size_t up = n + i;
    const size_t new_degree = degree + n;
    // Multiply by (1 - q^up).
    for (size_t j = std::min(new_degree + i, c.size() - 1) + 1; j-- > up;) c[j] -= c[j - up];
    // Divide by (1 - q^i): c'[j] = c[j] + c'[j - i].
    for (size_t j = i; j <= new_degree; ++j) c[j] += c[j - i];
    for (size_t j = new_degree + 1; j < c.size(); ++j) c[j] = 0;
    degree = new_degree;
  }
  return c;
}

double stat_of(const v1::DowntimeStats& s, const std::string& stat) {
  if (stat == "mean") return static_cast<double>(s.mean_ns());
  if (stat == "median") return static_cast<double>(s.median_ns());
  if (stat == "p95") return static_cast<double>(s.p95_ns());
  if (stat == "p99") return static_cast<double>(s.p99_ns());
  return static_cast<double>(s.max_ns());
}

MetricComparison compare_metric(CompareMetric metric, const v1::DowntimeStats& a,
                                const v1::DowntimeStats& b, const std::vector<uint64_t>& a_values,
                                const std::vector<uint64_t>& b_values, double alpha) {
  MetricComparison m;
  m.metric = metric;
  m.a_count = a.count();
  m.b_count = b.count();
  for (const char* stat : {"mean", "median", "p95", "p99", "max"}) {
    StatChange s;
    s.stat = stat;
    s.a_ns = static_cast<uint64_t>(stat_of(a, stat));
    s.b_ns = static_cast<uint64_t>(stat_of(b, stat));
    s.change_percent = s.a_ns == 0
                           ? 0
                           : 100.0 * (static_cast<double>(s.b_ns) - static_cast<double>(s.a_ns)) /
                                 static_cast<double>(s.a_ns);
    m.stats.push_back(s);
  }
  m.test = mann_whitney(a_values, b_values);
  m.differs = !a_values.empty() && !b_values.empty() && m.test.p < alpha;
  return m;
}

std::string ms_or_s(uint64_t ns, CompareMetric metric) {
  char buf[32];
  if (metric == CompareMetric::kDuration) {
    std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(ns) / 1e9);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(ns) / 1e6);
  }
  return buf;
}

std::string percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f%%", p);
  return buf;
}

std::string p_text(const RankTest& t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f%s", t.p, t.exact ? "" : "~");
  return buf;
}

}  // namespace

RankTest mann_whitney(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  RankTest t;
  const size_t m = a.size();
  const size_t n = b.size();
  if (m == 0 || n == 0) return t;
  // Ranks of the pooled values, ties given their mean rank.
  std::vector<std::pair<uint64_t, int>> pooled;
  pooled.reserve(m + n);
  for (uint64_t v : a) pooled.emplace_back(v, 0);
  for (uint64_t v : b) pooled.emplace_back(v, 1);
  std::sort(pooled.begin(), pooled.end());
  double rank_sum_a = 0;
  double tie_term = 0;
  bool ties = false;
  for (size_t i = 0; i < pooled.size();) {
    size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    const double tied = static_cast<double>(j - i);
    if (j - i > 1) {
      ties = true;
      tie_term += tied * tied * tied - tied;
    }
    for (size_t k = i; k < j; ++k)
      if (pooled[k].second == 0) rank_sum_a += mean_rank;
    i = j;
  }
  const double md = static_cast<double>(m);
  const double nd = static_cast<double>(n);
  t.u = rank_sum_a - md * (md + 1) / 2;
  const double u_small = std::min(t.u, md * nd - t.u);
  if (!ties && m <= kExactMax && n <= kExactMax) {
    const std::vector<double> dist = u_distribution(m, n);
    double total = 0;
    for (double c : dist) total += c;
    double tail = 0;
    // Without ties U is a whole number.
    const auto u_max = static_cast<size_t>(std::llround(u_small));
    for (size_t u = 0; u <= u_max && u < dist.size(); ++u) tail += dist[u];
    t.p = std::min(1.0, 2 * tail / total);
    t.exact = true;
    return t;
  }
  const double nn = md + nd;
  const double mu = md * nd / 2;
  const double var = md * nd / 12 * ((nn + 1) - tie_term / (nn * (nn - 1)));
  if (var <= 0) return t;  // every value the same: no evidence of a difference
  const double z = std::max(0.0, std::fabs(t.u - mu) - 0.5) / std::sqrt(var);
  t.p = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
  return t;
}

base::Result<FailCondition> parse_fail_condition(const std::string& text) {
  auto bad = [&text](const std::string& why) {
    return base::make_error(base::ErrorKind::kInvalid,
                            "--fail-if '" + text + "': " + why +
                                " (expected [downtime.|duration.]STAT OP CHANGE, e.g. "
                                "'p95 > +10%' or 'duration.median > +5s'; STAT mean, median, "
                                "p95, p99 or max; OP > or <)");
  };
  FailCondition c;
  c.text = text;
  std::string s;
  for (char ch : text)
    if (ch != ' ') s += ch;
  const size_t op = s.find_first_of("<>");
  if (op == std::string::npos) return bad("no > or <");
  std::string lhs = s.substr(0, op);
  std::string rhs = s.substr(op + 1);
  c.greater = s[op] == '>';
  if (const size_t dot = lhs.find('.'); dot != std::string::npos) {
    const std::string metric = lhs.substr(0, dot);
    if (metric == "downtime") {
      c.metric = CompareMetric::kDowntime;
    } else if (metric == "duration") {
      c.metric = CompareMetric::kDuration;
    } else {
      return bad("'" + metric + "' is not downtime or duration");
    }
    lhs = lhs.substr(dot + 1);
  }
  if (lhs != "mean" && lhs != "median" && lhs != "p95" && lhs != "p99" && lhs != "max") {
    return bad("'" + lhs + "' is not a statistic");
  }
  c.stat = lhs;
  if (rhs.empty() || (rhs[0] != '+' && rhs[0] != '-')) return bad("the change needs its sign");
  const double sign = rhs[0] == '-' ? -1 : 1;
  rhs = rhs.substr(1);
  if (!rhs.empty() && rhs.back() == '%') {
    char* end = nullptr;
    const std::string number = rhs.substr(0, rhs.size() - 1);
    const double v = std::strtod(number.c_str(), &end);
    if (number.empty() || end == nullptr || *end != '\0' || !std::isfinite(v)) {
      return bad("'" + rhs + "' is not a percentage");
    }
    c.percent = true;
    c.threshold = sign * v;
  } else {
    const auto ns = base::parse_duration_ns(rhs);
    if (!ns) return bad("'" + rhs + "' is neither a percentage nor a duration with its unit");
    c.percent = false;
    c.threshold = sign * static_cast<double>(*ns);
  }
  return c;
}

CampaignComparison compare_campaigns(const v1::CampaignReport& a, const v1::CampaignReport& b,
                                     const std::vector<FailCondition>& conditions, double alpha) {
  CampaignComparison out;
  out.a_name = a.name();
  out.b_name = b.name();
  out.alpha = alpha;
  std::map<std::string, const v1::CellResult*> in_b;
  for (const auto& c : b.cells()) in_b[cell_name(c.cell())] = &c;
  std::map<std::string, bool> matched;
  for (const auto& ca : a.cells()) {
    const std::string name = cell_name(ca.cell());
    const auto it = in_b.find(name);
    if (it == in_b.end()) {
      out.only_a.push_back(name);
      continue;
    }
    matched[name] = true;
    const v1::CellResult& cb = *it->second;
    CellComparison cc;
    cc.name = name;
    cc.downtime = compare_metric(CompareMetric::kDowntime, ca.downtime(), cb.downtime(),
                                 {ca.downtimes_ns().begin(), ca.downtimes_ns().end()},
                                 {cb.downtimes_ns().begin(), cb.downtimes_ns().end()}, alpha);
    cc.duration = compare_metric(CompareMetric::kDuration, ca.duration(), cb.duration(),
                                 {ca.durations_ns().begin(), ca.durations_ns().end()},
                                 {cb.durations_ns().begin(), cb.durations_ns().end()}, alpha);
    for (const FailCondition& f : conditions) {
      const MetricComparison& m = f.metric == CompareMetric::kDowntime ? cc.downtime : cc.duration;
      if (!m.differs) continue;
      for (const StatChange& s : m.stats) {
        if (s.stat != f.stat) continue;
        const double change = f.percent ? s.change_percent
                                        : static_cast<double>(s.b_ns) - static_cast<double>(s.a_ns);
        const bool hit = f.greater ? change > f.threshold : change < f.threshold;
        if (hit) {
          cc.failed.push_back(f.text + " (" + metric_name(f.metric) + " " + s.stat + " " +
                              ms_or_s(s.a_ns, f.metric) + " -> " + ms_or_s(s.b_ns, f.metric) +
                              ", " + percent(s.change_percent) + ", p " + p_text(m.test) + ")");
        }
      }
    }
    out.failed = out.failed || !cc.failed.empty();
    out.cells.push_back(std::move(cc));
  }
  for (const auto& cb : b.cells()) {
    const std::string name = cell_name(cb.cell());
    if (matched.count(name) == 0) out.only_b.push_back(name);
  }
  return out;
}

std::string render_comparison_text(const CampaignComparison& c) {
  std::string out = "compare " + c.a_name + " (A) with " + c.b_name +
                    " (B): " + std::to_string(c.cells.size()) + " cells matched by their labels\n";
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"cell", "metric", "n A/B", "mean A -> B", "", "median A -> B", "", "p95 A -> B",
                  "", "max A -> B", "", "p", "verdict"});
  for (const CellComparison& cc : c.cells) {
    for (const MetricComparison* m : {&cc.downtime, &cc.duration}) {
      std::vector<std::string> row = {
          cc.name, metric_name(m->metric),
          std::to_string(m->a_count) + "/" + std::to_string(m->b_count)};
      for (const StatChange& s : m->stats) {
        if (s.stat == "p99") continue;
        row.push_back(ms_or_s(s.a_ns, m->metric) + " -> " + ms_or_s(s.b_ns, m->metric));
        row.push_back(percent(s.change_percent));
      }
      row.push_back(m->a_count == 0 || m->b_count == 0 ? "-" : p_text(m->test));
      std::string verdict = "same";
      if (m->a_count == 0 || m->b_count == 0) {
        verdict = "no data";
      } else if (m->differs) {
        verdict = m->stats[1].b_ns > m->stats[1].a_ns ? "DIFFERS (B slower)" : "DIFFERS (B faster)";
      }
      row.push_back(verdict);
      rows.push_back(std::move(row));
    }
  }
  out += text_table(rows, 2);
  char alpha[32];
  std::snprintf(alpha, sizeof alpha, "%g", c.alpha);
  out += "  p: Mann-Whitney U, two-sided (~: normal approximation); DIFFERS when p < " +
         std::string(alpha) + "\n";
  for (const auto& n : c.only_a) out += "  only in A: " + n + "\n";
  for (const auto& n : c.only_b) out += "  only in B: " + n + "\n";
  for (const CellComparison& cc : c.cells)
    for (const auto& f : cc.failed) out += "  FAIL " + cc.name + ": " + f + "\n";
  return out;
}

std::string render_comparison_json(const CampaignComparison& c) {
  nlohmann::json j;
  j["a"] = c.a_name;
  j["b"] = c.b_name;
  j["alpha"] = c.alpha;
  j["failed"] = c.failed;
  j["only_a"] = c.only_a;
  j["only_b"] = c.only_b;
  j["cells"] = nlohmann::json::array();
  for (const CellComparison& cc : c.cells) {
    nlohmann::json cell;
    cell["cell"] = cc.name;
    cell["failed"] = cc.failed;
    for (const MetricComparison* m : {&cc.downtime, &cc.duration}) {
      nlohmann::json mj;
      mj["a_count"] = m->a_count;
      mj["b_count"] = m->b_count;
      mj["u"] = m->test.u;
      mj["p"] = m->test.p;
      mj["exact"] = m->test.exact;
      mj["differs"] = m->differs;
      for (const StatChange& s : m->stats) {
        mj[s.stat] = {{"a_ns", s.a_ns}, {"b_ns", s.b_ns}, {"change_percent", s.change_percent}};
      }
      cell[metric_name(m->metric)] = mj;
    }
    j["cells"].push_back(cell);
  }
  return j.dump(1) + "\n";
}

}  // namespace migprobe::orchestrator
