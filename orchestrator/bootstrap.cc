#include "orchestrator/bootstrap.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "analysis/journal.h"
#include "base/clock.h"
#include "control/run_journal.h"
#include "orchestrator/campaign_spec.h"
#include "orchestrator/run_progress.h"

namespace migprobe::orchestrator {
namespace {

using base::ErrorKind;
namespace mc = migprobe::control;

bool stopped(const std::atomic<int>* stop) {
  return stop != nullptr && stop->load() > 0;
}

base::Error interrupted() {
  return base::make_error(ErrorKind::kInterrupted,
                          "interrupted: the bootstrap stopped between two steps; what it "
                          "created is journaled (campaign teardown removes it)");
}

// A random (version 4) UUID: the id of an image created here, journaled before the call.
std::string random_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    std::random_device rd;
    for (unsigned char& c : b) c = static_cast<unsigned char>(rd());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

// The MD5 of a file (Glance's "checksum"), read in 1 MiB pieces.
base::Result<std::string> file_md5(const std::string& path, uint64_t* size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return base::make_error(ErrorKind::kIo,
                            "cannot read the image file '" + path + "': " + std::strerror(errno));
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) {
    return base::make_error(ErrorKind::kIo, "MD5 is not available (OpenSSL)");
  }
  std::vector<char> buf(1 << 20);
  *size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
    *size += n;
  }
  if (in.bad()) {
    return base::make_error(ErrorKind::kIo, "reading the image file '" + path + "' failed");
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  std::string hex;
  char two[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(two, sizeof two, "%02x", md[i]);
    hex += two;
  }
  return hex;
}

// "ssh-ed25519 AAAA..." of a public key (its comment left out), for comparing two keys.
std::string key_material(const std::string& key) {
  std::istringstream in(key);
  std::string type, data;
  in >> type >> data;
  return type + " " + data;
}

std::string flavor_text(uint32_t vcpus, uint64_t ram_mb, uint64_t disk_gb) {
  return std::to_string(vcpus) + " vCPU, " + std::to_string(ram_mb) + " MB RAM, " +
         std::to_string(disk_gb) + " GB disk";
}

// Escapes a name for Nova's name filter (a regular expression).
std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::strchr(".^$|()[]{}*+?\\", c) != nullptr) out += '\\';
    out += c;
  }
  return out;
}

// The bootstrap journal: every step, flushed at once (a bootstrap is a few dozen records).
class StepJournal {
 public:
  base::Status open(const std::string& dir, const std::string& campaign) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    path_ = (std::filesystem::path(dir) / kBootstrapJournal).string();
    if (std::filesystem::exists(path_)) {
      analysis::JournalContents contents;
      if (auto s = analysis::cut_torn_tail(path_, &contents, &cut_); !s.ok()) return s;
      for (const auto& r : contents.records) {
        if (r.has_bootstrap()) past_.push_back(r.bootstrap());
      }
    }
    v1::JournalHeader header;
    header.set_writer("migprobe-control bootstrap");
    header.set_created_ns(base::realtime_ns());
    header.set_campaign(campaign);
    return journal_.open(path_, header, std::chrono::milliseconds(100));
  }
  void step(const std::string& kind, const std::string& state, const std::string& id,
            const std::string& name, const std::string& detail = {}) {
    v1::JournalRecord r;
    v1::BootstrapEvent* e = r.mutable_bootstrap();
    e->set_seen_ns(base::realtime_ns());
    e->set_kind(kind);
    e->set_state(state);
    e->set_id(id);
    e->set_name(name);
    e->set_detail(detail);
    journal_.append(r);
    journal_.flush(true);
  }
  // Whether an earlier bootstrap into this directory created the thing (so that finding
  // it now is not "reuse" of someone else's: teardown must still delete it).
  bool created_before(const std::string& kind, const std::string& id) const {
    for (const auto& e : past_) {
      if (e.kind() == kind && e.id() == id && (e.state() == "created" || e.state() == "creating"))
        return true;
    }
    return false;
  }
  void close() { journal_.close(); }
  std::string error() const { return journal_.error(); }
  // What the journal held when opened, and what was cut from its end ("" when nothing).
  const std::vector<v1::BootstrapEvent>& past() const { return past_; }
  const std::string& cut() const { return cut_; }

 private:
  std::string path_;
  std::string cut_;
  mc::RunJournal journal_;
  std::vector<v1::BootstrapEvent> past_;
};

