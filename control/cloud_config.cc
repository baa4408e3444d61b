// clouds.yaml and OS_* reading.
#include "control/cloud_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace migprobe::control {
namespace {

// How openstacksdk reads a boolean given as text.
bool truthy(const std::string& v) {
  return v == "1" || v == "true" || v == "True" || v == "TRUE" || v == "yes" || v == "on";
}

// Reads a scalar key into out when present; yaml-cpp exceptions stay inside this file.
void read_key(const YAML::Node& node, const char* key, std::string& out) {
  const YAML::Node value = node[key];
  if (value && value.IsScalar()) out = value.as<std::string>();
}

}  // namespace

bool CloudConfig::uses_application_credential() const {
  if (!auth_type.empty()) return auth_type == "v3applicationcredential";
  return !application_credential_secret.empty();
}

std::vector<std::string> CloudConfig::secrets() const {
  std::vector<std::string> out;
  if (!password.empty()) out.push_back(password);
  if (!application_credential_secret.empty()) out.push_back(application_credential_secret);
  return out;
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::vector<std::string> clouds_yaml_search_path(const EnvLookup& env) {
  std::vector<std::string> out;
  if (auto f = env("OS_CLIENT_CONFIG_FILE")) out.push_back(*f);
  out.push_back("clouds.yaml");
  if (auto home = env("HOME")) out.push_back(*home + "/.config/openstack/clouds.yaml");
  out.push_back("/etc/openstack/clouds.yaml");
  return out;
}

Result<CloudConfig> load_cloud_from_file(const std::string& path, const std::string& name) {
  CloudConfig c;
  if (Status s = overlay_cloud_from_file(path, name, c); !s.ok()) return s.error();
  return c;
}

Status overlay_cloud_from_file(const std::string& path, const std::string& name, CloudConfig& c) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    YAML::Node cloud = root["clouds"][name];
    if (!cloud || !cloud.IsMap()) {
      return make_error(ErrorKind::kConfig, path + ": no cloud named '" + name + "'");
    }
    YAML::Node auth = cloud["auth"];
    if (auth && auth.IsMap()) {
      read_key(auth, "auth_url", c.auth_url);
      read_key(auth, "username", c.username);
      read_key(auth, "user_id", c.user_id);
      read_key(auth, "password", c.password);
      read_key(auth, "user_domain_name", c.user_domain_name);
      read_key(auth, "user_domain_id", c.user_domain_id);
      read_key(auth, "project_name", c.project_name);
      read_key(auth, "project_id", c.project_id);
      read_key(auth, "project_domain_name", c.project_domain_name);
      read_key(auth, "project_domain_id", c.project_domain_id);
      read_key(auth, "application_credential_id", c.application_credential_id);
      read_key(auth, "application_credential_name", c.application_credential_name);
      read_key(auth, "application_credential_secret", c.application_credential_secret);
      // openstacksdk accepts the old tenant_* spellings too.
      if (c.project_name.empty()) read_key(auth, "tenant_name", c.project_name);
      if (c.project_id.empty()) read_key(auth, "tenant_id", c.project_id);
    }
    read_key(cloud, "auth_type", c.auth_type);
    read_key(cloud, "region_name", c.region_name);
    read_key(cloud, "interface", c.interface);
    read_key(cloud, "cacert", c.cacert);
    std::string verify;
    read_key(cloud, "verify", verify);
    if (!verify.empty()) c.insecure = !truthy(verify);
    if (c.interface.empty()) c.interface = "public";
    return Done{};
  } catch (const YAML::BadFile&) {
    return make_error(ErrorKind::kConfig, path + ": cannot be read");
  } catch (const YAML::Exception& e) {
    // Only the position: the message of a conversion error could quote a value.
    return make_error(ErrorKind::kConfig, path + ": not valid clouds.yaml (line " +
                                              std::to_string(e.mark.line + 1) + ")");
  }
}

std::vector<std::string> secure_yaml_search_path(const EnvLookup& env,
                                                 const std::vector<std::string>& clouds_path) {
  std::vector<std::string> out;
  if (auto f = env("OS_CLIENT_SECURE_FILE")) out.push_back(*f);
  for (const std::string& p : clouds_path) {
    std::filesystem::path secure = std::filesystem::path(p).parent_path() / "secure.yaml";
    if (std::find(out.begin(), out.end(), secure.string()) == out.end()) {
      out.push_back(secure.string());
    }
  }
  return out;
}

