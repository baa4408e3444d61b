#include "orchestrator/campaign_spec.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "base/duration.h"
#include "orchestrator/evacuation_options.h"

namespace migprobe::orchestrator {
namespace {

using base::ErrorKind;

// Built-in defaults of a cell: those of `migprobe-control evacuate`.
constexpr uint32_t kDefaultIterations = 1;
constexpr uint64_t kDefaultReplyTimeoutNs = 100'000'000;
constexpr const char* kDefaultFlows = "icmp=1ms,udp=1ms";

// An error at a YAML node: "spec.yaml:12:5: what".
class SpecError {
 public:
  explicit SpecError(std::string source) : source_(std::move(source)) {}
  base::Error at(const YAML::Node& node, const std::string& what) const {
    const YAML::Mark m = node.Mark();
    std::string where = source_;
    if (!m.is_null())
      where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    return base::make_error(ErrorKind::kInvalid, where + ": " + what);
  }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

// Reads one mapping's keys with the handlers given; any other key is refused by name.
base::Status read_map(
    const SpecError& err, const YAML::Node& node, const std::string& what,
    const std::map<std::string, std::function<base::Status(const YAML::Node&)>>& handlers) {
  if (!node.IsMap()) return err.at(node, what + " must be a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const auto h = handlers.find(key);
    if (h == handlers.end()) {
      std::string known;
      for (const auto& [k, unused] : handlers) known += (known.empty() ? "" : ", ") + k;
      return err.at(kv.first, "unknown key '" + key + "' in " + what + " (known: " + known + ")");
    }
    if (auto s = h->second(kv.second); !s.ok()) return s;
  }
  return base::Done{};
}

base::Result<std::string> scalar(const SpecError& err, const YAML::Node& n,
                                 const std::string& key) {
  if (!n.IsScalar()) return err.at(n, key + " must be a single value");
  return n.as<std::string>();
}

base::Result<uint32_t> count(const SpecError& err, const YAML::Node& n, const std::string& key) {
  auto s = scalar(err, n, key);
  if (!s.ok()) return s.error();
  try {
    size_t used = 0;
    const unsigned long v = std::stoul(*s, &used);
    if (used == s->size() && v >= 1 && v <= 1'000'000) return static_cast<uint32_t>(v);
  } catch (const std::exception&) {
  }
  return err.at(n, key + " must be a whole number from 1, not '" + *s + "'");
}

base::Result<uint64_t> duration(const SpecError& err, const YAML::Node& n, const std::string& key) {
  auto s = scalar(err, n, key);
  if (!s.ok()) return s.error();
  const auto ns = base::parse_duration_ns(*s);
  if (!ns)
    return err.at(n, key + " must be a duration with its unit (250ms, 2s, 10m), not '" + *s + "'");
  return *ns;
}

base::Result<std::vector<std::string>> strings(const SpecError& err, const YAML::Node& n,
                                               const std::string& key) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
    return out;
  }
  if (!n.IsSequence()) return err.at(n, key + " must be a list");
  for (const auto& item : n) {
    if (!item.IsScalar()) return err.at(item, key + " must be a list of single values");
    out.push_back(item.as<std::string>());
  }
  return out;
}

base::Status read_command(const SpecError& err, const YAML::Node& n, const std::string& key,
                          v1::CellCommand* out) {
  if (n.IsScalar() || n.IsSequence()) {
    auto argv = strings(err, n, key);
    if (!argv.ok()) return argv.error();
    for (auto& a : *argv) out->add_argv(a);
    return base::Done{};
  }
  return read_map(err, n, key,
                  {{"argv",
                    [&](const YAML::Node& v) -> base::Status {
                      auto argv = strings(err, v, key + ".argv");
                      if (!argv.ok()) return argv.error();
                      for (auto& a : *argv) out->add_argv(a);
                      return base::Done{};
                    }},
                   {"timeout", [&](const YAML::Node& v) -> base::Status {
                      auto d = duration(err, v, key + ".timeout");
                      if (!d.ok()) return d.error();
                      out->set_timeout_ns(*d);
                      return base::Done{};
                    }}});
}

// The keys of CellSettings, read into out; extra keys (an axis value's "value") may be
// handled by the caller's handlers.
std::map<std::string, std::function<base::Status(const YAML::Node&)>> settings_handlers(
    const SpecError& err, v1::CellSettings* out) {
  auto text = [&err](const std::string& key, const std::function<void(const std::string&)>& set) {
    return [&err, key, set](const YAML::Node& v) -> base::Status {
      auto s = scalar(err, v, key);
      if (!s.ok()) return s.error();
      set(*s);
      return base::Done{};
    };
  };
  auto time = [&err](const std::string& key, const std::function<void(uint64_t)>& set) {
    return [&err, key, set](const YAML::Node& v) -> base::Status {
      auto d = duration(err, v, key);
      if (!d.ok()) return d.error();
      set(*d);
      return base::Done{};
    };
  };
  auto number = [&err](const std::string& key, const std::function<void(uint32_t)>& set) {
    return [&err, key, set](const YAML::Node& v) -> base::Status {
      auto c = count(err, v, key);
      if (!c.ok()) return c.error();
      set(*c);
      return base::Done{};
    };
  };
  return {
      {"cloud", text("cloud", [out](const std::string& s) { out->set_cloud(s); })},
      {"source_host",
       text("source_host", [out](const std::string& s) { out->set_source_host(s); })},
      {"dest_host", text("dest_host", [out](const std::string& s) { out->set_dest_host(s); })},
      {"flavor", text("flavor", [out](const std::string& s) { out->set_flavor(s); })},
      {"servers",
       [&err, out](const YAML::Node& v) -> base::Status {
         auto list = strings(err, v, "servers");
         if (!list.ok()) return list.error();
         out->clear_servers();
         for (auto& s : *list) out->add_servers(s);
         return base::Done{};
       }},
      {"iterations", number("iterations", [out](uint32_t n) { out->set_iterations(n); })},
      {"parallel", number("parallel", [out](uint32_t n) { out->set_parallel(n); })},
      {"policy",
       [&err, out](const YAML::Node& v) -> base::Status {
         auto s = scalar(err, v, "policy");
         if (!s.ok()) return s.error();
         ConvergePolicy p = ConvergePolicy::kWait;
         if (!parse_policy(*s, &p)) {
           return err.at(v, "policy must be wait, force-complete or abort, not '" + *s + "'");
         }
         out->set_policy(*s);
         return base::Done{};
       }},
      {"converge_timeout",
       time("converge_timeout", [out](uint64_t ns) { out->set_converge_timeout_ns(ns); })},
      {"migration_timeout",
       time("migration_timeout", [out](uint64_t ns) { out->set_migration_timeout_ns(ns); })},
      {"queue_timeout",
       time("queue_timeout", [out](uint64_t ns) { out->set_queue_timeout_ns(ns); })},
      {"settle", time("settle", [out](uint64_t ns) { out->set_settle_ns(ns); })},
      {"vm_metrics_period",
       [&err, out](const YAML::Node& v) -> base::Status {
         auto d = duration(err, v, "vm_metrics_period");
         if (!d.ok()) return d.error();
         if (*d != 0 && *d < 100'000'000) {
           return err.at(v, "vm_metrics_period must be 0s (off) or at least 100ms");
         }
         out->set_vm_metrics_period_ns(*d);
         return base::Done{};
       }},
      {"block_migration",
       [&err, out](const YAML::Node& v) -> base::Status {
         auto s = scalar(err, v, "block_migration");
         if (!s.ok()) return s.error();
         if (*s != "auto" && *s != "yes" && *s != "no") {
           return err.at(v, "block_migration must be auto, yes or no, not '" + *s + "'");
         }
         out->set_block_migration(*s);
         return base::Done{};
       }},
      {"flows",
       [&err, out](const YAML::Node& v) -> base::Status {
         auto s = scalar(err, v, "flows");
         if (!s.ok()) return s.error();
         auto flows = parse_flows(*s, kDefaultReplyTimeoutNs);
         if (!flows.ok()) return err.at(v, "flows: " + flows.error().message);
         out->clear_flows();
         for (auto& f : *flows) *out->add_flows() = f;
         return base::Done{};
       }},
      {"before",
       [&err, out](const YAML::Node& v) {
         return read_command(err, v, "before", out->mutable_before());
       }},
      {"after",
       [&err, out](const YAML::Node& v) {
         return read_command(err, v, "after", out->mutable_after());
       }},
  };
}

base::Status read_settings(const SpecError& err, const YAML::Node& n, const std::string& what,
                           v1::CellSettings* out) {
  return read_map(err, n, what, settings_handlers(err, out));
}

// A whole number in [lo, hi].
base::Result<uint32_t> bounded(const SpecError& err, const YAML::Node& n, const std::string& key,
                               uint32_t lo, uint32_t hi) {
  auto s = scalar(err, n, key);
  if (!s.ok()) return s.error();
  try {
    size_t used = 0;
    const unsigned long v = std::stoul(*s, &used);
    if (used == s->size() && v >= lo && v <= hi) return static_cast<uint32_t>(v);
  } catch (const std::exception&) {
  }
  return err.at(n, key + " must be a whole number from " + std::to_string(lo) + " to " +
                       std::to_string(hi) + ", not '" + *s + "'");
}

base::Status read_string_map(const SpecError& err, const YAML::Node& n, const std::string& key,
                             google::protobuf::Map<std::string, std::string>* out) {
  if (!n.IsMap()) return err.at(n, key + " must be a mapping of name: value");
  for (const auto& kv : n) {
    if (!kv.second.IsScalar()) return err.at(kv.second, key + " values must be single values");
    (*out)[kv.first.as<std::string>()] = kv.second.as<std::string>();
  }
  return base::Done{};
}

// The seed benchmark's flavors (flavors: seed).
void add_seed_flavors(v1::BootstrapSpec* b) {
  const struct {
    const char* name;
    uint32_t vcpus, ram_gb, disk_gb;
  } seed[] = {{"small", 2, 4, 40}, {"medium", 4, 8, 80}, {"large", 8, 16, 160}};
  for (const auto& f : seed) {
    v1::FlavorSpec* out = b->add_flavors();
    out->set_name(f.name);
    out->set_vcpus(f.vcpus);
    out->set_ram_mb(f.ram_gb * 1024);
    out->set_disk_gb(f.disk_gb);
  }
}

base::Status read_bootstrap(const SpecError& err, const YAML::Node& node, v1::BootstrapSpec* b) {
  auto set_text = [&err](const std::string& key,
                         const std::function<void(const std::string&)>& set) {
    return [&err, key, set](const YAML::Node& v) -> base::Status {
      auto s = scalar(err, v, key);
      if (!s.ok()) return s.error();
      set(*s);
      return base::Done{};
    };
  };
  auto ports = [&err](const YAML::Node& v, const std::string& key,
                      google::protobuf::RepeatedField<uint32_t>* out) -> base::Status {
    if (v.IsScalar()) {
      auto p = bounded(err, v, key, 1, 65535);
      if (!p.ok()) return p.error();
      out->Add(*p);
      return base::Done{};
    }
    if (!v.IsSequence()) return err.at(v, key + " must be a port or a list of ports");
    for (const auto& item : v) {
      auto p = bounded(err, item, key, 1, 65535);
      if (!p.ok()) return p.error();
      out->Add(*p);
    }
    return base::Done{};
  };
  base::Status read = read_map(
      err, node, "bootstrap",
      {{"cloud", set_text("bootstrap.cloud", [b](const std::string& s) { b->set_cloud(s); })},
       {"prefix", set_text("bootstrap.prefix", [b](const std::string& s) { b->set_prefix(s); })},
       {"network", set_text("bootstrap.network", [b](const std::string& s) { b->set_network(s); })},
       {"image",
        [&](const YAML::Node& v) -> base::Status {
          v1::ImageSpec* i = b->mutable_image();
          auto r = read_map(
              err, v, "bootstrap.image",
              {{"name", set_text("image.name", [i](const std::string& s) { i->set_name(s); })},
               {"file", set_text("image.file", [i](const std::string& s) { i->set_file(s); })},
               {"disk_format", set_text("image.disk_format",
                                        [i](const std::string& s) { i->set_disk_format(s); })},
               {"container_format", set_text("image.container_format", [i](const std::string& s) {
                  i->set_container_format(s);
                })}});
          if (!r.ok()) return r;
          if (i->name().empty() || i->file().empty()) {
            return err.at(v, "bootstrap.image needs name: and file:");
          }
          return base::Done{};
        }},
       {"flavors",
        [&](const YAML::Node& v) -> base::Status {
          if (v.IsScalar() && v.as<std::string>() == "seed") {
            add_seed_flavors(b);
            return base::Done{};
          }
          if (!v.IsSequence()) {
            return err.at(v,
                          "bootstrap.flavors must be a list of {name, vcpus, ram_mb, "
                          "disk_gb} or seed (small 2/4 GB/40 GB, medium 4/8/80, large "
                          "8/16/160)");
          }
          for (const auto& item : v) {
            v1::FlavorSpec* f = b->add_flavors();
            auto number = [&](const std::string& key, uint32_t lo, uint32_t hi,
                              void (v1::FlavorSpec::*set)(uint32_t)) {
              return [&err, f, key, lo, hi, set](const YAML::Node& n) -> base::Status {
                auto x = bounded(err, n, key, lo, hi);
                if (!x.ok()) return x.error();
                (f->*set)(*x);
                return base::Done{};
              };
            };
            auto r = read_map(
                err, item, "a flavor",
                {{"name", set_text("flavor.name", [f](const std::string& s) { f->set_name(s); })},
                 {"vcpus", number("flavor.vcpus", 1, 4096, &v1::FlavorSpec::set_vcpus)},
                 {"ram_mb", number("flavor.ram_mb", 1, 1u << 30, &v1::FlavorSpec::set_ram_mb)},
                 {"disk_gb", number("flavor.disk_gb", 0, 1u << 20, &v1::FlavorSpec::set_disk_gb)}});
            if (!r.ok()) return r;
            if (f->name().empty() || f->vcpus() == 0 || f->ram_mb() == 0) {
              return err.at(item,
                            "a flavor needs name:, vcpus: and ram_mb: (disk_gb: 0 if "
                            "not given)");
            }
          }
          return base::Done{};
        }},
       {"keypair",
        [&](const YAML::Node& v) -> base::Status {
          auto r = read_map(
              err, v, "bootstrap.keypair",
              {{"name", set_text("keypair.name", [b](const std::string& s) { b->set_keypair(s); })},
               {"public_key_file", set_text("keypair.public_key_file", [b](const std::string& s) {
                  b->set_public_key_file(s);
                })}});
          if (!r.ok()) return r;
          if (b->keypair().empty() || b->public_key_file().empty()) {
            return err.at(v, "bootstrap.keypair needs name: and public_key_file:");
          }
          return base::Done{};
        }},
       {"security_group",
        [&](const YAML::Node& v) -> base::Status {
          v1::SecurityGroupSpec* g = b->mutable_security_group();
          auto r = read_map(
              err, v, "bootstrap.security_group",
              {{"name",
                set_text("security_group.name", [g](const std::string& s) { g->set_name(s); })},
               {"from", set_text("security_group.from",
                                 [g](const std::string& s) { g->set_remote_prefix(s); })},
               {"icmp",
                [&err, g](const YAML::Node& n) -> base::Status {
                  auto s = scalar(err, n, "security_group.icmp");
                  if (!s.ok()) return s.error();
                  if (*s != "true" && *s != "false") {
                    return err.at(n, "security_group.icmp must be true or false");
                  }
                  g->set_icmp(*s == "true");
                  return base::Done{};
                }},
               {"udp",
                [&](const YAML::Node& n) {
                  return ports(n, "security_group.udp", g->mutable_udp_ports());
                }},
               {"tcp", [&](const YAML::Node& n) {
                  return ports(n, "security_group.tcp", g->mutable_tcp_ports());
                }}});
          if (!r.ok()) return r;
          if (g->name().empty() || g->remote_prefix().empty()) {
            return err.at(v,
                          "bootstrap.security_group needs name: and from: (the probe's "
                          "address, e.g. 10.77.0.2/32)");
          }
          return base::Done{};
        }},
       {"slice", [&](const YAML::Node& v) -> base::Status {
          v1::SliceSpec* sl = b->mutable_slice();
          auto r = read_map(
              err, v, "bootstrap.slice",
              {{"count",
                [&err, sl](const YAML::Node& n) -> base::Status {
                  auto c = bounded(err, n, "slice.count", 1, 1000);
                  if (!c.ok()) return c.error();
                  sl->set_count(*c);
                  return base::Done{};
                }},
               {"flavor",
                set_text("slice.flavor", [sl](const std::string& s) { sl->set_flavor(s); })},
               {"host", set_text("slice.host", [sl](const std::string& s) { sl->set_host(s); })},
               {"boot_timeout",
                [&err, sl](const YAML::Node& n) -> base::Status {
                  auto d = duration(err, n, "slice.boot_timeout");
                  if (!d.ok()) return d.error();
                  sl->set_boot_timeout_ns(*d);
                  return base::Done{};
                }},
               {"metadata",
                [&err, sl](const YAML::Node& n) {
                  return read_string_map(err, n, "slice.metadata", sl->mutable_metadata());
                }},
               {"servers", [&err, sl](const YAML::Node& n) -> base::Status {
                  if (!n.IsMap()) {
                    return err.at(n,
                                  "slice.servers must map a server's number to its "
                                  "metadata: {1: {migprobe_load: \"8,300000\"}}");
                  }
                  for (const auto& kv : n) {
                    auto k = bounded(err, kv.first, "slice.servers key", 1, 1000);
                    if (!k.ok()) return k.error();
                    auto& m = (*sl->mutable_server_metadata())[*k];
                    if (auto st = read_string_map(err, kv.second, "slice.servers metadata",
                                                  m.mutable_metadata());
                        !st.ok())
                      return st;
                  }
                  return base::Done{};
                }}});
          if (!r.ok()) return r;
          if (sl->count() == 0 || sl->flavor().empty() || sl->host().empty()) {
            return err.at(v, "bootstrap.slice needs count:, flavor: and host:");
          }
          for (const auto& [n, unused] : sl->server_metadata()) {
            if (n > sl->count()) {
              return err.at(v, "slice.servers names server " + std::to_string(n) + " of " +
                                   std::to_string(sl->count()));
            }
          }
          return base::Done{};
        }}});
  if (!read.ok()) return read;
  if (!b->has_image() && b->slice().count() > 0) {
    return err.at(node, "bootstrap.slice needs an image: to boot from");
  }
  return base::Done{};
}

// Later settings over earlier ones, field by field (lists replace).
void overlay(const v1::CellSettings& top, v1::CellSettings* base) {
  v1::CellSettings merged = *base;
  if (!top.servers().empty()) merged.clear_servers();
  if (!top.flows().empty()) merged.clear_flows();
  merged.MergeFrom(top);
  *base = merged;
}

}  // namespace