class Bootstrap {
 public:
  Bootstrap(const v1::CampaignSpec& spec, const CloudClients& cloud, const Say& say,
            const std::atomic<int>* stop, StepJournal& journal)
      : spec_(spec),
        b_(spec.bootstrap()),
        cloud_(cloud),
        say_(say),
        stop_(stop),
        journal_(journal),
        prefix_(bootstrap_prefix(spec)) {}

  base::Result<BootstrapResult> run() {
    for (auto step : {&Bootstrap::network, &Bootstrap::image, &Bootstrap::flavors,
                      &Bootstrap::keypair, &Bootstrap::security_group, &Bootstrap::slice}) {
      if (stopped(stop_)) return interrupted();
      if (auto s = (this->*step)(); !s.ok()) return s.error();
    }
    return result_;
  }

 private:
  // A thing found: reused, or (when an earlier bootstrap into this directory made it) ours.
  void found(const std::string& kind, const std::string& id, const std::string& name,
             const std::string& what) {
    if (journal_.created_before(kind, id)) {
      journal_.step(kind, "created", id, name, "made by an earlier bootstrap of this campaign");
      say_(what + ": made by an earlier bootstrap of this campaign");
    } else {
      journal_.step(kind, "reused", id, name);
      say_(what + ": reused");
    }
    ++result_.reused;
  }

  base::Status network() {
    if (b_.network().empty()) return base::Done{};
    auto nets = cloud_.neutron->find_networks(b_.network());
    if (!nets.ok()) return fail("network " + b_.network(), nets.error());
    if (nets->value.empty()) {
      return base::make_error(ErrorKind::kInvalid,
                              "bootstrap: network '" + b_.network() + "' not found in Neutron");
    }
    if (nets->value.size() > 1) {
      return base::make_error(ErrorKind::kInvalid,
                              "bootstrap: " + std::to_string(nets->value.size()) +
                                  " networks are named '" + b_.network() + "': name one by its id");
    }
    network_id_ = nets->value.front().id;
    network_name_ = nets->value.front().name;
    return base::Done{};
  }

  base::Status image() {
    if (!b_.has_image()) return base::Done{};
    const v1::ImageSpec& spec = b_.image();
    uint64_t size = 0;
    auto md5 = file_md5(spec.file(), &size);
    if (!md5.ok()) return md5.error();
    const std::string what = "image " + spec.name();
    auto found_images = cloud_.glance->find_by_name(spec.name());
    if (!found_images.ok()) return fail(what, found_images.error());
    for (const mc::Image& img : found_images->value) {
      if (img.status == "active" && img.checksum == *md5) {
        image_id_ = img.id;
        found("image", img.id, spec.name(), what + " (" + img.id + ", md5 " + *md5 + ")");
        return base::Done{};
      }
    }
    mc::ImageCreate create;
    create.id = random_uuid();
    create.name = spec.name();
    create.disk_format = spec.disk_format().empty() ? "raw" : spec.disk_format();
    create.container_format = spec.container_format().empty() ? "bare" : spec.container_format();
    create.tags = {"migprobe-campaign:" + spec_.name()};
    journal_.step("image", "creating", create.id, spec.name());
    auto made = cloud_.glance->create(create);
    if (!made.ok()) {
      journal_.step("image", "failed", create.id, spec.name(), made.error().to_string());
      return fail(what, made.error());
    }
    journal_.step("image", "created", create.id, spec.name());
    ++result_.created;
    say_(what + ": created " + create.id + ", uploading " + mib_text(size) + " from " +
         spec.file());
    uint64_t told = 0;
    auto up = cloud_.glance->upload(create.id, spec.file(), [&](uint64_t sent, uint64_t total) {
      // A line at every tenth of the file.
      if (total > 0 && sent * 10 / total > told) {
        told = sent * 10 / total;
        say_(what + ": uploaded " + mib_text(sent) + " of " + mib_text(total));
      }
    });
    if (!up.ok()) {
      journal_.step("image", "failed", create.id, spec.name(), up.error().to_string());
      return fail(what + " upload", up.error());
    }
    auto shown = cloud_.glance->show(create.id);
    if (!shown.ok()) return fail(what, shown.error());
    if (shown->value.checksum != *md5) {
      return base::make_error(ErrorKind::kInvalid, "bootstrap: " + what + ": Glance's checksum " +
                                                       shown->value.checksum +
                                                       " is not the file's md5 " + *md5);
    }
    image_id_ = create.id;
    say_(what + ": active (md5 " + *md5 + ")");
    return base::Done{};
  }

