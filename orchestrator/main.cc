// migprobe-control: drives Nova live migrations and host evacuations, joins them with the
// gaps the dataplane measures, journals everything and reports. Subcommands:
//   evacuate   move every VM of a host to another and back, N times (issue 5)
//   campaign   a matrix of evacuations from a spec: validate, run, report (issue 13)
//   report     the report of a run again, from its journal alone
//   servers    what Nova lists on a host (a check of credentials and microversions)

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <set>
#include <utility>

#include "base/duration.h"
#include "control/cloud_config.h"
#include "control/curl_transport.h"
#include "control/glance_client.h"
#include "control/microversion.h"
#include "control/neutron_client.h"
#include "control/nova_client.h"
#include "control/session.h"
#include "orchestrator/bootstrap.h"
#include "orchestrator/campaign_compare.h"
#include "orchestrator/campaign_report.h"
#include "orchestrator/campaign_run.h"
#include "orchestrator/campaign_spec.h"
#include "orchestrator/evacuation_run.h"
#include "orchestrator/run_report.h"

namespace po = boost::program_options;
namespace mc = migprobe::control;
namespace mo = migprobe::orchestrator;

namespace {

mo::StopRequest g_stop;

void on_signal(int) {
  const int level = g_stop.level.fetch_add(1) + 1;
  const char* text = level == 1
                         ? "\nmigprobe-control: stopping after the migrations in flight (Ctrl-C "
                           "again to abort them)\n"
                         : "\nmigprobe-control: aborting the migrations in flight\n";
  const ssize_t ignored = write(STDERR_FILENO, text, strlen(text));
  (void)ignored;
}

// Ctrl-C and SIGTERM stop the run cleanly (twice: abort what is in flight); past a file-size
// limit a write fails (and is reported) instead of killing the process.
void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGXFSZ, SIG_IGN);
}

// Options every subcommand that talks to the cloud shares.
struct CloudOptions {
  std::string os_cloud;
  std::string max_microversion = "latest";
  std::string api_timeout = "60s";
};

void add_cloud_options(po::options_description& d, CloudOptions& c) {
  d.add_options()("os-cloud", po::value(&c.os_cloud),
                  "cloud in clouds.yaml (default: $OS_CLOUD, else the OS_* variables)")(
      "max-microversion", po::value(&c.max_microversion)->default_value("latest"),
      "highest compute API microversion to use (2.x or latest)")(
      "api-timeout", po::value(&c.api_timeout)->default_value("60s"),
      "time allowed for one API call (e.g. 30s)");
}

// Everything needed to talk to Nova, built from the cloud options.
struct CloudLink {
  mc::CloudConfig config;
  std::unique_ptr<mc::CurlTransport> transport;
  std::unique_ptr<mc::Session> session;
  std::unique_ptr<mc::NovaClient> nova;
  std::unique_ptr<mc::GlanceClient> glance;
  std::unique_ptr<mc::NeutronClient> neutron;

  mo::CloudClients clients() const { return {nova.get(), glance.get(), neutron.get()}; }
};

mc::Result<std::unique_ptr<CloudLink>> connect_cloud(const CloudOptions& c) {
  const auto env = mc::process_env();
  auto config = mc::resolve_cloud(c.os_cloud, env, mc::clouds_yaml_search_path(env));
  if (!config.ok()) return config.error();
  if (auto valid = mc::validate_cloud(*config); !valid.ok()) return valid.error();
  auto link = std::make_unique<CloudLink>();
  link->config = *config;
  mc::TransportOptions t = mc::transport_options_for(link->config);
  const auto timeout = migprobe::base::parse_duration_ns(c.api_timeout);
  if (!timeout || *timeout < 1'000'000) {
    return mc::make_error(mc::ErrorKind::kConfig,
                          "--api-timeout '" + c.api_timeout + "' is not a duration");
  }
  t.total_timeout = std::chrono::milliseconds(*timeout / 1'000'000);
  t.connect_timeout = std::min(t.connect_timeout, t.total_timeout);
  link->transport = std::make_unique<mc::CurlTransport>(t);
  link->session = std::make_unique<mc::Session>(*link->transport, link->config);
  mc::NovaOptions nova_options;
  if (c.max_microversion != "latest") {
    auto v = mc::parse_microversion(c.max_microversion);
    if (!v.ok()) return v.error();
    nova_options.max_microversion = *v;
  }
  link->nova = std::make_unique<mc::NovaClient>(*link->session, nova_options);
  link->glance = std::make_unique<mc::GlanceClient>(*link->session);
  link->neutron = std::make_unique<mc::NeutronClient>(*link->session);
  return link;
}

