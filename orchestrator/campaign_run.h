#pragma once
// A campaign run (issue 13): the cells of a spec one after the other, each an evacuation run
// (evacuation_run.h) in a directory of its own under the campaign's, with the cell's before
// and after commands around it. The campaign journal (campaign.mpj) holds the spec with its
// cells written out and each cell's progress; each cell's journal holds its migrations, every
// one carrying the cell's name and labels. The campaign report (campaign_report.h) is written
// at the end.

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "control/nova_client.h"
#include "control/result.h"
#include "migprobe/v1/campaign.pb.h"
#include "orchestrator/evacuation_options.h"
#include "orchestrator/migration_driver.h"
#include "orchestrator/run_progress.h"

namespace migprobe::orchestrator {

// What the command line gives a campaign besides its spec.
struct CampaignOptions {
  std::string spec_path;
  std::string out_dir;
  // The dataplane; empty runs without probing.
  std::string dataplane_socket;
  std::string hypervisor_figures;
  std::chrono::milliseconds poll_interval{250};
  std::chrono::milliseconds dataplane_grace{std::chrono::seconds(30)};
  bool quiet = false;
};

// The Nova client of a cloud (a clouds.yaml entry; empty: the command line's or the
// environment's), connected once and kept by the caller.
using NovaForCloud = std::function<control::Result<control::NovaClient*>(const std::string&)>;

// The evacuation a cell runs: its settings as evacuation options, into dir.
EvacuationOptions cell_options(const v1::CampaignSpec& spec, const v1::Cell& cell,
                               const CampaignOptions& options, const std::string& dir);

// The directory of cell index (1-based) under the campaign's: "cells/02-flavor=large".
std::string cell_dir(const v1::Cell& cell, size_t index);

// What is wrong with a cell's flavor setting (s.flavor(), a name or id): the flavor is not
// among flavors, or a server the cell moves (those it names, else every server on the
// source host) has another flavor. Empty when all is well or the cell sets no flavor.
std::vector<std::string> flavor_problems(const v1::CellSettings& s,
                                         const std::vector<control::Flavor>& flavors,
                                         const std::vector<control::Server>& on_source);

// Checks the cells against their clouds without migrating anything: each host pair exists
// and is up and enabled, the servers named are on the source host (or some server is, when
// none is named), the cell's flavor exists and is its servers'. One line per problem,
// naming the cell; empty when all is well. Servers named in to_create (a bootstrap's slice,
// not booted yet) are not looked for.
std::vector<std::string> check_cells_against_cloud(const std::vector<v1::Cell>& cells,
                                                   const NovaForCloud& nova_for,
                                                   RunProgress& progress,
                                                   const std::set<std::string>& to_create = {});

// Runs every cell in order and writes the campaign report. Exit codes are those of
// run_evacuation (RunExit): 0 every cell ran and every migration completed, 1 a migration
// failed or a cell was skipped or failed, 2 the campaign could not start, 3 interrupted,
// 4 the dataplane was lost, 5 a journal or report could not be written.
int run_campaign(const v1::CampaignSpec& spec, const std::vector<v1::Cell>& cells,
                 const CampaignOptions& options, const NovaForCloud& nova_for,
                 RunProgress& progress, StopRequest& stop);

// Goes on with the campaign in options.out_dir after it stopped (migprobe-control killed, a
// power loss, Ctrl-C): its spec and cells from the campaign journal (a torn last record cut,
// with a message), the cells that ended left as they are, the one begun resumed
// (resume_evacuation: its before command runs again first), the rest run; then the campaign
// report. The dataplane socket and hypervisor figures default to the run's (options empty);
// options.spec_path is the run's. Same exit codes, over every cell.
int resume_campaign(CampaignOptions options, const NovaForCloud& nova_for, RunProgress& progress,
                    StopRequest& stop);

}  // namespace migprobe::orchestrator