  base::Status flavors() {
    if (b_.flavors().empty() && b_.slice().flavor().empty()) return base::Done{};
    auto listed = cloud_.nova->flavors();
    if (!listed.ok()) return fail("flavors", listed.error());
    flavors_ = listed->value;
    for (const v1::FlavorSpec& want : b_.flavors()) {
      if (stopped(stop_)) return interrupted();
      const std::string what = "flavor " + want.name();
      const std::string asked = flavor_text(want.vcpus(), want.ram_mb(), want.disk_gb());
      const mc::Flavor* same = nullptr;
      for (const mc::Flavor& f : flavors_) {
        if (f.name != want.name()) continue;
        const bool equal = f.vcpus == static_cast<int>(want.vcpus()) &&
                           f.ram_mb == static_cast<int64_t>(want.ram_mb()) &&
                           f.disk_gb == static_cast<int64_t>(want.disk_gb());
        if (!equal) {
          return base::make_error(
              ErrorKind::kInvalid,
              "bootstrap: " + what + ": the cloud has a flavor of that name (id " + f.id +
                  ") with " +
                  flavor_text(static_cast<uint32_t>(f.vcpus), static_cast<uint64_t>(f.ram_mb),
                              static_cast<uint64_t>(f.disk_gb)) +
                  "; the spec asks " + asked +
                  ". Give the spec's flavor another name, or delete the cloud's");
        }
        same = &f;
      }
      if (same != nullptr) {
        found("flavor", same->id, want.name(), what + " (" + asked + ")");
        continue;
      }
      mc::FlavorCreate create;
      create.name = want.name();
      create.vcpus = static_cast<int>(want.vcpus());
      create.ram_mb = want.ram_mb();
      create.disk_gb = want.disk_gb();
      create.description = "migprobe campaign " + spec_.name();
      journal_.step("flavor", "creating", "", want.name());
      auto made = cloud_.nova->create_flavor(create);
      if (!made.ok()) {
        journal_.step("flavor", "failed", "", want.name(), made.error().to_string());
        return fail(what + " (" + asked + ")", made.error());
      }
      journal_.step("flavor", "created", made->value.id, want.name());
      ++result_.created;
      flavors_.push_back(made->value);
      say_(what + ": created " + made->value.id + " (" + asked + ")");
    }
    return base::Done{};
  }