std::chrono::milliseconds to_ms(const std::string& option, const std::string& text) {
  const auto ns = migprobe::base::parse_duration_ns(text);
  if (!ns) throw po::error("--" + option + ": '" + text + "' is not a duration (e.g. 250ms, 2s)");
  return std::chrono::milliseconds(*ns / 1'000'000);
}

std::string default_campaign() {
  const time_t now = time(nullptr);
  tm local{};
  localtime_r(&now, &local);
  char text[32];
  strftime(text, sizeof text, "run-%Y%m%d-%H%M%S", &local);
  return text;
}

int evacuate_main(int argc, char** argv) {
  mo::EvacuationOptions o;
  CloudOptions cloud;
  std::string servers, flows, policy, converge, timeout, queue, poll, settle, reply_timeout, grace,
      vm_period;
  po::options_description d(
      "migprobe-control evacuate: live-migrate every VM of --from to --to and back, "
      "--iterations times, while migprobe-dp probes them; journal and reports go to "
      "--out-dir.\n\nOptions");
  d.add_options()("help,h", "this help")("from", po::value(&o.source_host),
                                         "source compute host (the one evacuated)")(
      "to", po::value(&o.dest_host), "destination compute host")(
      "servers", po::value(&servers), "only these servers (names or ids, comma-separated)")(
      "iterations,n", po::value(&o.iterations)->default_value(1),
      "round trips (each moves every VM there and back)")(
      "parallel,k", po::value(&o.parallel)->default_value(1), "migrations in flight at once")(
      "policy", po::value(&policy)->default_value("wait"),
      "when a migration has not finished after --converge-timeout: wait, force-complete or "
      "abort")("converge-timeout", po::value(&converge)->default_value("120s"),
               "time before the policy acts")(
      "migration-timeout", po::value(&timeout)->default_value("600s"),
      "a migration still running after this is aborted and counted failed (both timeouts "
      "count from when Nova starts the migration, not from the request)")(
      "queue-timeout", po::value(&queue)->default_value("3600s"),
      "a migration Nova keeps queued longer than this (the source host runs its "
      "max_concurrent_live_migrations already) is cancelled (microversion 2.65+) and counted "
      "aborted")("poll-interval", po::value(&poll)->default_value("250ms"), "Nova polling period")(
      "settle", po::value(&settle)->default_value("2s"),
      "quiet time before the first migration and after each one (gaps are tagged with the "
      "migration whose [requested, completed + settle] window holds them)")(
      "vm-metrics-period", po::value(&vm_period)->default_value("1s"),
      "VM metrics: each VM's server diagnostics (CPU, NIC, disk; microversion 2.48) sampled "
      "at this period from the start of its leg to the end of its migration plus --settle, "
      "reported as rates before, during and after each migration; 0s turns them off")(
      "block-migration", po::value(&o.block_migration)->default_value("auto"), "auto, yes or no")(
      "dataplane-socket", po::value(&o.dataplane_socket),
      "migprobe-dp's --control-socket; without it nothing is measured")(
      "flows", po::value(&flows)->default_value("icmp=1ms,udp=1ms"),
      "probe flows per VM, in migprobe-dp's --target flow syntax: KIND=RATE[/OPTION]..., "
      "comma-separated, e.g. icmp=1ms,udp=250us/port=7077,tcp=1M (udp goes to "
      "migprobe-reflector; options size=, dscp=, port=, timeout=; tcp=BYTES_PER_S is a TCP "
      "connection to the reflector's echo on 7077, or /port=N, /discard; each migration gets "
      "its TCP verdict)")("reply-timeout", po::value(&reply_timeout)->default_value("100ms"),
                          "a reply later than this counts as lost")(
      "dataplane-grace", po::value(&grace)->default_value("30s"),
      "how long to wait for a dead dataplane to come back before stopping the run")(
      "out-dir,o", po::value(&o.out_dir), "campaign directory: journal.mpj, report.{txt,json,csv}")(
      "campaign", po::value(&o.campaign), "campaign name (default: run-DATE-TIME)")(
      "hypervisor-figures", po::value(&o.hypervisor_figures),
      "JSON Lines with the hypervisor's own figures per Nova migration uuid (migration_id, "
      "downtime_ms, stop_ns, resume_ns), e.g. the lab's ground-truth.jsonl")(
      "quiet,q", po::bool_switch(&o.quiet), "no progress lines, no report on stdout");
  add_cloud_options(d, cloud);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, d), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout
          << d
          << "\nExit status: 0 every migration completed, 1 some failed, 2 could not "
             "start, 3 interrupted, 4 the dataplane was lost, 5 the journal or a report could "
             "not be written (some of what was measured is missing; the message says "
             "what).\n";
      return 0;
    }
    o.servers = mo::split_list(servers);
    if (!mo::parse_policy(policy, &o.policy)) {
      throw po::error("--policy: '" + policy + "' is not wait, force-complete or abort");
    }
    o.converge_timeout = to_ms("converge-timeout", converge);
    o.migration_timeout = to_ms("migration-timeout", timeout);
    o.queue_timeout = to_ms("queue-timeout", queue);
    o.poll_interval = to_ms("poll-interval", poll);
    o.settle = to_ms("settle", settle);
    o.vm_metrics_period = to_ms("vm-metrics-period", vm_period);
    o.dataplane_grace = to_ms("dataplane-grace", grace);
    const auto reply_ns = migprobe::base::parse_duration_ns(reply_timeout);
    if (!reply_ns) throw po::error("--reply-timeout: '" + reply_timeout + "' is not a duration");
    if (!o.dataplane_socket.empty()) {
      auto parsed = mo::parse_flows(flows, *reply_ns);
      if (!parsed) throw po::error("--flows: " + parsed.error().message);
      o.flows = std::move(parsed).value();
    }
    if (o.campaign.empty()) o.campaign = default_campaign();
    if (auto valid = mo::validate(o); !valid) throw po::error(valid.error().message);
  } catch (const po::error& e) {
    std::cerr << "migprobe-control evacuate: " << e.what() << " (see --help)\n";
    return mo::kRunCouldNotStart;
  }
  auto link = connect_cloud(cloud);
  if (!link.ok()) {
    std::cerr << "migprobe-control evacuate: " << link.error().to_string() << "\n";
    return mo::kRunCouldNotStart;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // Past a file-size limit a write fails (and is reported, exit 5) instead of killing the
  // run before it can say what it lost.
  signal(SIGXFSZ, SIG_IGN);
  mo::RunProgress progress(o.quiet);
  return mo::run_evacuation(o, *link.value()->nova, progress, g_stop);
}

