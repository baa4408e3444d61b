// The campaign spec: YAML onto the proto, errors with file, line and column, unknown keys
// refused, the matrix expanded to cells with their labels and settings, the seed's size.

#include "orchestrator/campaign_spec.h"

#include <gtest/gtest.h>

namespace migprobe::orchestrator {
namespace {

constexpr const char* kSeed = R"(name: seed
defaults:
  source_host: compute1
  dest_host: compute2
  iterations: 30
  flows: "icmp=1ms,udp=1ms,tcp=1M"
axes:
  - name: flavor
    values: [{value: small, flavor: m1.small, queue_timeout: 20m}, medium, large]
  - name: storage
    values:
      - {value: ceph, cloud: ceph}
      - {value: local, cloud: local, block_migration: "yes", vm_metrics_period: 5s}
  - name: tunnelling
    values:
      - value: "on"
        before: {argv: [ansible-playbook, tunnel-on.yml], timeout: 10m}
      - value: "off"
        before: [ansible-playbook, tunnel-off.yml]
)";

TEST(CampaignSpec, TheSeedsMatrixIsTwelveCells) {
  auto spec = parse_campaign_spec(kSeed, "seed.yaml");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  auto cells = expand_cells(*spec);
  ASSERT_TRUE(cells.ok()) << cells.error().message;
  ASSERT_EQ(cells->size(), 12U);
  // The first axis varies slowest.
  EXPECT_EQ(cell_name((*cells)[0]), "flavor=small storage=ceph tunnelling=on");
  EXPECT_EQ(cell_name((*cells)[1]), "flavor=small storage=ceph tunnelling=off");
  EXPECT_EQ(cell_name((*cells)[11]), "flavor=large storage=local tunnelling=off");
  const v1::CellSettings& s = (*cells)[3].settings();  // small, local, off
  EXPECT_EQ(s.cloud(), "local");
  EXPECT_EQ(s.block_migration(), "yes");
  EXPECT_EQ(s.iterations(), 30U);
  EXPECT_EQ(s.flows_size(), 3);
  EXPECT_EQ(s.before().argv_size(), 2);
  EXPECT_EQ(s.before().argv(1), "tunnel-off.yml");
  // Defaults written out: what the run did, whatever the spec left unsaid.
  EXPECT_EQ(s.policy(), "wait");
  EXPECT_EQ(s.parallel(), 1U);
  EXPECT_EQ(s.settle_ns(), 2'000'000'000U);
  EXPECT_EQ(s.vm_metrics_period_ns(), 5'000'000'000U);
  EXPECT_EQ((*cells)[0].settings().vm_metrics_period_ns(), 1'000'000'000U);
  EXPECT_EQ((*cells)[0].settings().block_migration(), "auto");
  EXPECT_EQ((*cells)[0].settings().before().timeout_ns(), 600'000'000'000U);
  // An axis value sets the cell's flavor (checked against the cloud before the run) and its
  // queue timeout; the others keep the default.
  EXPECT_EQ((*cells)[0].settings().flavor(), "m1.small");
  EXPECT_FALSE((*cells)[4].settings().has_flavor());
  EXPECT_EQ((*cells)[0].settings().queue_timeout_ns(), 1'200'000'000'000U);
  EXPECT_EQ((*cells)[4].settings().queue_timeout_ns(), 3'600'000'000'000U);
}

TEST(CampaignSpec, ErrorsNameFileLineColumnAndWhatWasExpected) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      {"name: x\ndefaults:\n  source_hots: a\n",
       "spec.yaml:3:3: unknown key 'source_hots' in defaults"},
      {"name: x\ndefaults:\n  iterations: many\n",
       "spec.yaml:3:15: iterations must be a whole number from 1, not 'many'"},
      {"name: x\ndefaults:\n  settle: 5\n",
       "spec.yaml:3:11: settle must be a duration with its unit"},
      {"name: x\ndefaults:\n  policy: retry\n",
       "spec.yaml:3:11: policy must be wait, force-complete or abort, not 'retry'"},
      {"name: x\ndefaults:\n  flows: \"icmp=1ms,sctp=1ms\"\n", "spec.yaml:3:10: flows: "},
      {"name: x\naxes:\n  - name: a\n    values: []\n",
       "spec.yaml:4:13: values must be a non-empty list"},
      {"name: [x\n", "spec.yaml:"},
      {"name: x\n", "spec.yaml: no cells: give axes: or cells:"},
      {"name: x\ndefaults:\n  parallel: 0\n",
       "spec.yaml:3:13: parallel must be a whole number from 1, not '0'"},
      {"name: x\nrepeat: 3\n", "spec.yaml:2:1: unknown key 'repeat' in the campaign"},
      {"name: x\ndefaults:\n  vm_metrics_period: 10ms\n",
       "spec.yaml:3:22: vm_metrics_period must be 0s (off) or at least 100ms"},
  };
  for (const Case& c : cases) {
    auto spec = parse_campaign_spec(c.yaml, "spec.yaml");
    ASSERT_FALSE(spec.ok()) << c.yaml;
    EXPECT_NE(spec.error().message.find(c.want), std::string::npos)
        << "got: " << spec.error().message << "\nwant: " << c.want;
  }
}

TEST(CampaignSpec, ListedCellsAndWhatACellCannotDoWithout) {
  auto spec = parse_campaign_spec(R"(cells:
  - {labels: {run: a}, source_host: h1, dest_host: h2, parallel: 3, servers: [vm1, vm2]}
  - {labels: {run: b}, source_host: h1}
)",
                                  "cells.yaml");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  auto cells = expand_cells(*spec);
  ASSERT_FALSE(cells.ok());
  EXPECT_EQ(cells.error().message, "cell run=b: needs source_host and dest_host");
  spec->mutable_cells(1)->mutable_settings()->set_dest_host("h3");
  cells = expand_cells(*spec);
  ASSERT_TRUE(cells.ok()) << cells.error().message;
  ASSERT_EQ(cells->size(), 2U);
  EXPECT_EQ((*cells)[0].settings().parallel(), 3U);
  EXPECT_EQ((*cells)[0].settings().servers_size(), 2);
  EXPECT_EQ((*cells)[1].settings().dest_host(), "h3");
  // The flows `evacuate` probes with when none are given, written out.
  EXPECT_EQ((*cells)[0].settings().flows_size(), 2);
  EXPECT_EQ((*cells)[0].settings().flows(0).reply_timeout_ns(), 100'000'000U);
  // Two cells with the same labels could not be told apart.
  (*spec->mutable_cells(1)->mutable_labels())["run"] = "a";
  cells = expand_cells(*spec);
  ASSERT_FALSE(cells.ok());
  EXPECT_EQ(cells.error().message,
            "cells 1 and 2 have the same labels (run=a): give each cell labels of its own");
}

TEST(CampaignSpec, ABootstrapGivesTheCellsItsSlice) {
  auto spec = parse_campaign_spec(R"(name: demo
bootstrap:
  image: {name: guest, file: /var/tmp/guest.img}
  flavors: seed
  keypair: {name: demo, public_key_file: /root/.ssh/id_ed25519.pub}
  security_group: {name: demo-probe, from: 10.77.0.2/32, icmp: true, udp: 7, tcp: [9, 7]}
  network: lab-net
  slice: {count: 3, flavor: small, host: hostA, servers: {1: {migprobe_load: "8,300000"}}}
defaults: {dest_host: hostB}
cells:
  - labels: {copy: pre}
  - {labels: {copy: two}, servers: [other]}
)",
                                  "demo.yaml");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  const v1::BootstrapSpec& b = spec->bootstrap();
  ASSERT_EQ(b.flavors_size(), 3);
  EXPECT_EQ(b.flavors(2).name(), "large");
  EXPECT_EQ(b.flavors(2).ram_mb(), 16U * 1024);
  EXPECT_EQ(b.flavors(2).disk_gb(), 160U);
  EXPECT_EQ(b.security_group().udp_ports_size(), 1);
  EXPECT_EQ(b.security_group().tcp_ports_size(), 2);
  EXPECT_TRUE(b.security_group().icmp());
  EXPECT_EQ(b.slice().server_metadata().at(1).metadata().at("migprobe_load"), "8,300000");
  EXPECT_EQ(slice_server_names(*spec), (std::vector<std::string>{"demo-1", "demo-2", "demo-3"}));
  auto cells = expand_cells(*spec);
  ASSERT_TRUE(cells.ok()) << cells.error().message;
  // A cell without servers moves the slice from its host; one that names servers keeps them.
  const v1::CellSettings& first = (*cells)[0].settings();
  EXPECT_EQ(first.source_host(), "hostA");
  ASSERT_EQ(first.servers_size(), 3);
  EXPECT_EQ(first.servers(2), "demo-3");
  EXPECT_EQ((*cells)[1].settings().servers_size(), 1);
}

TEST(CampaignSpec, BootstrapErrorsSayWhatIsMissing) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      {"name: x\nbootstrap:\n  slice: {count: 2, flavor: f}\ncells: [{labels: {a: b}}]\n",
       "spec.yaml:3:10: bootstrap.slice needs count:, flavor: and host:"},
      {"name: x\nbootstrap:\n  slice: {count: 2, flavor: f, host: h}\n"
       "defaults: {dest_host: g}\ncells: [{labels: {a: b}}]\n",
       "bootstrap.slice needs an image: to boot from"},
      {"name: x\nbootstrap:\n  flavors: [{name: f, vcpus: 0, ram_mb: 1}]\n",
       "spec.yaml:3:30: flavor.vcpus must be a whole number from 1 to 4096, not '0'"},
      {"name: x\nbootstrap:\n  flavors: big\n", "bootstrap.flavors must be a list"},
      {"name: x\nbootstrap:\n  security_group: {name: g}\n",
       "bootstrap.security_group needs name: and from:"},
      {"name: x\nbootstrap:\n  security_group: {name: g, from: 1.2.3.4/32, udp: 70000}\n",
       "security_group.udp must be a whole number from 1 to 65535, not '70000'"},
      {"name: x\nbootstrap:\n  image: {name: i}\n", "bootstrap.image needs name: and file:"},
      {"name: x\nbootstrap:\n  keypair: {name: k, key: abc}\n",
       "unknown key 'key' in bootstrap.keypair"},
      {"bootstrap:\n  network: n\ncells: [{labels: {a: b}}]\n",
       "a bootstrap needs the campaign's name:"},
      {"name: x\nbootstrap:\n  image: {name: i, file: f}\n"
       "  slice: {count: 2, flavor: f, host: h, servers: {3: {k: v}}}\n",
       "slice.servers names server 3 of 2"},
  };
  for (const Case& c : cases) {
    auto spec = parse_campaign_spec(c.yaml, "spec.yaml");
    ASSERT_FALSE(spec.ok()) << c.yaml;
    EXPECT_NE(spec.error().message.find(c.want), std::string::npos)
        << "got: " << spec.error().message << "\nwant: " << c.want;
  }
}

}  // namespace
}  // namespace migprobe::orchestrator
