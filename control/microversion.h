#pragma once
// Compute API microversions: parsing "2.25", reading Nova's version document, and picking
// the version to speak (the lower of ours and the server's maximum).

#include <compare>
#include <nlohmann/json.hpp>
#include <string>

#include "control/result.h"

namespace migprobe::control {

// A compute API microversion, "major.minor".
struct Microversion {
  int major = 2;
  int minor = 1;

  // "2.25".
  std::string to_string() const;
  auto operator<=>(const Microversion&) const = default;
};

// Parses "2.25"; errors on anything else (including "" of the legacy v2.0 API).
Result<Microversion> parse_microversion(const std::string& text);

// The highest microversion this client understands; every body and field it reads was
// checked against the samples up to here.
inline constexpr Microversion kClientMaxMicroversion{2, 96};

// What a compute endpoint offers.
struct ComputeVersion {
  // "v2.1".
  std::string id;
  Microversion min_version;
  Microversion max_version;
  // "CURRENT", "SUPPORTED", "DEPRECATED".
  std::string status;
};

// Reads GET <compute endpoint>/ as Nova answers it: {"version": {...}} for one version, or
// {"versions": [...]} (the CURRENT v2.1 entry is used).
Result<ComputeVersion> parse_compute_version_document(const std::string& body);

// min(client_max, server max); an error when that is below the server's minimum.
Result<Microversion> negotiate_microversion(const ComputeVersion& server,
                                            Microversion client_max = kClientMaxMicroversion);

}  // namespace migprobe::control