int report_main(int argc, char** argv) {
  std::string journal, out_dir;
  bool quiet = false;
  po::options_description d(
      "migprobe-control report: the report of a run again, from its journal alone (the same "
      "report the run printed).\n\nOptions");
  d.add_options()("help,h", "this help")("journal,j", po::value(&journal), "the run's journal.mpj")(
      "out-dir,o", po::value(&out_dir),
      "write report.{txt,json,csv} here (default: beside the journal)")(
      "quiet,q", po::bool_switch(&quiet), "do not print the text report");
  po::positional_options_description pos;
  pos.add("journal", 1);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(d).positional(pos).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << d;
      return 0;
    }
    if (journal.empty()) throw po::error("a journal is required");
  } catch (const po::error& e) {
    std::cerr << "migprobe-control report: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (out_dir.empty()) {
    const size_t slash = journal.rfind('/');
    out_dir = slash == std::string::npos ? "." : journal.substr(0, slash);
  }
  if (mkdir(out_dir.c_str(), 0750) != 0 && errno != EEXIST) {
    std::cerr << "migprobe-control report: cannot create " << out_dir << ": "
              << std::strerror(errno) << "\n";
    return 2;
  }
  if (auto written = mo::write_reports(journal, out_dir, quiet ? nullptr : stdout); !written) {
    std::cerr << "migprobe-control report: " << written.error().message << "\n";
    return 2;
  }
  return 0;
}

