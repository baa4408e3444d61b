// campaign compare: the rank test (exact distribution checked against brute force, the
// normal approximation with ties), the --fail-if grammar, cells matched by labels, and a
// regression flagged only where the distributions differ.

#include "orchestrator/campaign_compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace migprobe::orchestrator {
namespace {

// Two-sided p by enumerating every way to split the pooled values (no ties).
double brute_force_p(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  std::vector<uint64_t> pooled(a);
  pooled.insert(pooled.end(), b.begin(), b.end());
  const size_t m = a.size();
  auto u_of = [&](const std::vector<bool>& in_a) {
    double u = 0;
    for (size_t i = 0; i < pooled.size(); ++i) {
      if (!in_a[i]) continue;
      for (size_t j = 0; j < pooled.size(); ++j)
        if (!in_a[j] && pooled[i] > pooled[j]) u += 1;
    }
    return u;
  };
  std::vector<bool> observed(pooled.size(), false);
  std::fill(observed.begin(), observed.begin() + static_cast<long>(m), true);
  const double mn = static_cast<double>(m * b.size());
  const double u_obs = u_of(observed);
  const double dist_obs = std::fabs(u_obs - mn / 2);
  std::vector<bool> pick(pooled.size(), false);
  std::fill(pick.end() - static_cast<long>(m), pick.end(), true);
  double total = 0;
  double extreme = 0;
  do {
    total += 1;
    if (std::fabs(u_of(pick) - mn / 2) >= dist_obs - 1e-9) extreme += 1;
  } while (std::next_permutation(pick.begin(), pick.end()));
  return extreme / total;
}

TEST(MannWhitney, ExactSmallSamples) {
  RankTest t = mann_whitney({1, 2, 3}, {4, 5, 6});
  EXPECT_TRUE(t.exact);
  EXPECT_EQ(t.u, 0);
  EXPECT_NEAR(t.p, 0.1, 1e-12);  // 2 of the 20 splits are as extreme
  t = mann_whitney({1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12});
  EXPECT_NEAR(t.p, 2.0 / 924, 1e-12);
  t = mann_whitney({1, 3, 5}, {2, 4, 6});
  EXPECT_EQ(t.u, 3);
  EXPECT_NEAR(t.p, 0.7, 1e-12);
  // Symmetric.
  EXPECT_NEAR(mann_whitney({2, 4, 6}, {1, 3, 5}).p, 0.7, 1e-12);
}

TEST(MannWhitney, ExactDistributionAgreesWithBruteForce) {
  const std::vector<std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> cases = {
      {{10, 20, 30, 40, 50}, {15, 25, 35, 45, 55}},
      {{1, 2, 3, 9}, {4, 5, 6, 7, 8, 10, 11}},
      {{5, 100, 7, 3, 8, 60}, {1, 2, 4, 6}},
      {{1, 30}, {2, 3, 4, 5, 6, 7, 8, 9, 10}},
  };
  for (const auto& [a, b] : cases) {
    const RankTest t = mann_whitney(a, b);
    EXPECT_TRUE(t.exact);
    EXPECT_NEAR(t.p, std::min(1.0, brute_force_p(a, b)), 1e-9) << a.size() << " vs " << b.size();
  }
}

TEST(MannWhitney, TiesAndLargeSamplesUseTheNormalApproximation) {
  // Every value equal: no evidence of a difference.
  RankTest t = mann_whitney({5, 5, 5}, {5, 5, 5});
  EXPECT_FALSE(t.exact);
  EXPECT_EQ(t.p, 1);
  // Ties: the approximation (0.137) near the permutation p (0.2: 14 of the 70 splits of
  // {1,2,2,3 | 2,3,4,5} as extreme, ties counted half).
  t = mann_whitney({1, 2, 2, 3}, {2, 3, 4, 5});
  EXPECT_FALSE(t.exact);
  EXPECT_GT(t.p, 0.05);
  EXPECT_LT(t.p, 0.3);
  // 60 against 60, shifted: clearly different; interleaved: not.
  std::vector<uint64_t> low, high, odd, even;
  for (uint64_t i = 0; i < 60; ++i) {
    low.push_back(100 + i);
    high.push_back(150 + i);
    odd.push_back(2 * i + 1);
    even.push_back(2 * i);
  }
  EXPECT_LT(mann_whitney(low, high).p, 1e-10);
  EXPECT_GT(mann_whitney(odd, even).p, 0.8);
  EXPECT_EQ(mann_whitney({}, {1, 2}).p, 1);
}

TEST(FailCondition, Grammar) {
  auto c = parse_fail_condition("p95 > +10%");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->metric, CompareMetric::kDowntime);
  EXPECT_EQ(c->stat, "p95");
  EXPECT_TRUE(c->greater);
  EXPECT_TRUE(c->percent);
  EXPECT_EQ(c->threshold, 10);
  c = parse_fail_condition("duration.median>+5s");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->metric, CompareMetric::kDuration);
  EXPECT_FALSE(c->percent);
  EXPECT_EQ(c->threshold, 5e9);
  c = parse_fail_condition("downtime.mean < -20%");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->greater);
  EXPECT_EQ(c->threshold, -20);
  for (const char* bad :
       {"p95 +10%", "p90 > +10%", "p95 > 10%", "speed.p95 > +1%", "p95 > +10", "p95 > +x%"}) {
    auto r = parse_fail_condition(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find(std::string("--fail-if '") + bad + "'"), std::string::npos)
        << r.error().message;
  }
}

