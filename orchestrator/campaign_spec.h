#pragma once
// The campaign spec (issue 13): YAML onto migprobe.v1.CampaignSpec, every error naming the
// file, the line and column and what was expected; unknown keys refused. Then the matrix
// expanded to cells, each with its labels and its settings filled in (defaults, then each
// axis value's, then the cell's own), and checked.
//
//   name: seed
//   defaults: {source_host: compute1, dest_host: compute2, iterations: 30,
//              flows: "icmp=1ms,udp=1ms,tcp=1M"}
//   axes:
//     - name: flavor
//       values: [{value: small, servers: [s1]}, {value: large, servers: [l1]}]
//     - name: storage
//       values: [{value: ceph, cloud: ceph}, {value: local, cloud: local, block_migration: "yes"}]

#include <string>
#include <vector>

#include "base/result.h"
#include "migprobe/v1/campaign.pb.h"

namespace migprobe::orchestrator {

// Reads a spec from YAML text; source names it in errors ("spec.yaml").
base::Result<v1::CampaignSpec> parse_campaign_spec(const std::string& yaml,
                                                   const std::string& source);
// Reads a spec file.
base::Result<v1::CampaignSpec> load_campaign_spec(const std::string& path);

// The cells of a spec: the axes' every combination (the first axis varying slowest), then
// the listed cells; each with every setting filled in (built-in defaults where the spec says
// nothing). An error names the cell and what is missing or inconsistent.
base::Result<std::vector<v1::Cell>> expand_cells(const v1::CampaignSpec& spec);

// The prefix of every name the bootstrap gives: bootstrap.prefix, else the campaign's name.
std::string bootstrap_prefix(const v1::CampaignSpec& spec);
// The slice's server names: PREFIX-1 .. PREFIX-count.
std::vector<std::string> slice_server_names(const v1::CampaignSpec& spec);

// "flavor=small storage=ceph": a cell's labels in axis order, for progress and reports.
std::string cell_name(const v1::Cell& cell);

}  // namespace migprobe::orchestrator