int servers_main(int argc, char** argv) {
  std::string host;
  CloudOptions cloud;
  po::options_description d(
      "migprobe-control servers: the servers Nova lists on a compute host, with the address "
      "and MAC the probe would use.\n\nOptions");
  d.add_options()("help,h", "this help")("host", po::value(&host), "compute host");
  add_cloud_options(d, cloud);
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, d), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << d;
      return 0;
    }
    if (host.empty()) throw po::error("--host is required");
  } catch (const po::error& e) {
    std::cerr << "migprobe-control servers: " << e.what() << " (see --help)\n";
    return 2;
  }
  auto link = connect_cloud(cloud);
  if (!link.ok()) {
    std::cerr << "migprobe-control servers: " << link.error().to_string() << "\n";
    return 2;
  }
  auto& nova = *link.value()->nova;
  auto version = nova.negotiate();
  if (!version.ok()) {
    std::cerr << "migprobe-control servers: " << version.error().to_string() << "\n";
    return 2;
  }
  auto servers = nova.servers_on_host(host);
  if (!servers.ok()) {
    std::cerr << "migprobe-control servers: " << servers.error().to_string() << "\n";
    return 2;
  }
  std::printf("compute API %s, %zu servers on %s\n", version->to_string().c_str(),
              servers->value.size(), host.c_str());
  for (const auto& s : servers->value) {
    std::string addr;
    for (const auto& a : s.addresses) addr += " " + a.addr + " (" + a.mac + ")";
    std::printf("  %-12s %s %s%s\n", s.name.c_str(), s.id.c_str(), s.status.c_str(), addr.c_str());
  }
  return 0;
}

// The clouds a campaign's cells name, each connected once: a cell's cloud ("" is the command
// line's --os-cloud, else the environment's).
class CampaignClouds {
 public:
  explicit CampaignClouds(CloudOptions base) : base_(std::move(base)) {}
  mc::Result<mc::NovaClient*> nova(const std::string& cloud) {
    auto l = link(cloud);
    if (!l.ok()) return l.error();
    return l.value()->nova.get();
  }
  mc::Result<CloudLink*> link(const std::string& cloud) {
    auto it = links_.find(cloud);
    if (it == links_.end()) {
      CloudOptions c = base_;
      if (!cloud.empty()) c.os_cloud = cloud;
      auto link = connect_cloud(c);
      if (!link.ok()) return link.error();
      it = links_.emplace(cloud, std::move(link.value())).first;
    }
    return it->second.get();
  }

 private:
  CloudOptions base_;
  std::map<std::string, std::unique_ptr<CloudLink>> links_;
};

// Reads and expands a spec; prints the error and returns false when it is wrong.
bool load_spec(const std::string& path, migprobe::v1::CampaignSpec* spec,
               std::vector<migprobe::v1::Cell>* cells) {
  auto loaded = mo::load_campaign_spec(path);
  if (!loaded.ok()) {
    std::cerr << "migprobe-control campaign: " << loaded.error().message << "\n";
    return false;
  }
  auto expanded = mo::expand_cells(*loaded);
  if (!expanded.ok()) {
    std::cerr << "migprobe-control campaign: " << path << ": " << expanded.error().message << "\n";
    return false;
  }
  *spec = std::move(loaded.value());
  *cells = std::move(expanded.value());
  return true;
}