  base::Status keypair() {
    if (b_.keypair().empty()) return base::Done{};
    const std::string what = "keypair " + b_.keypair();
    std::ifstream in(b_.public_key_file());
    if (!in) {
      return base::make_error(ErrorKind::kIo, "bootstrap: " + what + ": cannot read '" +
                                                  b_.public_key_file() +
                                                  "': " + std::strerror(errno));
    }
    std::string key;
    std::getline(in, key);
    if (key_material(key).size() < 20) {
      return base::make_error(
          ErrorKind::kInvalid,
          "bootstrap: " + what + ": '" + b_.public_key_file() + "' holds no ssh public key");
    }
    auto existing = cloud_.nova->keypair(b_.keypair());
    if (existing.ok()) {
      if (key_material(existing->value.public_key) != key_material(key)) {
        return base::make_error(ErrorKind::kInvalid, "bootstrap: " + what +
                                                         ": the cloud has a keypair of that name "
                                                         "with another key (fingerprint " +
                                                         existing->value.fingerprint + ") than " +
                                                         b_.public_key_file());
      }
      found("keypair", b_.keypair(), b_.keypair(), what);
      return base::Done{};
    }
    if (existing.error().http_status != 404) return fail(what, existing.error());
    journal_.step("keypair", "creating", b_.keypair(), b_.keypair());
    auto made = cloud_.nova->import_keypair(b_.keypair(), key);
    if (!made.ok()) {
      journal_.step("keypair", "failed", b_.keypair(), b_.keypair(), made.error().to_string());
      return fail(what, made.error());
    }
    journal_.step("keypair", "created", b_.keypair(), b_.keypair());
    ++result_.created;
    say_(what + ": imported (" + made->value.fingerprint + ")");
    return base::Done{};
  }

  base::Status security_group() {
    if (!b_.has_security_group()) return base::Done{};
    const v1::SecurityGroupSpec& want = b_.security_group();
    const std::string what = "security group " + want.name();
    auto groups = cloud_.neutron->find_security_groups(want.name());
    if (!groups.ok()) return fail(what, groups.error());
    mc::SecurityGroup group;
    if (groups->value.size() > 1) {
      return base::make_error(ErrorKind::kInvalid, "bootstrap: " + what + ": " +
                                                       std::to_string(groups->value.size()) +
                                                       " groups have that name");
    }
    if (!groups->value.empty()) {
      group = groups->value.front();
      found("security_group", group.id, want.name(), what + " (" + group.id + ")");
    } else {
      journal_.step("security_group", "creating", "", want.name());
      auto made = cloud_.neutron->create_security_group(
          want.name(), "migprobe campaign " + spec_.name() + ": the probe's flows");
      if (!made.ok()) {
        journal_.step("security_group", "failed", "", want.name(), made.error().to_string());
        return fail(what, made.error());
      }
      group = made->value;
      journal_.step("security_group", "created", group.id, want.name());
      ++result_.created;
      say_(what + ": created " + group.id);
    }
    // The rules the probe needs that the group lacks.
    std::vector<mc::SecurityGroupRule> wanted;
    auto rule = [&](const std::string& protocol, std::optional<int> lo, std::optional<int> hi) {
      mc::SecurityGroupRule r;
      r.security_group_id = group.id;
      r.protocol = protocol;
      r.port_range_min = lo;
      r.port_range_max = hi;
      r.remote_ip_prefix = want.remote_prefix();
      wanted.push_back(r);
    };
    if (want.icmp()) rule("icmp", std::nullopt, std::nullopt);
    for (uint32_t p : want.udp_ports()) rule("udp", static_cast<int>(p), static_cast<int>(p));
    for (uint32_t p : want.tcp_ports()) rule("tcp", static_cast<int>(p), static_cast<int>(p));
    for (const mc::SecurityGroupRule& r : wanted) {
      bool have = false;
      for (const mc::SecurityGroupRule& x : group.rules) {
        have = have ||
               (x.direction == "ingress" && x.ethertype == "IPv4" && x.protocol == r.protocol &&
                x.port_range_min == r.port_range_min && x.port_range_max == r.port_range_max &&
                x.remote_ip_prefix == r.remote_ip_prefix);
      }
      if (have) continue;
      const std::string name = r.protocol +
                               (r.port_range_min ? " " + std::to_string(*r.port_range_min) : "") +
                               " from " + r.remote_ip_prefix;
      auto made = cloud_.neutron->create_rule(r);
      if (!made.ok()) return fail(what + " rule " + name, made.error());
      journal_.step("security_group_rule", "created", made->value.id, name, group.id);
      ++result_.created;
    }
    group_name_ = want.name();
    return base::Done{};
  }