base::Result<v1::CampaignSpec> parse_campaign_spec(const std::string& yaml,
                                                   const std::string& source) {
  const SpecError err(source);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    return base::make_error(ErrorKind::kInvalid, source + ":" + std::to_string(e.mark.line + 1) +
                                                     ":" + std::to_string(e.mark.column + 1) +
                                                     ": not YAML: " + e.msg);
  }
  v1::CampaignSpec spec;
  const base::Status read = read_map(
      err, root, "the campaign",
      {{"name",
        [&](const YAML::Node& v) -> base::Status {
          auto s = scalar(err, v, "name");
          if (!s.ok()) return s.error();
          spec.set_name(*s);
          return base::Done{};
        }},
       {"defaults",
        [&](const YAML::Node& v) {
          return read_settings(err, v, "defaults", spec.mutable_defaults());
        }},
       {"bootstrap",
        [&](const YAML::Node& v) { return read_bootstrap(err, v, spec.mutable_bootstrap()); }},
       {"axes",
        [&](const YAML::Node& v) -> base::Status {
          if (!v.IsSequence()) return err.at(v, "axes must be a list of {name, values}");
          for (const auto& a : v) {
            v1::Axis* axis = spec.add_axes();
            auto read_axis =
                read_map(err, a, "an axis",
                         {{"name",
                           [&](const YAML::Node& n) -> base::Status {
                             auto name = scalar(err, n, "name");
                             if (!name.ok()) return name.error();
                             axis->set_name(*name);
                             return base::Done{};
                           }},
                          {"values", [&](const YAML::Node& vals) -> base::Status {
                             if (!vals.IsSequence() || vals.size() == 0) {
                               return err.at(vals, "values must be a non-empty list");
                             }
                             for (const auto& val : vals) {
                               v1::AxisValue* av = axis->add_values();
                               if (val.IsScalar()) {
                                 av->set_value(val.as<std::string>());
                                 continue;
                               }
                               auto h = settings_handlers(err, av->mutable_settings());
                               h["value"] = [&](const YAML::Node& n) -> base::Status {
                                 auto text = scalar(err, n, "value");
                                 if (!text.ok()) return text.error();
                                 av->set_value(*text);
                                 return base::Done{};
                               };
                               if (auto r = read_map(err, val, "an axis value", h); !r.ok())
                                 return r;
                               if (av->value().empty())
                                 return err.at(val, "an axis value needs value:");
                             }
                             return base::Done{};
                           }}});
            if (!read_axis.ok()) return read_axis;
            if (axis->name().empty()) return err.at(a, "an axis needs name:");
            if (axis->values().empty())
              return err.at(a, "axis '" + axis->name() + "' needs values:");
          }
          return base::Done{};
        }},
       {"cells", [&](const YAML::Node& v) -> base::Status {
          if (!v.IsSequence()) return err.at(v, "cells must be a list");
          for (const auto& c : v) {
            v1::Cell* cell = spec.add_cells();
            auto h = settings_handlers(err, cell->mutable_settings());
            h["labels"] = [&](const YAML::Node& n) -> base::Status {
              if (!n.IsMap()) return err.at(n, "labels must be a mapping of name: value");
              for (const auto& kv : n) {
                (*cell->mutable_labels())[kv.first.as<std::string>()] = kv.second.as<std::string>();
              }
              return base::Done{};
            };
            if (auto r = read_map(err, c, "a cell", h); !r.ok()) return r;
          }
          return base::Done{};
        }}});
  if (!read.ok()) return read.error();
  if (spec.has_bootstrap() && bootstrap_prefix(spec).empty()) {
    return base::make_error(ErrorKind::kInvalid,
                            source +
                                ": a bootstrap needs the campaign's name: (or "
                                "bootstrap.prefix:), the prefix of every name it gives");
  }
  if (spec.axes().empty() && spec.cells().empty()) {
    return base::make_error(ErrorKind::kInvalid, source + ": no cells: give axes: or cells:");
  }
  return spec;
}