void print_cells(const migprobe::v1::CampaignSpec& spec,
                 const std::vector<migprobe::v1::Cell>& cells) {
  std::printf("campaign %s: %zu cells\n", spec.name().c_str(), cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    const auto& s = cells[i].settings();
    std::string servers = "every server on " + s.source_host();
    if (!s.servers().empty()) {
      servers.clear();
      for (const auto& n : s.servers()) servers += (servers.empty() ? "" : ",") + n;
    }
    std::printf(
        "  %2zu  %s: %s -> %s and back x%u, %s, %s%s%s%s\n", i + 1, mo::cell_name(cells[i]).c_str(),
        s.source_host().c_str(), s.dest_host().c_str(), s.iterations(), servers.c_str(),
        s.parallel() == 1 ? "serial" : (std::to_string(s.parallel()) + " at a time").c_str(),
        s.cloud().empty() ? "" : (", cloud " + s.cloud()).c_str(),
        s.has_before() ? ", before command" : "", s.has_after() ? ", after command" : "");
  }
}

int compare_main(const std::string& a_dir, const std::string& b_dir,
                 const std::vector<std::string>& fail_if, double alpha, bool json) {
  std::vector<mo::FailCondition> conditions;
  for (const auto& text : fail_if) {
    auto c = mo::parse_fail_condition(text);
    if (!c.ok()) {
      std::cerr << "migprobe-control campaign compare: " << c.error().message << "\n";
      return 2;
    }
    conditions.push_back(*c);
  }
  auto a = mo::build_campaign_report(a_dir);
  auto b = a.ok() ? mo::build_campaign_report(b_dir) : a;
  if (!a.ok() || !b.ok()) {
    std::cerr << "migprobe-control campaign compare: "
              << (!a.ok() ? a.error().message : b.error().message) << "\n";
    return 2;
  }
  const mo::CampaignComparison c = mo::compare_campaigns(*a, *b, conditions, alpha);
  std::fputs(json ? mo::render_comparison_json(c).c_str() : mo::render_comparison_text(c).c_str(),
             stdout);
  return c.failed ? 1 : 0;
}

// The bootstrap of spec into dir; false (told) when it failed.
bool bootstrap(const migprobe::v1::CampaignSpec& spec, const std::string& dir,
               CampaignClouds& clouds, mo::RunProgress& progress) {
  auto link = clouds.link(spec.bootstrap().cloud());
  if (!link.ok()) {
    progress.problem("bootstrap: " + link.error().to_string());
    return false;
  }
  progress.line("bootstrap of campaign " + spec.name() + " (names " + mo::bootstrap_prefix(spec) +
                "-*; journal " + dir + "/" + mo::kBootstrapJournal + ")");
  auto done = mo::run_bootstrap(
      spec, dir, link.value()->clients(), [&progress](const std::string& t) { progress.line(t); },
      &g_stop.level);
  if (!done.ok()) {
    progress.problem(done.error().message);
    progress.problem(
        "what the bootstrap created is journaled: migprobe-control campaign "
        "teardown " +
        dir + " removes it");
    return false;
  }
  progress.line("bootstrap done: " + std::to_string(done->created) + " created, " +
                std::to_string(done->reused) + " reused, " + std::to_string(done->servers.size()) +
                " servers ACTIVE");
  return true;
}

// Deletes what the bootstrap journaled in dir; 0 when everything is gone, 1 otherwise.
int teardown(const std::string& dir, CampaignClouds& clouds, mo::RunProgress& progress) {
  std::string campaign, prefix, cloud;
  if (auto s = mo::read_bootstrap_identity(dir, &campaign, &prefix, &cloud); !s.ok()) {
    progress.problem("teardown: " + s.error().message);
    return 2;
  }
  auto link = clouds.link(cloud);
  if (!link.ok()) {
    progress.problem("teardown: " + link.error().to_string());
    return 2;
  }
  progress.line("teardown of campaign " + campaign + " (" + dir + ")");
  const auto problems = mo::run_teardown(dir, link.value()->clients(),
                                         [&progress](const std::string& t) { progress.line(t); });
  for (const auto& p : problems) progress.problem("teardown: " + p);
  if (!problems.empty()) {
    progress.problem("teardown incomplete: run migprobe-control campaign teardown " + dir +
                     " again");
    return 1;
  }
  progress.line("teardown done: nothing the campaign created is left");
  return 0;
}

