// Truth test: each golden JSON report (pcaps/NAME.expected.json, which the golden tests
// prove migprobe-analyze still writes) against what the generator put in the capture
// (pcaps/NAME.truth.json): every injected gap found, on the right probes, with bounds that
// contain the true outage and an estimate within one interval; flows, announces, drops
// and migrations as generated. A golden file updated without looking fails here.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Json = nlohmann::json;

const std::string kPcaps = MIGPROBE_PCAPS_DIR;

Json load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return Json::parse(in);
}

// The protobuf JSON mapping writes 64-bit integers as strings.
uint64_t u64(const Json& j) {
  if (j.is_string()) return std::stoull(j.get<std::string>());
  return j.get<uint64_t>();
}

uint64_t u64_or(const Json& j, const char* key) {
  return j.contains(key) ? u64(j[key]) : 0;
}

bool flag(const Json& j, const char* key) {
  return j.contains(key) && j[key].get<bool>();
}

std::vector<std::string> scenarios() {
  std::vector<std::string> names;
  std::ifstream in(kPcaps + "/golden.list");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    names.push_back(line.substr(0, line.find(' ')));
  }
  return names;
}

// A flow of the report matching a flow of the truth: probe flows by flow id, foreign
// pings by ICMP id (the truth stores it as the flow id).
struct ReportFlow {
  const Json* flow = nullptr;
  const Json* target = nullptr;
};

ReportFlow find_flow(const Json& report, const Json& truth_flow) {
  const bool foreign = truth_flow["kind"] == "foreign-ping";
  for (const Json& t : report["targets"]) {
    for (const Json& f : t["flows"]) {
      const uint64_t id = foreign ? u64_or(f, "icmp_id") : u64_or(f, "flow_id");
      const bool kind_ok = foreign == (f["kind"] == "FLOW_KIND_FOREIGN_ICMP");
      if (kind_ok && id == u64(truth_flow["flow_id"])) return {&f, &t};
    }
  }
  return {};
}

class TruthTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TruthTest, ReportMatchesWhatWasGenerated) {
  const std::string name = GetParam();
  const Json truth = load(kPcaps + "/" + name + ".truth.json");
  const Json report = load(kPcaps + "/" + name + ".expected.json");

  EXPECT_EQ(u64(report["source"]["packets"]), u64(truth["frames"]));

  size_t report_gaps = 0;
  for (const Json& t : report["targets"]) {
    for (const Json& f : t["flows"]) report_gaps += f["gaps"].size();
  }
  size_t truth_gaps = 0;