  base::Status slice() {
    const v1::SliceSpec& sl = b_.slice();
    if (sl.count() == 0) return base::Done{};
    const mc::Flavor* flavor = nullptr;
    for (const mc::Flavor& f : flavors_) {
      if (f.name == sl.flavor() || f.id == sl.flavor()) flavor = &f;
    }
    if (flavor == nullptr) {
      return base::make_error(ErrorKind::kInvalid, "bootstrap: the slice's flavor '" + sl.flavor() +
                                                       "' is neither in bootstrap.flavors nor "
                                                       "in the cloud");
    }
    const std::string asked =
        "on " + sl.host() + " (flavor " + flavor->name + ": " +
        flavor_text(static_cast<uint32_t>(flavor->vcpus), static_cast<uint64_t>(flavor->ram_mb),
                    static_cast<uint64_t>(flavor->disk_gb)) +
        ")";
    std::vector<std::string> ids;
    const std::vector<std::string> names = slice_server_names(spec_);
    for (size_t i = 0; i < names.size(); ++i) {
      if (stopped(stop_)) return interrupted();
      const std::string& name = names[i];
      const std::string what = "server " + name;
      auto same = cloud_.nova->servers_named("^" + regex_escape(name) + "$");
      if (!same.ok()) return fail(what, same.error());
      if (!same->value.empty()) {
        const mc::Server& s = same->value.front();
        const auto tag = s.metadata.find(kCampaignMetadataKey);
        if (tag == s.metadata.end() || tag->second != spec_.name()) {
          return base::make_error(ErrorKind::kInvalid,
                                  "bootstrap: " + what + ": the cloud has a server of that name (" +
                                      s.id + ") that campaign " + spec_.name() +
                                      " did not create; rename the campaign or its prefix");
        }
        if (s.status == "ERROR") {
          return base::make_error(ErrorKind::kInvalid, "bootstrap: " + what + " (" + s.id +
                                                           ") is in ERROR (" + s.fault +
                                                           "); campaign teardown removes it");
        }
        found("server", s.id, name, what + " (" + s.id + ", " + s.status + " on " + s.host + ")");
        ids.push_back(s.id);
        continue;
      }
      mc::ServerCreate create;
      create.name = name;
      create.image_id = image_id_;
      create.flavor_id = flavor->id;
      create.network_id = network_id_;
      create.key_name = b_.keypair();
      if (!group_name_.empty()) create.security_groups = {group_name_};
      create.metadata.insert(sl.metadata().begin(), sl.metadata().end());
      if (auto m = sl.server_metadata().find(static_cast<uint32_t>(i + 1));
          m != sl.server_metadata().end()) {
        for (const auto& [k, v] : m->second.metadata()) create.metadata[k] = v;
      }
      create.metadata[kCampaignMetadataKey] = spec_.name();
      create.tags = {"migprobe"};
      create.host = sl.host();
      journal_.step("server", "creating", "", name);
      auto made = cloud_.nova->create_server(create);
      if (!made.ok()) {
        journal_.step("server", "failed", "", name, made.error().to_string());
        return fail("booting " + what + " " + asked, made.error());
      }
      journal_.step("server", "created", made->value, name);
      ++result_.created;
      say_(what + ": booting " + made->value + " " + asked);
      ids.push_back(made->value);
    }
    return wait_active(ids, names);
  }