int campaign_main(int argc, char** argv) {
  const std::string what = argc >= 2 ? argv[1] : "";
  const char* usage_text =
      "usage: migprobe-control campaign validate SPEC.yaml [--offline] [cloud options]\n"
      "       migprobe-control campaign run SPEC.yaml --out-dir DIR [options]\n"
      "       migprobe-control campaign resume DIR [options]\n"
      "       migprobe-control campaign report DIR\n"
      "       migprobe-control campaign bootstrap SPEC.yaml --out-dir DIR [cloud options]\n"
      "       migprobe-control campaign teardown DIR [cloud options]\n"
      "       migprobe-control campaign compare DIR_A DIR_B [--fail-if 'p95 > +10%']\n"
      "(migprobe-control campaign ACTION --help for its options)\n";
  if (what.empty() || what == "-h" || what == "--help") {
    std::fputs(usage_text, what.empty() ? stderr : stdout);
    return what.empty() ? 2 : 0;
  }
  mo::CampaignOptions o;
  CloudOptions cloud;
  std::string poll, grace, other;
  std::vector<std::string> fail_if;
  double alpha = 0.05;
  bool json = false;
  bool offline = false;
  bool no_cloud_check = false;
  bool keep = false;
  po::options_description d("migprobe-control campaign " + what + "\n\nOptions");
  d.add_options()("help,h", "this help");
  if (what == "validate") {
    d.add_options()("offline", po::bool_switch(&offline),
                    "check the spec alone, not against the cloud");
    add_cloud_options(d, cloud);
  } else if (what == "run" || what == "resume") {
    if (what == "run") {
      d.add_options()("out-dir,o", po::value(&o.out_dir),
                      "campaign directory: campaign.mpj, cells/NN-LABELS/ (each cell's journal "
                      "and reports), campaign-report.{txt,json,csv}")(
          "no-cloud-check", po::bool_switch(&no_cloud_check),
          "do not check hosts and servers against the cloud before the first cell");
    }
    d.add_options()("keep", po::bool_switch(&keep),
                    "leave what the spec's bootstrap created when the campaign ends (by "
                    "default it is deleted: campaign teardown DIR)");
    d.add_options()("dataplane-socket", po::value(&o.dataplane_socket),
                    "migprobe-dp's --control-socket; without it nothing is measured")(
        "hypervisor-figures", po::value(&o.hypervisor_figures),
        "JSON Lines with the hypervisor's own figures per Nova migration uuid")(
        "poll-interval", po::value(&poll)->default_value("250ms"), "Nova polling period")(
        "dataplane-grace", po::value(&grace)->default_value("30s"),
        "how long to wait for a dead dataplane to come back before stopping")(
        "quiet,q", po::bool_switch(&o.quiet), "no progress lines, no report on stdout");
    add_cloud_options(d, cloud);
  } else if (what == "bootstrap") {
    d.add_options()("out-dir,o", po::value(&o.out_dir),
                    "campaign directory: its bootstrap.mpj journals what was created");
    add_cloud_options(d, cloud);
  } else if (what == "teardown") {
    add_cloud_options(d, cloud);
  } else if (what == "report") {
    d.add_options()("quiet,q", po::bool_switch(&o.quiet), "do not print the text report");
  } else if (what == "compare") {
    d.add_options()("other", po::value(&other), "the second campaign directory (B)")(
        "fail-if", po::value(&fail_if)->composing(),
        "exit 1 when a cell's distributions differ (rank test) and a statistic moved past a "
        "threshold: [downtime.|duration.]STAT OP CHANGE, e.g. 'p95 > +10%', "
        "'duration.median > +5s' (STAT mean, median, p95, p99, max); repeatable")(
        "alpha", po::value(&alpha)->default_value(0.05), "significance level of the rank test")(
        "json", po::bool_switch(&json), "print the comparison as JSON");
  } else {
    std::cerr << "migprobe-control campaign: unknown action '" << what << "'\n" << usage_text;
    return 2;
  }
  d.add_options()("input", po::value(&o.spec_path),
                  "the spec (validate, run) or the campaign directory (resume, report, compare)");
  po::positional_options_description pos;
  pos.add("input", 1);
  if (what == "compare") pos.add("other", 1);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc - 1, argv + 1).options(d).positional(pos).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << d;
      if (what == "run") {
        std::cout << "\nThe spec (YAML): name, defaults, axes (each value sets some of a "
                     "cell's settings) and/or cells listed one by one; settings: cloud, "
                     "source_host, dest_host, servers, flavor, iterations, parallel, policy, "
                     "converge_timeout, migration_timeout, queue_timeout, settle, "
                     "vm_metrics_period, block_migration, flows, "
                     "before, after; and bootstrap (image, flavors, keypair, security_group, "
                     "network, slice: what to create first; cells without servers move the "
                     "slice; deleted at the end unless --keep).\nExit status: 0 every cell ran and "
                     "every migration "
                     "completed, 1 a migration failed or a cell was skipped, 2 could not "
                     "start, 3 interrupted, 4 the dataplane was lost, 5 output lost.\n";
      }
      return 0;
    }
    if (o.spec_path.empty() || (what == "compare" && other.empty())) {
      throw po::error(what == "report" || what == "resume" || what == "teardown" ? "DIR is required"
                      : what == "compare" ? "two campaign directories are required"
                                          : "SPEC is required");
    }
    if (what == "compare" && !(alpha > 0 && alpha < 1)) {
      throw po::error("--alpha must be between 0 and 1");
    }
    if (what == "bootstrap" && o.out_dir.empty()) throw po::error("--out-dir is required");
    if (what == "run" || what == "resume") {
      if (what == "run" && o.out_dir.empty()) throw po::error("--out-dir is required");
      o.poll_interval = to_ms("poll-interval", poll);
      o.dataplane_grace = to_ms("dataplane-grace", grace);
    }
  } catch (const po::error& e) {
    std::cerr << "migprobe-control campaign " << what << ": " << e.what() << " (see --help)\n";
    return 2;
  }
  if (what == "compare") return compare_main(o.spec_path, other, fail_if, alpha, json);
  if (what == "teardown") {
    CampaignClouds clouds(cloud);
    mo::RunProgress progress(false);
    return teardown(o.spec_path, clouds, progress);
  }
  if (what == "resume") {
    o.out_dir = o.spec_path;
    CampaignClouds clouds(cloud);
    mo::RunProgress progress(o.quiet);
    install_stop_handlers();
    const int rc = mo::resume_campaign(
        o, [&clouds](const std::string& name) { return clouds.nova(name); }, progress, g_stop);
    // A campaign with a bootstrap is torn down once it has run (not when it stopped again).
    std::string campaign, prefix, cloud_name;
    if (!keep && rc != mo::kRunInterrupted &&
        mo::read_bootstrap_identity(o.out_dir, &campaign, &prefix, &cloud_name).ok()) {
      const int t = teardown(o.out_dir, clouds, progress);
      return rc != 0 ? rc : (t == 0 ? 0 : 1);
    }
    return rc;
  }
  if (what == "report") {
    const std::string dir = o.spec_path;
    if (auto written = mo::write_campaign_reports(dir, o.quiet ? nullptr : stdout); !written) {
      std::cerr << "migprobe-control campaign report: " << written.error().message << "\n";
      return 2;
    }
    return 0;
  }
  migprobe::v1::CampaignSpec spec;
  std::vector<migprobe::v1::Cell> cells;
  if (!load_spec(o.spec_path, &spec, &cells)) return 2;
  CampaignClouds clouds(cloud);
  auto nova_for = [&clouds](const std::string& name) { return clouds.nova(name); };
  mo::RunProgress progress(o.quiet);
  if (what == "bootstrap") {
    install_stop_handlers();
    return bootstrap(spec, o.out_dir, clouds, progress) ? 0 : 1;
  }
  if (what == "validate") {
    print_cells(spec, cells);
    const auto files = mo::check_bootstrap_files(spec);
    for (const auto& p : files) std::cerr << "migprobe-control campaign: " << p << "\n";
    if (!files.empty()) return 1;
    if (offline) return 0;
    // The slice is not there yet: its servers are not looked for (its host is).
    const auto slice = mo::slice_server_names(spec);
    const auto problems = mo::check_cells_against_cloud(
        cells, nova_for, progress, std::set<std::string>(slice.begin(), slice.end()));
    for (const auto& p : problems) std::cerr << "migprobe-control campaign: " << p << "\n";
    if (!problems.empty()) return 1;
    std::printf("the cloud has every host and server the spec names\n");
    return 0;
  }
  install_stop_handlers();
  const bool has_bootstrap = spec.has_bootstrap();
  if (has_bootstrap && !bootstrap(spec, o.out_dir, clouds, progress)) {
    if (!keep) teardown(o.out_dir, clouds, progress);
    return g_stop.stop_new() ? mo::kRunInterrupted : mo::kRunCouldNotStart;
  }
  // What the campaign ends with: its cells' exit status, then the teardown of its bootstrap
  // (not when it was interrupted: campaign resume goes on with the servers as they are).
  auto finish = [&](int rc) {
    if (!has_bootstrap || keep || rc == mo::kRunInterrupted) {
      if (has_bootstrap && rc == mo::kRunInterrupted) {
        progress.problem("the bootstrap's servers are left for campaign resume " + o.out_dir +
                         " (campaign teardown " + o.out_dir + " deletes them)");
      }
      return rc;
    }
    const int t = teardown(o.out_dir, clouds, progress);
    return rc != 0 ? rc : (t == 0 ? 0 : 1);
  };
  if (!no_cloud_check) {
    const auto problems = mo::check_cells_against_cloud(cells, nova_for, progress);
    for (const auto& p : problems) progress.problem(p);
    if (!problems.empty()) {
      progress.problem("the spec does not fit the cloud; nothing was migrated");
      return finish(mo::kRunCouldNotStart);
    }
  }
  return finish(mo::run_campaign(spec, cells, o, nova_for, progress, g_stop));
}

