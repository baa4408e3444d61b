// Microversion parsing and negotiation.
#include "control/microversion.h"

#include <algorithm>
#include <cstdio>

namespace migprobe::control {
namespace {

// One entry of a version document.
Result<ComputeVersion> read_version(const nlohmann::json& v) {
  if (!v.is_object()) return make_error(ErrorKind::kParse, "version entry is not an object");
  ComputeVersion out;
  out.id = v.value("id", "");
  out.status = v.value("status", "");
  auto max = parse_microversion(v.value("version", ""));
  auto min = parse_microversion(v.value("min_version", ""));
  if (!max.ok() || !min.ok()) {
    return make_error(ErrorKind::kUnsupported,
                      "compute endpoint " + out.id + " offers no microversions");
  }
  out.max_version = *max;
  out.min_version = *min;
  return out;
}

}  // namespace

std::string Microversion::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor);
}

Result<Microversion> parse_microversion(const std::string& text) {
  Microversion v;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%d.%d%c", &v.major, &v.minor, &tail) != 2 || v.major < 0 ||
      v.minor < 0) {
    return make_error(ErrorKind::kParse, "not a microversion: '" + text + "'");
  }
  return v;
}

Result<ComputeVersion> parse_compute_version_document(const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(ErrorKind::kParse, "compute version document is not JSON");
  }
  if (doc.contains("version")) return read_version(doc["version"]);
  if (doc.contains("versions") && doc["versions"].is_array()) {
    for (const auto& v : doc["versions"]) {
      if (v.is_object() && v.value("status", "") == "CURRENT") return read_version(v);
    }
    for (const auto& v : doc["versions"]) {
      if (v.is_object() && v.value("id", "") == "v2.1") return read_version(v);
    }
  }
  return make_error(ErrorKind::kParse, "compute version document has no v2.1 entry");
}

Result<Microversion> negotiate_microversion(const ComputeVersion& server, Microversion client_max) {
  Microversion chosen = std::min(client_max, server.max_version);
  if (chosen < server.min_version) {
    return make_error(ErrorKind::kUnsupported,
                      "compute API needs at least " + server.min_version.to_string() +
                          ", this client speaks up to " + client_max.to_string());
  }
  return chosen;
}

}  // namespace migprobe::control