void overlay_cloud_from_env(const EnvLookup& env, CloudConfig& c) {
  auto get = [&](const char* name, std::string& out) {
    if (auto v = env(name); v && !v->empty()) out = *v;
  };
  get("OS_AUTH_URL", c.auth_url);
  get("OS_AUTH_TYPE", c.auth_type);
  get("OS_USERNAME", c.username);
  get("OS_USER_ID", c.user_id);
  get("OS_PASSWORD", c.password);
  get("OS_USER_DOMAIN_NAME", c.user_domain_name);
  get("OS_USER_DOMAIN_ID", c.user_domain_id);
  get("OS_PROJECT_NAME", c.project_name);
  get("OS_PROJECT_ID", c.project_id);
  get("OS_PROJECT_DOMAIN_NAME", c.project_domain_name);
  get("OS_PROJECT_DOMAIN_ID", c.project_domain_id);
  get("OS_APPLICATION_CREDENTIAL_ID", c.application_credential_id);
  get("OS_APPLICATION_CREDENTIAL_NAME", c.application_credential_name);
  get("OS_APPLICATION_CREDENTIAL_SECRET", c.application_credential_secret);
  get("OS_REGION_NAME", c.region_name);
  get("OS_INTERFACE", c.interface);
  get("OS_CACERT", c.cacert);
  std::string insecure;
  get("OS_INSECURE", insecure);
  if (!insecure.empty()) c.insecure = truthy(insecure);
}

Result<CloudConfig> load_cloud_from_env(const EnvLookup& env) {
  CloudConfig c;
  overlay_cloud_from_env(env, c);
  return c;
}

Result<CloudConfig> resolve_cloud(const std::string& os_cloud, const EnvLookup& env,
                                  const std::vector<std::string>& search_path) {
  std::string name = os_cloud;
  if (name.empty()) {
    if (auto v = env("OS_CLOUD")) name = *v;
  }
  Result<CloudConfig> config = make_error(ErrorKind::kConfig, "");
  if (name.empty()) {
    config = load_cloud_from_env(env);
  } else {
    std::string tried;
    for (const std::string& path : search_path) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) continue;
      config = load_cloud_from_file(path, name);
      if (config.ok()) break;
      tried += (tried.empty() ? "" : "; ") + config.error().message;
    }
    if (!config.ok()) {
      return make_error(ErrorKind::kConfig,
                        "cloud '" + name + "' not found" + (tried.empty() ? "" : ": " + tried));
    }
    // secure.yaml (the secrets kept apart) overlays the first file that has the cloud.
    for (const std::string& path : secure_yaml_search_path(env, search_path)) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) continue;
      if (overlay_cloud_from_file(path, name, *config).ok()) break;
    }
    // The CLI takes OS_* variables as option defaults, and options beat clouds.yaml.
    overlay_cloud_from_env(env, *config);
  }
  if (Status s = validate_cloud(*config); !s.ok()) return s.error();
  return config;
}

Status validate_cloud(const CloudConfig& c) {
  if (c.auth_url.empty()) return make_error(ErrorKind::kConfig, "no auth_url (OS_AUTH_URL)");
  if (c.uses_application_credential()) {
    if (c.application_credential_secret.empty()) {
      return make_error(ErrorKind::kConfig, "application credential without a secret");
    }
    if (c.application_credential_id.empty()) {
      if (c.application_credential_name.empty()) {
        return make_error(ErrorKind::kConfig, "application credential needs an id or a name");
      }
      if (c.user_id.empty() && c.username.empty()) {
        return make_error(ErrorKind::kConfig,
                          "application credential by name needs the user (id or name)");
      }
    }
    return Done{};
  }
  if (c.user_id.empty() && c.username.empty()) {
    return make_error(ErrorKind::kConfig, "no user (OS_USERNAME or OS_USER_ID)");
  }
  if (c.password.empty()) return make_error(ErrorKind::kConfig, "no password (OS_PASSWORD)");
  if (c.user_id.empty() && c.user_domain_name.empty() && c.user_domain_id.empty()) {
    return make_error(ErrorKind::kConfig, "user by name needs a domain (OS_USER_DOMAIN_NAME)");
  }
  if (c.project_id.empty() && !c.project_name.empty() && c.project_domain_name.empty() &&
      c.project_domain_id.empty()) {
    return make_error(ErrorKind::kConfig,
                      "project by name needs a domain (OS_PROJECT_DOMAIN_NAME)");
  }
  return Done{};
}

}  // namespace migprobe::control