void usage(std::FILE* out) {
  std::fputs(
      "usage: migprobe-control COMMAND [options]   (COMMAND --help for its options)\n"
      "  evacuate   live-migrate every VM of a host to another and back, N times, while\n"
      "             migprobe-dp measures each one's downtime; journal and reports\n"
      "  campaign   a matrix of evacuations from a YAML spec: campaign validate SPEC,\n"
      "             campaign run SPEC --out-dir DIR, campaign resume DIR, campaign report DIR,\n"
      "             campaign compare DIR_A DIR_B [--fail-if 'p95 > +10%'],\n"
      "             campaign bootstrap SPEC --out-dir DIR, campaign teardown DIR\n"
      "  report     the report of a run again, from its journal\n"
      "  servers    the servers Nova lists on a host (checks credentials)\n"
      "Credentials: --os-cloud / OS_CLOUD with clouds.yaml, or the OS_* variables.\n",
      out);
}

}  // namespace

namespace {

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    usage(stdout);
    return 0;
  }
  if (command == "evacuate") return evacuate_main(argc - 1, argv + 1);
  if (command == "report") return report_main(argc - 1, argv + 1);
  if (command == "campaign") return campaign_main(argc - 1, argv + 1);
  if (command == "servers") return servers_main(argc - 1, argv + 1);
  std::fprintf(stderr, "migprobe-control: unknown command '%s'\n", command.c_str());
  usage(stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const std::exception& e) {
    // The commands turn their errors into messages; if a library throws anyway (out of
    // memory), say so instead of aborting. The journal is flushed record by record.
    std::fprintf(stderr, "migprobe-control: %s\n", e.what());
    return 1;
  }
}