base::Result<v1::CampaignSpec> load_campaign_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return base::make_error(
        ErrorKind::kIo, "cannot read the campaign spec '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_campaign_spec(text.str(), path);
}

std::string bootstrap_prefix(const v1::CampaignSpec& spec) {
  return spec.bootstrap().prefix().empty() ? spec.name() : spec.bootstrap().prefix();
}

std::vector<std::string> slice_server_names(const v1::CampaignSpec& spec) {
  std::vector<std::string> out;
  for (uint32_t i = 1; i <= spec.bootstrap().slice().count(); ++i) {
    out.push_back(bootstrap_prefix(spec) + "-" + std::to_string(i));
  }
  return out;
}

std::string cell_name(const v1::Cell& cell) {
  std::string out;
  // Labels in the map's order (by name): stable across runs.
  std::map<std::string, std::string> sorted(cell.labels().begin(), cell.labels().end());
  for (const auto& [k, v] : sorted) out += (out.empty() ? "" : " ") + k + "=" + v;
  return out.empty() ? "(no labels)" : out;
}

base::Result<std::vector<v1::Cell>> expand_cells(const v1::CampaignSpec& spec) {
  std::vector<v1::Cell> cells;
  // Every combination of the axes' values, the first axis varying slowest.
  if (!spec.axes().empty()) {
    std::vector<size_t> at(static_cast<size_t>(spec.axes_size()), 0);
    for (;;) {
      v1::Cell cell;
      *cell.mutable_settings() = spec.defaults();
      for (int a = 0; a < spec.axes_size(); ++a) {
        const v1::AxisValue& v = spec.axes(a).values(static_cast<int>(at[static_cast<size_t>(a)]));
        (*cell.mutable_labels())[spec.axes(a).name()] = v.value();
        overlay(v.settings(), cell.mutable_settings());
      }
      cells.push_back(std::move(cell));
      int a = spec.axes_size() - 1;
      for (; a >= 0; --a) {
        const size_t i = static_cast<size_t>(a);
        if (++at[i] < static_cast<size_t>(spec.axes(a).values_size())) break;
        at[i] = 0;
      }
      if (a < 0) break;
    }
  }
  for (const v1::Cell& listed : spec.cells()) {
    v1::Cell cell;
    *cell.mutable_labels() = listed.labels();
    *cell.mutable_settings() = spec.defaults();
    overlay(listed.settings(), cell.mutable_settings());
    cells.push_back(std::move(cell));
  }
  // Built-in defaults, and what a cell cannot do without.
  const v1::SliceSpec& slice = spec.bootstrap().slice();
  for (v1::Cell& cell : cells) {
    v1::CellSettings& s = *cell.mutable_settings();
    const std::string name = "cell " + cell_name(cell);
    // A cell that names no servers moves the bootstrap's slice, from its host.
    if (slice.count() > 0) {
      if (s.servers().empty()) {
        for (const std::string& n : slice_server_names(spec)) s.add_servers(n);
      }
      if (s.source_host().empty()) s.set_source_host(slice.host());
      if (!s.has_cloud() && !spec.bootstrap().cloud().empty()) {
        s.set_cloud(spec.bootstrap().cloud());
      }
    }
    if (s.source_host().empty() || s.dest_host().empty()) {
      return base::make_error(ErrorKind::kInvalid, name + ": needs source_host and dest_host");
    }
    if (s.source_host() == s.dest_host()) {
      return base::make_error(ErrorKind::kInvalid,
                              name + ": source_host and dest_host are both " + s.source_host());
    }
    if (!s.has_iterations()) s.set_iterations(kDefaultIterations);
    if (!s.has_parallel()) s.set_parallel(1);
    if (!s.has_policy()) s.set_policy("wait");
    if (!s.has_converge_timeout_ns()) s.set_converge_timeout_ns(120'000'000'000ULL);
    if (!s.has_migration_timeout_ns()) s.set_migration_timeout_ns(600'000'000'000ULL);
    if (!s.has_queue_timeout_ns()) s.set_queue_timeout_ns(3'600'000'000'000ULL);
    if (!s.has_settle_ns()) s.set_settle_ns(2'000'000'000ULL);
    if (!s.has_vm_metrics_period_ns()) s.set_vm_metrics_period_ns(1'000'000'000ULL);
    if (!s.has_block_migration()) s.set_block_migration("auto");
    if (s.flows().empty()) {
      auto flows = parse_flows(kDefaultFlows, kDefaultReplyTimeoutNs);
      if (!flows.ok()) return flows.error();
      for (auto& f : *flows) *s.add_flows() = f;
    }
  }
  // Cells are told apart by their labels (progress, reports, compare).
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < cells.size(); ++i) {
    const std::string name = cell_name(cells[i]);
    if (auto [it, fresh] = seen.emplace(name, i); !fresh) {
      return base::make_error(ErrorKind::kInvalid, "cells " + std::to_string(it->second + 1) +
                                                       " and " + std::to_string(i + 1) +
                                                       " have the same labels (" + name +
                                                       "): give each cell labels of its own");
    }
  }
  return cells;
}

}  // namespace migprobe::orchestrator