  for (const Json& tf : truth["flows"]) {
    SCOPED_TRACE("flow " + tf["flow_id"].dump());
    const ReportFlow rf = find_flow(report, tf);
    ASSERT_NE(rf.flow, nullptr) << "flow missing from the report";
    const Json& flow = *rf.flow;
    EXPECT_EQ((*rf.target)["ip"], tf["target"]);
    EXPECT_EQ((*rf.target)["mac"], tf["target_mac"]);
    EXPECT_EQ(u64(flow["sent"]), u64(tf["sent"]));
    EXPECT_EQ(u64(flow["answered"]), u64(tf["answered"]));
    EXPECT_EQ(u64_or(flow, "duplicates"), u64(tf["duplicate_replies"]));
    EXPECT_EQ(u64_or(flow, "reordered"), u64(tf["reordered_replies"]));
    EXPECT_EQ(u64(flow["interval_ns"]), u64(tf["interval_ns"]));
    const uint64_t interval = u64(tf["interval_ns"]);

    for (const Json& tg : truth["gaps"]) {
      if (tg["flow_id"] != tf["flow_id"]) continue;
      ++truth_gaps;
      const auto before = static_cast<uint32_t>(u64(tg["first_lost_seq"]) - 1);
      SCOPED_TRACE("gap after seq " + std::to_string(before));
      const Json* found = nullptr;
      for (const Json& g : flow["gaps"]) {
        if (static_cast<uint32_t>(u64_or(g, "seq_before")) == before) found = &g;
      }
      ASSERT_NE(found, nullptr) << "injected gap not reported";
      const Json& g = *found;
      const uint64_t truth_ns = u64(tg["outage_ns"]);
      const uint64_t lower = u64_or(g, "lower_bound_ns");
      const uint64_t upper = u64_or(g, "upper_bound_ns");
      const uint64_t estimate = u64_or(g, "estimate_ns");
      EXPECT_EQ(flag(g, "open_start"), tg["open_start"].get<bool>());
      EXPECT_EQ(flag(g, "open_end"), tg["open_end"].get<bool>());
      EXPECT_LE(lower, truth_ns);
      if (tg["open_end"].get<bool>()) {
        // Only probes sent a reply timeout before the end count: fewer than were lost.
        EXPECT_LE(u64(g["lost"]), u64(tg["lost"]));
        EXPECT_GT(u64(g["lost"]), 0u);
        continue;
      }
      EXPECT_EQ(static_cast<uint32_t>(u64(g["seq_after"])),
                static_cast<uint32_t>(u64(tg["last_lost_seq"]) + 1));
      EXPECT_EQ(u64(g["lost"]), u64(tg["lost"]));
      if (tg["open_start"].get<bool>()) continue;
      EXPECT_GE(upper, truth_ns);
      const uint64_t err = estimate > truth_ns ? estimate - truth_ns : truth_ns - estimate;
      EXPECT_LE(err, interval) << "estimate " << estimate << " truth " << truth_ns;
      if (tf["kind"] == "udp-reflect") {
        EXPECT_TRUE(flag(g, "has_direction"));
        EXPECT_EQ(u64_or(g, "forward_lost"), u64(tg["forward_lost"]));
        EXPECT_EQ(u64_or(g, "return_lost"), u64(tg["return_lost"]));
      }
      // An announce inside the outage (RARP from the VM's MAC) splits the gap.
      for (const Json& a : truth["announces"]) {
        if (a["kind"] != "rarp" || a["mac"] != tf["target_mac"]) continue;
        const uint64_t at = u64(a["ns"]);
        if (at < u64(tg["start_ns"]) || at > u64(tg["end_ns"])) continue;
        EXPECT_TRUE(flag(g, "has_announce"));
        EXPECT_EQ(u64_or(g, "announce_ns"), at);
        EXPECT_EQ(u64_or(g, "before_announce_ns") + u64_or(g, "after_announce_ns"), estimate);
      }
      if (tg.contains("migration")) {
        const uint64_t n = u64_or(g, "migration_number");
        if (tg["migration"] == "-") {
          EXPECT_EQ(n, 0u) << "gap outside every migration was attributed";
        } else {
          ASSERT_GE(n, 1u) << "gap not attributed to " << tg["migration"];
          ASSERT_LE(n, report["migrations"].size());
          const Json& m = report["migrations"][n - 1];
          EXPECT_EQ(m["instance_name"].get<std::string>() + "#" + m["iteration"].dump(),
                    tg["migration"].get<std::string>());
        }
      }
    }
  }
  EXPECT_EQ(report_gaps, truth_gaps) << "gaps reported that were never injected";

  // Announces: every one generated is reported, at its time.
  ASSERT_EQ(report["announces"].size(), truth["announces"].size());
  for (size_t i = 0; i < truth["announces"].size(); ++i) {
    const Json& a = report["announces"][i];
    const Json& t = truth["announces"][i];
    EXPECT_EQ(u64(a["seen_ns"]), u64(t["ns"]));
    EXPECT_EQ(a["mac"], t["mac"]);
    EXPECT_EQ(a["kind"], t["kind"] == "rarp" ? "ANNOUNCE_KIND_RARP" : "ANNOUNCE_KIND_GARP");
  }

  // Drops: exactly the frames made to be dropped, by reason.
  Json drops = Json::object();
  for (const Json& d : report["drops"]) drops[d["reason"].get<std::string>()] = u64(d["count"]);
  EXPECT_EQ(drops, truth["drops"]);
}

INSTANTIATE_TEST_SUITE_P(Pcaps, TruthTest, ::testing::ValuesIn(scenarios()), [](const auto& p) {
  std::string n = p.param;
  for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return n;
});

}  // namespace