v1::CellResult cell(const std::string& label, const std::vector<uint64_t>& downtimes_ms,
                    const std::vector<uint64_t>& durations_s) {
  v1::CellResult c;
  (*c.mutable_cell()->mutable_labels())["setting"] = label;
  for (uint64_t v : downtimes_ms) c.add_downtimes_ns(v * 1'000'000);
  for (uint64_t v : durations_s) c.add_durations_ns(v * 1'000'000'000);
  auto stats = [](const auto& values, v1::DowntimeStats* s) {
    std::vector<uint64_t> v(values.begin(), values.end());
    std::sort(v.begin(), v.end());
    s->set_count(static_cast<uint32_t>(v.size()));
    s->set_median_ns(v[v.size() / 2]);
    s->set_p95_ns(v.back());
    s->set_max_ns(v.back());
    s->set_mean_ns(v[v.size() / 2]);
  };
  stats(c.downtimes_ns(), c.mutable_downtime());
  stats(c.durations_ns(), c.mutable_duration());
  return c;
}

TEST(CompareCampaigns, FlagsOnlyWhatDiffers) {
  v1::CampaignReport a, b;
  a.set_name("base");
  b.set_name("candidate");
  // "capped": slower migrations, same downtime; "noisy": the same distribution, its p95
  // 12% higher by chance; "gone": only in A; "new": only in B.
  *a.add_cells() = cell("capped", {100, 120, 140, 160, 180, 200}, {2, 3, 2, 3, 2, 3});
  *b.add_cells() = cell("capped", {110, 130, 150, 170, 190, 205}, {16, 17, 16, 18, 17, 16});
  *a.add_cells() = cell("noisy", {100, 150, 200, 250, 300, 350}, {2, 3, 4, 5, 6, 7});
  *b.add_cells() = cell("noisy", {110, 160, 190, 240, 310, 392}, {2, 3, 4, 5, 6, 7});
  *a.add_cells() = cell("gone", {1}, {1});
  *b.add_cells() = cell("new", {1}, {1});
  std::vector<FailCondition> conditions;
  for (const char* text : {"p95 > +10%", "duration.p95 > +10%"}) {
    auto c = parse_fail_condition(text);
    ASSERT_TRUE(c.ok());
    conditions.push_back(*c);
  }
  const CampaignComparison r = compare_campaigns(a, b, conditions, 0.05);
  ASSERT_EQ(r.cells.size(), 2U);
  EXPECT_EQ(r.cells[0].name, "setting=capped");
  EXPECT_FALSE(r.cells[0].downtime.differs);
  EXPECT_TRUE(r.cells[0].duration.differs);
  EXPECT_LT(r.cells[0].duration.test.p, 0.01);
  ASSERT_EQ(r.cells[0].failed.size(), 1U);
  EXPECT_EQ(r.cells[0].failed[0].substr(0, 20), "duration.p95 > +10% ");
  EXPECT_EQ(r.cells[1].name, "setting=noisy");
  EXPECT_FALSE(r.cells[1].downtime.differs);
  EXPECT_NEAR(r.cells[1].downtime.stats[2].change_percent, 12.0, 1e-9);
  EXPECT_TRUE(r.cells[1].failed.empty());
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.only_a, std::vector<std::string>{"setting=gone"});
  EXPECT_EQ(r.only_b, std::vector<std::string>{"setting=new"});
  const std::string text = render_comparison_text(r);
  EXPECT_NE(text.find("DIFFERS (B slower)"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL setting=capped: duration.p95 > +10%"), std::string::npos) << text;
  EXPECT_NE(text.find("only in A: setting=gone"), std::string::npos) << text;
  // Without conditions nothing fails, whatever differs.
  EXPECT_FALSE(compare_campaigns(a, b, {}, 0.05).failed);
}

}  // namespace
}  // namespace migprobe::orchestrator
