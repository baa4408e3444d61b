// migprobe-pcapgen: writes the captures of pcaps/ (and the bench capture) with exactly
// known content. Deterministic: no clock, no unseeded randomness; running it twice gives
// identical bytes, which the regeneration test checks against the committed files.

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "pcaps/gen/scenario.h"

namespace po = boost::program_options;
using migprobe::pcapgen::all_scenarios;
using migprobe::pcapgen::GenOptions;
using migprobe::pcapgen::Scenario;

namespace {

// Everything the command line sets.
struct Options {
  GenOptions gen;
  std::vector<std::string> scenarios;
  bool list = false;
};

// Fills opt from argv; returns false (after printing why) when the program should stop.
bool parse_options(int argc, char** argv, Options* opt, int* exit_code) {
  po::options_description desc(
      "Usage: migprobe-pcapgen [--out DIR] [--scenario NAME]...\n"
      "Writes the scenario captures (default: every committed one) and their truth files");
  desc.add_options()("help,h", "show this help")(
      "out,o", po::value<std::string>(&opt->gen.dir)->default_value("."), "output directory")(
      "scenario,s", po::value<std::vector<std::string>>(&opt->scenarios),
      "scenario to write (repeatable); 'bench' is only written when named")(
      "bench-frames", po::value<uint64_t>(&opt->gen.bench_frames)->default_value(10'000'000),
      "frames of the bench scenario, at least")("list", po::bool_switch(&opt->list),
                                                "list the scenarios and exit");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "migprobe-pcapgen: " << e.what() << "\n" << desc << "\n";
    *exit_code = 2;
    return false;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    *exit_code = 0;
    return false;
  }
  for (const std::string& name : opt->scenarios) {
    bool known = false;
    for (const Scenario& s : all_scenarios()) known = known || s.name == name;
    if (!known) {
      std::cerr << "migprobe-pcapgen: unknown scenario '" << name << "' (see --list)\n";
      *exit_code = 2;
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  int exit_code = 0;
  if (!parse_options(argc, argv, &opt, &exit_code)) return exit_code;
  if (opt.list) {
    for (const Scenario& s : all_scenarios()) std::cout << s.name << "\t" << s.summary << "\n";
    return 0;
  }
  std::error_code ec;
  std::filesystem::create_directories(opt.gen.dir, ec);
  if (ec) {
    std::cerr << "migprobe-pcapgen: cannot create " << opt.gen.dir << ": " << ec.message() << "\n";
    return 1;
  }
  for (const Scenario& s : all_scenarios()) {
    const bool named = !opt.scenarios.empty();
    bool wanted = !named && s.committed;
    for (const std::string& name : opt.scenarios) wanted = wanted || name == s.name;
    if (!wanted) continue;
    if (const std::string err = s.write(opt.gen); !err.empty()) {
      std::cerr << "migprobe-pcapgen: " << s.name << ": " << err << "\n";
      return 1;
    }
  }
  return 0;
}
