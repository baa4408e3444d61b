#pragma once
// Where the credentials come from, read as the OpenStack CLI reads them: a named cloud in
// clouds.yaml (--os-cloud or OS_CLOUD; files searched as openstacksdk does) or else the
// OS_* environment variables. The result is a CloudConfig; its secrets are never printed.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "control/result.h"

namespace migprobe::control {

// Keystone v3 credentials and the endpoint selection that goes with them.
struct CloudConfig {
  // Keystone URL, with or without the trailing /v3.
  std::string auth_url;
  // "password" or "v3applicationcredential"; empty means: infer from what is set.
  std::string auth_type;
  std::string username;
  std::string user_id;
  // Secret: never logged or returned in an error.
  std::string password;
  std::string user_domain_name;
  std::string user_domain_id;
  std::string project_name;
  std::string project_id;
  std::string project_domain_name;
  std::string project_domain_id;
  std::string application_credential_id;
  std::string application_credential_name;
  // Secret: never logged or returned in an error.
  std::string application_credential_secret;
  // Catalog selection.
  std::string region_name;
  std::string interface = "public";
  // TLS: CA bundle path and the OS_INSECURE switch.
  std::string cacert;
  bool insecure = false;

  // True when application-credential auth applies (explicit or inferred).
  bool uses_application_credential() const;
  // The secrets held, for scrubbing error text; empty strings left out.
  std::vector<std::string> secrets() const;
};

// Looks up an environment variable; returns nullopt when unset. Tests pass a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
EnvLookup process_env();

// The clouds.yaml files openstacksdk reads, in its order: $OS_CLIENT_CONFIG_FILE,
// ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml.
std::vector<std::string> clouds_yaml_search_path(const EnvLookup& env);

// Reads cloud `name` from one clouds.yaml file. Errors name the file and the key, never a
// value.
Result<CloudConfig> load_cloud_from_file(const std::string& path, const std::string& name);

// Sets the fields that cloud `name` in path defines, leaving the others as they are (how
// secure.yaml completes clouds.yaml).
Status overlay_cloud_from_file(const std::string& path, const std::string& name,
                               CloudConfig& config);

// Where openstacksdk looks for secure.yaml: $OS_CLIENT_SECURE_FILE, then secure.yaml in
// each folder of clouds_path.
std::vector<std::string> secure_yaml_search_path(const EnvLookup& env,
                                                 const std::vector<std::string>& clouds_path);

// Sets the fields whose OS_* variable is set and not empty.
void overlay_cloud_from_env(const EnvLookup& env, CloudConfig& config);

// Builds a CloudConfig from the OS_* variables alone.
Result<CloudConfig> load_cloud_from_env(const EnvLookup& env);

// The CLI's rule: os_cloud (the --os-cloud flag) or else OS_CLOUD names a cloud, read from
// the first clouds.yaml in search_path that has it, completed by the first secure.yaml that
// has it; with neither, the OS_* variables. As with the CLI, OS_* variables that are set
// override a named cloud's values too (they are the defaults of its --os-* options).
Result<CloudConfig> resolve_cloud(const std::string& os_cloud, const EnvLookup& env,
                                  const std::vector<std::string>& search_path);

// Checks that config holds one complete way to authenticate.
Status validate_cloud(const CloudConfig& config);

}  // namespace migprobe::control