  // Every server ACTIVE on the slice's host within the boot timeout; their addresses.
  base::Status wait_active(const std::vector<std::string>& ids,
                           const std::vector<std::string>& names) {
    const v1::SliceSpec& sl = b_.slice();
    const uint64_t timeout_ns = sl.boot_timeout_ns() ? sl.boot_timeout_ns() : 300'000'000'000ULL;
    const uint64_t deadline = base::monotonic_ns() + timeout_ns;
    std::vector<bool> done(ids.size(), false);
    size_t left = ids.size();
    while (left > 0) {
      for (size_t i = 0; i < ids.size(); ++i) {
        if (done[i]) continue;
        auto s = cloud_.nova->server(ids[i]);
        if (!s.ok()) return fail("server " + names[i], s.error());
        const mc::Server& server = s->value;
        if (server.status == "ERROR") {
          journal_.step("server", "failed", ids[i], names[i], server.fault);
          return base::make_error(ErrorKind::kInvalid,
                                  "bootstrap: server " + names[i] + " (" + ids[i] +
                                      ") went to ERROR: " +
                                      (server.fault.empty() ? "Nova gave no fault" : server.fault));
        }
        if (server.status != "ACTIVE") continue;
        if (server.host != sl.host()) {
          return base::make_error(ErrorKind::kInvalid, "bootstrap: server " + names[i] +
                                                           " is ACTIVE on " + server.host +
                                                           ", not on " + sl.host() + " as asked");
        }
        SliceServer out{ids[i], names[i], server.host, "", ""};
        for (const auto& a : server.addresses) {
          if (a.version != 4 && a.version != 0) continue;
          if (!network_name_.empty() && a.network != network_name_) continue;
          out.address = a.addr;
          out.mac = a.mac;
          break;
        }
        if (out.address.empty()) {
          return base::make_error(
              ErrorKind::kInvalid,
              "bootstrap: server " + names[i] + " is ACTIVE with no IPv4 address" +
                  (network_name_.empty() ? std::string() : " on " + network_name_));
        }
        journal_.step("server", "active", ids[i], names[i], out.address + " " + out.mac);
        say_("server " + names[i] + ": ACTIVE on " + out.host + ", " + out.address + " " + out.mac);
        result_.servers.push_back(out);
        done[i] = true;
        --left;
      }
      if (left == 0) break;
      if (stopped(stop_)) return interrupted();
      if (base::monotonic_ns() > deadline) {
        std::string which;
        for (size_t i = 0; i < ids.size(); ++i) {
          if (!done[i]) which += (which.empty() ? "" : ", ") + names[i];
        }
        return base::make_error(ErrorKind::kInvalid, "bootstrap: " + which + " not ACTIVE after " +
                                                         seconds_text(timeout_ns) +
                                                         " (slice.boot_timeout)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return base::Done{};
  }

  // An API failure as the bootstrap's error: what was asked, then the cloud's words.
  static base::Error fail(const std::string& what, const base::Error& e) {
    base::Error out = e;
    out.message = "bootstrap: " + what + ": " + e.message;
    return out;
  }

  const v1::CampaignSpec& spec_;
  const v1::BootstrapSpec& b_;
  const CloudClients& cloud_;
  const Say& say_;
  const std::atomic<int>* stop_;
  StepJournal& journal_;
  const std::string prefix_;
  BootstrapResult result_;
  std::string network_id_;
  std::string network_name_;
  std::string image_id_;
  std::string group_name_;
  std::vector<mc::Flavor> flavors_;
};

// What a bootstrap journal says is the campaign's: the last state of each thing.
struct Owned {
  std::string kind;
  std::string id;
  std::string name;
  std::string state;
  std::string detail;
};

}  // namespace

base::Result<BootstrapResult> run_bootstrap(const v1::CampaignSpec& spec, const std::string& dir,
                                            const CloudClients& cloud, const Say& say,
                                            const std::atomic<int>* stop) {
  StepJournal journal;
  if (auto s = journal.open(dir, spec.name()); !s.ok()) return s.error();
  journal.step("campaign", "started", bootstrap_prefix(spec), spec.name(),
               spec.bootstrap().cloud());
  Bootstrap bootstrap(spec, cloud, say, stop, journal);
  auto result = bootstrap.run();
  journal.step("campaign", result.ok() ? "finished" : "failed", bootstrap_prefix(spec), spec.name(),
               result.ok() ? "" : result.error().message);
  journal.close();
  if (!journal.error().empty() && result.ok()) {
    return base::make_error(ErrorKind::kIo, "bootstrap journal: " + journal.error());
  }
  return result;
}

std::vector<std::string> check_bootstrap_files(const v1::CampaignSpec& spec) {
  std::vector<std::string> problems;
  const v1::BootstrapSpec& b = spec.bootstrap();
  auto readable = [&](const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      problems.push_back("bootstrap: " + what + " '" + path + "': " + std::strerror(errno));
    }
  };
  if (b.has_image()) readable(b.image().file(), "image file");
  if (!b.public_key_file().empty()) readable(b.public_key_file(), "public key file");
  return problems;
}

base::Status read_bootstrap_identity(const std::string& dir, std::string* campaign,
                                     std::string* prefix, std::string* cloud) {
  analysis::JournalContents contents;
  const std::string path = (std::filesystem::path(dir) / kBootstrapJournal).string();
  if (auto s = analysis::read_journal(path, &contents); !s.ok()) return s;
  for (const auto& r : contents.records) {
    if (r.has_bootstrap() && r.bootstrap().kind() == "campaign") {
      *campaign = r.bootstrap().name();
      *prefix = r.bootstrap().id();
      *cloud = r.bootstrap().detail();
      return base::Done{};
    }
  }
  return base::make_error(ErrorKind::kInvalid, path + ": no bootstrap was started in it");
}

std::vector<std::string> run_teardown(const std::string& dir, const CloudClients& cloud,
                                      const Say& say, std::chrono::seconds server_timeout) {
  std::vector<std::string> problems;
  const std::string path = (std::filesystem::path(dir) / kBootstrapJournal).string();
  if (!std::filesystem::exists(path)) {
    problems.push_back(path + ": no bootstrap was started in it");
    return problems;
  }
  // Opened once: its torn end cut, what it holds read, the teardown's steps appended.
  StepJournal journal;
  if (auto s = journal.open(dir, ""); !s.ok()) {
    problems.push_back(s.error().message);
    return problems;
  }
  if (!journal.cut().empty()) say(journal.cut());
  std::string campaign, prefix;
  std::vector<Owned> owned;
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (const v1::BootstrapEvent& e : journal.past()) {
    if (e.kind() == "campaign") {
      campaign = e.name();
      prefix = e.id();
      continue;
    }
    // Flavors, groups and servers are journaled "creating" by name before their id is
    // known; later records of the same name carry the id.
    const std::string key =
        e.kind() == "image" || e.kind() == "security_group_rule" ? e.id() : e.name();
    auto [it, fresh] = index.emplace(std::make_pair(e.kind(), key), owned.size());
    if (fresh) owned.push_back({e.kind(), e.id(), e.name(), e.state(), e.detail()});
    Owned& o = owned[it->second];
    if (!e.id().empty()) o.id = e.id();
    // "active" changes nothing. "failed" with an id (a server in ERROR, an image whose upload
    // failed, an image whose create failed: its id is ours) leaves the thing ours: it may
    // exist. Without an id, the create call itself failed: nothing was made (a server whose
    // answer was lost is still found by its tag below).
    if (e.state() == "active" || (e.state() == "failed" && !e.id().empty())) continue;
    o.state = e.state();
  }
  if (campaign.empty()) {
    journal.close();
    problems.push_back(path + ": no bootstrap was started in it");
    return problems;
  }
  journal.step("campaign", "teardown", prefix, campaign);
  auto ours = [](const Owned& o) { return o.state == "creating" || o.state == "created"; };

  // Servers: those journaled, and any named PREFIX-* tagged with the campaign (a crash
  // between Nova's answer and the journal).
  std::map<std::string, std::string> servers;  // id -> name
  auto tagged = cloud.nova->servers_named("^" + regex_escape(prefix) + "-");
  if (!tagged.ok()) {
    problems.push_back("listing servers named " + prefix + "-*: " + tagged.error().to_string());
  } else {
    for (const mc::Server& s : tagged->value) {
      const auto tag = s.metadata.find(kCampaignMetadataKey);
      if (tag != s.metadata.end() && tag->second == campaign) servers[s.id] = s.name;
    }
  }
  for (const Owned& o : owned) {
    if (o.kind == "server" && ours(o) && !o.id.empty()) servers[o.id] = o.name;
  }
  for (const auto& [id, name] : servers) {
    auto r = cloud.nova->delete_server(id);
    if (!r.ok() && r.error().http_status == 404) {
      journal.step("server", "gone", id, name);
    } else if (!r.ok()) {
      problems.push_back("server " + name + " (" + id + "): " + r.error().to_string());
    }
  }
  const uint64_t deadline =
      base::monotonic_ns() + static_cast<uint64_t>(server_timeout.count()) * 1'000'000'000ULL;
  for (const auto& [id, name] : servers) {
    for (;;) {
      auto s = cloud.nova->server(id);
      if (!s.ok() && s.error().http_status == 404) {
        journal.step("server", "deleted", id, name);
        say("server " + name + ": deleted");
        break;
      }
      if (base::monotonic_ns() > deadline) {
        problems.push_back("server " + name + " (" + id + ") still there " +
                           std::to_string(server_timeout.count()) + " s after its delete" +
                           (s.ok() ? " (status " + s->value.status + ")" : ""));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  // Then what the servers used, newest first. A rule of a group the campaign created goes
  // with its group; those it added to a group it reused are deleted one by one.
  std::set<std::string> own_groups;
  for (const Owned& o : owned) {
    if (o.kind == "security_group" && ours(o) && !o.id.empty()) own_groups.insert(o.id);
  }
  for (auto it = owned.rbegin(); it != owned.rend(); ++it) {
    const Owned& o = *it;
    if (!ours(o) || o.kind == "server") continue;
    if (o.kind == "security_group_rule" && own_groups.count(o.detail) != 0) continue;
    std::string kind = o.kind;
    std::replace(kind.begin(), kind.end(), '_', ' ');
    const std::string what = kind + " " + o.name + (o.id.empty() ? "" : " (" + o.id + ")");
    base::Result<mc::Traced<base::Done>> r = base::make_error(ErrorKind::kInvalid, "unknown kind");
    if (o.kind == "security_group_rule") {
      r = cloud.neutron->delete_rule(o.id);
    } else if (o.kind == "security_group") {
      std::string id = o.id;
      if (id.empty()) {
        auto found = cloud.neutron->find_security_groups(o.name);
        if (found.ok() && found->value.size() == 1) id = found->value.front().id;
      }
      if (id.empty()) {
        journal.step(o.kind, "gone", "", o.name);
        continue;
      }
      r = cloud.neutron->delete_security_group(id);
    } else if (o.kind == "keypair") {
      r = cloud.nova->delete_keypair(o.name);
    } else if (o.kind == "flavor") {
      std::string id = o.id;
      if (id.empty()) {
        auto listed = cloud.nova->flavors();
        if (listed.ok()) {
          for (const mc::Flavor& f : listed->value) {
            if (f.name == o.name) id = f.id;
          }
        }
      }
      if (id.empty()) {
        journal.step(o.kind, "gone", "", o.name);
        continue;
      }
      r = cloud.nova->delete_flavor(id);
    } else if (o.kind == "image") {
      r = cloud.glance->remove(o.id);
    }
    if (r.ok()) {
      journal.step(o.kind, "deleted", o.id, o.name);
      say(what + ": deleted");
    } else if (r.error().http_status == 404) {
      journal.step(o.kind, "gone", o.id, o.name);
      say(what + ": already gone");
    } else {
      problems.push_back(what + ": " + r.error().to_string());
    }
  }
  journal.step("campaign", problems.empty() ? "torn down" : "teardown incomplete", prefix,
               campaign);
  journal.close();
  return problems;
}

}  // namespace migprobe::orchestrator
