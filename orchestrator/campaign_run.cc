#include "orchestrator/campaign_run.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "analysis/journal.h"
#include "base/clock.h"
#include "control/run_journal.h"
#include "orchestrator/campaign_report.h"
#include "orchestrator/campaign_spec.h"
#include "orchestrator/cell_command.h"
#include "orchestrator/evacuation_run.h"

namespace migprobe::orchestrator {
namespace {

using base::realtime_ns;

std::chrono::milliseconds ms(uint64_t ns) {
  return std::chrono::milliseconds(ns / 1'000'000);
}

bool make_dir(const std::string& path, RunProgress& progress) {
  if (mkdir(path.c_str(), 0750) == 0 || errno == EEXIST) return true;
  progress.problem("cannot create " + path + ": " + std::strerror(errno));
  return false;
}

void journal_campaign(control::RunJournal& journal, const std::string& state,
                      const CampaignOptions& options, const v1::CampaignSpec& spec,
                      const std::vector<v1::Cell>& cells) {
  v1::JournalRecord r;
  v1::CampaignEvent& c = *r.mutable_campaign();
  c.set_seen_ns(realtime_ns());
  c.set_state(state);
  c.set_dataplane_socket(options.dataplane_socket);
  c.set_hypervisor_figures(options.hypervisor_figures);
  if (state == "started") {
    c.set_spec_path(options.spec_path);
    *c.mutable_spec() = spec;
    for (const auto& cell : cells) *c.add_cells() = cell;
  }
  journal.append(r);
  journal.flush(true);
}

// The worse of two exit codes for the campaign as a whole.
int worse(int a, int b) {
  auto rank = [](int code) {
    switch (code) {
      case kRunAllCompleted:
        return 0;
      case kRunSomeFailed:
        return 1;
      case kRunCouldNotStart:
        return 2;
      case kRunInterrupted:
        return 3;
      case kRunProbeLost:
        return 4;
      default:
        return 5;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace

std::string cell_dir(const v1::Cell& cell, size_t index) {
  char number[16];
  std::snprintf(number, sizeof number, "%02zu", index);
  std::string name = cell_name(cell);
  for (char& ch : name) {
    const bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '=' || ch == '_';
    if (ch == ' ') {
      ch = ',';
    } else if (!keep) {
      ch = '_';
    }
  }
  if (name.size() > 80) name.resize(80);
  return "cells/" + std::string(number) + "-" + name;
}

EvacuationOptions cell_options(const v1::CampaignSpec& spec, const v1::Cell& cell,
                               const CampaignOptions& options, const std::string& dir) {
  const v1::CellSettings& s = cell.settings();
  EvacuationOptions o;
  o.source_host = s.source_host();
  o.dest_host = s.dest_host();
  o.servers.assign(s.servers().begin(), s.servers().end());
  o.iterations = s.iterations();
  o.parallel = s.parallel();
  // The spec's reader checked the name.
  parse_policy(s.policy(), &o.policy);
  o.converge_timeout = ms(s.converge_timeout_ns());
  o.migration_timeout = ms(s.migration_timeout_ns());
  o.queue_timeout = ms(s.queue_timeout_ns());
  o.settle = ms(s.settle_ns());
  o.vm_metrics_period = ms(s.vm_metrics_period_ns());
  o.block_migration = s.block_migration();
  o.flows.assign(s.flows().begin(), s.flows().end());
  o.poll_interval = options.poll_interval;
  o.dataplane_socket = options.dataplane_socket;
  o.dataplane_grace = options.dataplane_grace;
  o.out_dir = dir;
  o.campaign = spec.name();
  o.cell = cell_name(cell);
  o.labels.insert(cell.labels().begin(), cell.labels().end());
  o.hypervisor_figures = options.hypervisor_figures;
  // The campaign prints its own report at the end, not one per cell.
  o.quiet = true;
  return o;
}

std::vector<std::string> flavor_problems(const v1::CellSettings& s,
                                         const std::vector<control::Flavor>& flavors,
                                         const std::vector<control::Server>& on_source) {
  if (!s.has_flavor()) return {};
  const auto flavor = std::find_if(flavors.begin(), flavors.end(), [&](const control::Flavor& f) {
    return f.name == s.flavor() || f.id == s.flavor();
  });
  if (flavor == flavors.end()) {
    std::string known;
    for (const auto& f : flavors) known += (known.empty() ? "" : ", ") + f.name;
    return {"no flavor '" + s.flavor() +
            "' in Nova (it has: " + (known.empty() ? std::string("none") : known) + ")"};
  }
  std::vector<std::string> problems;
  for (const control::Server& server : on_source) {
    const bool moved =
        s.servers().empty() ||
        std::any_of(s.servers().begin(), s.servers().end(),
                    [&](const std::string& w) { return w == server.name || w == server.id; });
    if (!moved) continue;
    if (server.flavor_name.empty() && server.flavor_id.empty()) {
      problems.push_back("Nova does not say the flavor of server " + server.name);
    } else if (server.flavor_name != flavor->name && server.flavor_id != flavor->id) {
      problems.push_back("server " + server.name + " is of flavor " +
                         (server.flavor_name.empty() ? server.flavor_id : server.flavor_name) +
                         ", not " + flavor->name);
    }
  }
  return problems;
}

std::vector<std::string> check_cells_against_cloud(const std::vector<v1::Cell>& cells,
                                                   const NovaForCloud& nova_for,
                                                   RunProgress& progress,
                                                   const std::set<std::string>& to_create) {
  std::vector<std::string> problems;
  // (cloud, host) -> what is wrong with it, empty when fine: each asked once.
  std::map<std::pair<std::string, std::string>, std::string> hosts;
  // cloud -> its flavors, read once.
  std::map<std::string, std::vector<control::Flavor>> flavors_of;
  for (size_t i = 0; i < cells.size(); ++i) {
    const v1::CellSettings& s = cells[i].settings();
    const std::string cell = "cell " + std::to_string(i + 1) + " (" + cell_name(cells[i]) + ")";
    const std::string cloud = s.cloud().empty() ? "the default cloud" : "cloud " + s.cloud();
    auto nova = nova_for(s.cloud());
    if (!nova.ok()) {
      problems.push_back(cell + ": " + cloud + ": " + nova.error().to_string());
      continue;
    }
    if (auto v = (*nova)->negotiate(); !v.ok()) {
      problems.push_back(cell + ": " + cloud + ": " + v.error().to_string());
      continue;
    }
    for (const std::string& host : {s.source_host(), s.dest_host()}) {
      auto [it, fresh] = hosts.try_emplace({s.cloud(), host});
      if (fresh) {
        auto found = (*nova)->hypervisor_servers(host, /*strict=*/true);
        if (!found.ok() && found.error().http_status == 404) {
          it->second =
              "no hypervisor " + host + " in " + cloud + " (Nova: " + found.error().message + ")";
        } else if (!found.ok()) {
          it->second = "hypervisor " + host + ": " + found.error().to_string();
        } else if (found->value.empty()) {
          it->second = "no hypervisor " + host + " in " + cloud;
        } else if (found->value.front().state != "up") {
          it->second = "hypervisor " + host + " is " + found->value.front().state;
        } else if (found->value.front().status != "enabled") {
          it->second = "hypervisor " + host + " is " + found->value.front().status;
        } else {
          progress.line(cloud + ": hypervisor " + host + " up and enabled");
        }
      }
      if (!it->second.empty()) problems.push_back(cell + ": " + it->second);
    }
    auto on_source = (*nova)->servers_on_host(s.source_host());
    if (!on_source.ok()) {
      problems.push_back(cell + ": servers on " + s.source_host() + ": " +
                         on_source.error().to_string());
      continue;
    }
    const auto& listed = on_source->value;
    for (const std::string& want : s.servers()) {
      if (to_create.count(want) != 0) continue;
      if (std::none_of(listed.begin(), listed.end(), [&](const control::Server& server) {
            return server.name == want || server.id == want;
          })) {
        problems.push_back(cell + ": server '" + want + "' is not on host " + s.source_host());
      }
    }
    if (s.servers().empty() && listed.empty()) {
      problems.push_back(cell + ": no servers on host " + s.source_host() + " to evacuate");
    }
    if (s.has_flavor()) {
      auto flavors = flavors_of.try_emplace(s.cloud());
      if (flavors.second) {
        auto got = (*nova)->flavors();
        if (got.ok()) {
          flavors.first->second = std::move(got->value);
        } else {
          problems.push_back(cell + ": flavors of " + cloud + ": " + got.error().to_string());
          continue;
        }
      }
      for (const std::string& problem : flavor_problems(s, flavors.first->second, listed))
        problems.push_back(cell + ": " + problem);
    }
  }
  return problems;
}

namespace {

// Runs the cells in order into an open campaign journal, then closes it and writes the
// campaign report. earlier: each cell's last event before a resume (null for a fresh run).
int run_cells(const v1::CampaignSpec& spec, const std::vector<v1::Cell>& cells,
              const CampaignOptions& options, const NovaForCloud& nova_for, RunProgress& progress,
              StopRequest& stop, control::RunJournal& journal,
              const std::map<uint32_t, const v1::CellEvent*>* earlier) {
  int exit_code = kRunAllCompleted;
  bool stopped = false;
  for (size_t i = 0; i < cells.size() && !stopped; ++i) {
    if (stop.stop_new()) break;
    const v1::Cell& cell = cells[i];
    const std::string dir = cell_dir(cell, i + 1);
    // A resumed campaign: the cells that ended are done; one begun goes on.
    bool go_on = false;
    if (earlier != nullptr) {
      const auto e = earlier->find(static_cast<uint32_t>(i + 1));
      if (e != earlier->end()) {
        const v1::CellEvent& last = *e->second;
        if (last.state() == "finished") {
          exit_code = worse(exit_code, last.exit_status());
          if (last.has_after() && !command_succeeded(last.after()))
            exit_code = worse(exit_code, kRunSomeFailed);
          continue;
        }
        if (last.state() == "skipped" || last.state() == "failed") {
          exit_code = worse(exit_code, kRunSomeFailed);
          continue;
        }
        go_on = true;
      }
    }
    const std::string title = "cell " + std::to_string(i + 1) + "/" + std::to_string(cells.size()) +
                              " " + cell_name(cell);
    v1::JournalRecord r;
    v1::CellEvent& ev = *r.mutable_cell();
    ev.set_index(static_cast<uint32_t>(i + 1));
    ev.set_dir(dir);
    auto say = [&](const std::string& state, const std::string& reason) {
      ev.set_seen_ns(realtime_ns());
      ev.set_state(state);
      ev.set_reason(reason);
      journal.append(r);
      journal.flush(true);
    };
    say(go_on ? "resumed" : "started", "");
    progress.line(title + (go_on ? ": resumed (" : ": started (") + dir + ")");
    auto nova = nova_for(cell.settings().cloud());
    if (!nova.ok()) {
      say("failed", "cloud: " + nova.error().to_string());
      progress.problem(title + ": " + ev.reason());
      exit_code = worse(exit_code, kRunSomeFailed);
      continue;
    }
    if (cell.settings().has_before()) {
      *ev.mutable_before() = run_cell_command(cell.settings().before());
      progress.line(title + ": before command " + command_summary(ev.before()));
      if (!command_succeeded(ev.before())) {
        say("skipped", "before command " + command_summary(ev.before()));
        progress.problem(title + ": skipped: " + ev.reason());
        exit_code = worse(exit_code, kRunSomeFailed);
        continue;
      }
    }
    const EvacuationOptions o = cell_options(spec, cell, options, options.out_dir + "/" + dir);
    if (base::Status valid = validate(o); !valid) {
      say("failed", valid.error().message);
      progress.problem(title + ": " + ev.reason());
      exit_code = worse(exit_code, kRunSomeFailed);
      continue;
    }
    const int code = go_on ? resume_evacuation(o, **nova, progress, stop)
                           : run_evacuation(o, **nova, progress, stop);
    ev.set_exit_status(code);
    if (cell.settings().has_after()) {
      *ev.mutable_after() = run_cell_command(cell.settings().after());
      progress.line(title + ": after command " + command_summary(ev.after()));
    }
    const bool after_failed = ev.has_after() && !command_succeeded(ev.after());
    if (code == kRunInterrupted) {
      say("interrupted", "");
      stopped = true;
    } else if (code == kRunCouldNotStart) {
      say("failed", "the evacuation could not start (its journal says why)");
    } else {
      say("finished", after_failed ? "after command " + command_summary(ev.after()) : "");
    }
    if (code == kRunProbeLost) stopped = true;
    exit_code = worse(exit_code, code == kRunCouldNotStart ? kRunSomeFailed : code);
    if (after_failed) exit_code = worse(exit_code, kRunSomeFailed);
    progress.line(title + ": " + ev.state());
  }
  const bool interrupted = stop.stop_new();
  journal_campaign(journal, interrupted ? "interrupted" : "finished", options, spec, cells);
  journal.close();
  if (const std::string error = journal.error(); !error.empty()) {
    progress.problem("campaign journal: " + error + ": some records are missing");
    exit_code = worse(exit_code, kRunOutputLost);
  }
  const base::Status reported =
      write_campaign_reports(options.out_dir, options.quiet ? nullptr : stdout);
  if (!reported) {
    progress.problem("campaign report: " + reported.error().message);
    exit_code = worse(exit_code, kRunOutputLost);
  }
  if (interrupted || stopped) {
    progress.line("campaign stopped before its end; go on with: migprobe-control campaign resume " +
                  options.out_dir);
  }
  if (interrupted) exit_code = worse(exit_code, kRunInterrupted);
  return exit_code;
}

}  // namespace

int run_campaign(const v1::CampaignSpec& spec, const std::vector<v1::Cell>& cells,
                 const CampaignOptions& options, const NovaForCloud& nova_for,
                 RunProgress& progress, StopRequest& stop) {
  if (!make_dir(options.out_dir, progress) || !make_dir(options.out_dir + "/cells", progress)) {
    return kRunCouldNotStart;
  }
  const std::string journal_path = options.out_dir + "/" + kCampaignJournal;
  if (struct stat st{}; stat(journal_path.c_str(), &st) == 0 && st.st_size > 0) {
    progress.problem(options.out_dir + " already holds a campaign (" + journal_path +
                     "): give another --out-dir, or remove it");
    return kRunCouldNotStart;
  }
  control::RunJournal journal;
  v1::JournalHeader header;
  header.set_writer("migprobe-control campaign");
  header.set_created_ns(realtime_ns());
  header.set_campaign(spec.name());
  if (auto opened = journal.open(journal_path, header); !opened.ok()) {
    progress.problem(opened.error().message);
    return kRunCouldNotStart;
  }
  journal_campaign(journal, "started", options, spec, cells);
  progress.line("campaign " + spec.name() + ": " + std::to_string(cells.size()) + " cells");
  progress.line("journal: " + journal_path);

  return run_cells(spec, cells, options, nova_for, progress, stop, journal, nullptr);
}

int resume_campaign(CampaignOptions options, const NovaForCloud& nova_for, RunProgress& progress,
                    StopRequest& stop) {
  const std::string journal_path = options.out_dir + "/" + kCampaignJournal;
  analysis::JournalContents contents;
  std::string cut;
  if (base::Status read = analysis::cut_torn_tail(journal_path, &contents, &cut); !read) {
    progress.problem("cannot resume: " + read.error().message);
    return kRunCouldNotStart;
  }
  const v1::CampaignEvent* started = nullptr;
  bool finished = false;
  std::map<uint32_t, const v1::CellEvent*> earlier;
  for (const auto& r : contents.records) {
    if (r.has_campaign()) {
      if (r.campaign().state() == "started" && started == nullptr) started = &r.campaign();
      finished = r.campaign().state() == "finished";
    } else if (r.has_cell()) {
      earlier[r.cell().index()] = &r.cell();
    }
  }
  if (started == nullptr) {
    progress.problem("cannot resume: " + journal_path + " holds no campaign record");
    return kRunCouldNotStart;
  }
  // The run's own dataplane and figures unless the command line says otherwise.
  if (options.dataplane_socket.empty()) options.dataplane_socket = started->dataplane_socket();
  if (options.hypervisor_figures.empty()) {
    options.hypervisor_figures = started->hypervisor_figures();
  }
  options.spec_path = started->spec_path();
  const v1::CampaignSpec& spec = started->spec();
  const std::vector<v1::Cell> cells(started->cells().begin(), started->cells().end());
  if (finished) {
    progress.line("campaign " + spec.name() + " had finished; its report again");
  }
  control::RunJournal journal;
  if (auto opened = journal.open(journal_path, v1::JournalHeader()); !opened.ok()) {
    progress.problem(opened.error().message);
    return kRunCouldNotStart;
  }
  if (!cut.empty()) {
    journal.append_error("control", cut);
    progress.problem(cut);
  }
  journal_campaign(journal, "resumed", options, spec, cells);
  size_t done = 0;
  for (const auto& [index, ev] : earlier) {
    if (ev->state() == "finished" || ev->state() == "skipped" || ev->state() == "failed") ++done;
  }
  progress.line("campaign " + spec.name() + " resumed: " + std::to_string(done) + " of " +
                std::to_string(cells.size()) + " cells done");
  return run_cells(spec, cells, options, nova_for, progress, stop, journal, &earlier);
}
}  // namespace migprobe::orchestrator
