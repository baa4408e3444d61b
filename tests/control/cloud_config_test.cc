// clouds.yaml and OS_* variables, read as the OpenStack CLI reads them.
#include "control/cloud_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace migprobe::control {
namespace {

// An environment made of vars only.
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// A scratch directory removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("migprobe-control-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  // Writes text to name under the directory (creating folders); returns the full path.
  std::string write(const std::string& name, const std::string& text) const {
    std::filesystem::path p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

constexpr const char* kCloudsYaml = R"(clouds:
  lab:
    auth:
      auth_url: https://keystone.lab:5000/v3
      username: admin
      password: s3cret-pw
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionTwo
    interface: internal
    cacert: /etc/ssl/lab-ca.pem
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.lab:5000
      application_credential_id: 9362ce3d64d4b60cf792ad830d9c1b1b
      application_credential_secret: app-s3cret
    verify: false
)";

TEST(CloudConfig, ReadsEveryOsVariable) {
  auto c = load_cloud_from_env(env_of({{"OS_AUTH_URL", "https://k:5000/v3"},
                                       {"OS_USERNAME", "admin"},
                                       {"OS_PASSWORD", "pw"},
                                       {"OS_PROJECT_NAME", "demo"},
                                       {"OS_PROJECT_ID", "p1"},
                                       {"OS_USER_DOMAIN_NAME", "Default"},
                                       {"OS_PROJECT_DOMAIN_NAME", "Default"},
                                       {"OS_REGION_NAME", "RegionOne"},
                                       {"OS_INTERFACE", "internal"},
                                       {"OS_CACERT", "/ca.pem"},
                                       {"OS_INSECURE", "true"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->auth_url, "https://k:5000/v3");
  EXPECT_EQ(c->username, "admin");
  EXPECT_EQ(c->password, "pw");
  EXPECT_EQ(c->project_name, "demo");
  EXPECT_EQ(c->project_id, "p1");
  EXPECT_EQ(c->user_domain_name, "Default");
  EXPECT_EQ(c->project_domain_name, "Default");
  EXPECT_EQ(c->region_name, "RegionOne");
  EXPECT_EQ(c->interface, "internal");
  EXPECT_EQ(c->cacert, "/ca.pem");
  EXPECT_TRUE(c->insecure);
  EXPECT_FALSE(c->uses_application_credential());
}

TEST(CloudConfig, ApplicationCredentialFromEnv) {
  auto c = load_cloud_from_env(env_of({{"OS_AUTH_URL", "https://k"},
                                       {"OS_APPLICATION_CREDENTIAL_NAME", "monitoring"},
                                       {"OS_APPLICATION_CREDENTIAL_SECRET", "x"},
                                       {"OS_USER_ID", "u1"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->uses_application_credential());
  EXPECT_EQ(c->interface, "public");
  EXPECT_FALSE(c->insecure);
  EXPECT_TRUE(validate_cloud(*c).ok());
}

TEST(CloudConfig, ReadsNamedCloudFromYaml) {
  ScratchDir dir;
  std::string path = dir.write("clouds.yaml", kCloudsYaml);
  auto c = load_cloud_from_file(path, "lab");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->auth_url, "https://keystone.lab:5000/v3");
  EXPECT_EQ(c->password, "s3cret-pw");
  EXPECT_EQ(c->region_name, "RegionTwo");
  EXPECT_EQ(c->interface, "internal");
  EXPECT_EQ(c->cacert, "/etc/ssl/lab-ca.pem");
  EXPECT_FALSE(c->insecure);
  auto a = load_cloud_from_file(path, "appcred");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->uses_application_credential());
  EXPECT_TRUE(a->insecure);
  EXPECT_EQ(a->application_credential_secret, "app-s3cret");
}

TEST(CloudConfig, SearchPathFollowsOpenstacksdk) {
  auto path = clouds_yaml_search_path(env_of({{"HOME", "/home/op"}}));
  ASSERT_EQ(path.size(), 3u);
  EXPECT_EQ(path[0], "clouds.yaml");
  EXPECT_EQ(path[1], "/home/op/.config/openstack/clouds.yaml");
  EXPECT_EQ(path[2], "/etc/openstack/clouds.yaml");
  auto with_file = clouds_yaml_search_path(env_of({{"OS_CLIENT_CONFIG_FILE", "/x.yaml"}}));
  EXPECT_EQ(with_file.front(), "/x.yaml");
}

TEST(CloudConfig, OsCloudFlagBeatsVariableAndFirstFileWins) {
  ScratchDir dir;
  std::string first = dir.write("a/clouds.yaml", kCloudsYaml);
  std::string second = dir.write("b/clouds.yaml", R"(clouds:
  other:
    auth: {auth_url: "https://other", username: u, password: p, user_domain_name: D}
  lab:
    auth: {auth_url: "https://second", username: u, password: p, user_domain_name: D}
)");
  std::vector<std::string> search = {dir.write("none/.keep", "") + ".missing", first, second};
  auto env = env_of({{"OS_CLOUD", "other"}, {"OS_INSECURE", "1"}});
  auto flag = resolve_cloud("lab", env, search);
  ASSERT_TRUE(flag.ok()) << flag.error().to_string();
  EXPECT_EQ(flag->auth_url, "https://keystone.lab:5000/v3");
  EXPECT_TRUE(flag->insecure);  // OS_INSECURE applies on top of the named cloud
  auto overridden = resolve_cloud(
      "lab", env_of({{"OS_REGION_NAME", "RegionNine"}, {"OS_PASSWORD", "env-pw"}}), search);
  ASSERT_TRUE(overridden.ok());
  EXPECT_EQ(overridden->region_name, "RegionNine");
  EXPECT_EQ(overridden->password, "env-pw");
  EXPECT_EQ(overridden->username, "admin");
  auto variable = resolve_cloud("", env, search);
  ASSERT_TRUE(variable.ok()) << variable.error().to_string();
  EXPECT_EQ(variable->auth_url, "https://other");
}

TEST(CloudConfig, SecureYamlCompletesCloudsYaml) {
  ScratchDir dir;
  std::string clouds = dir.write("etc/clouds.yaml", R"(clouds:
  lab:
    auth: {auth_url: "https://k", username: admin, user_domain_name: Default,
           project_name: admin, project_domain_name: Default}
    region_name: RegionOne
)");
  dir.write("etc/secure.yaml", R"(clouds:
  lab:
    auth: {password: from-secure}
)");
  auto c = resolve_cloud("lab", env_of({}), {clouds});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->password, "from-secure");
  EXPECT_EQ(c->username, "admin");
  EXPECT_EQ(c->region_name, "RegionOne");
  auto path = secure_yaml_search_path(env_of({{"OS_CLIENT_SECURE_FILE", "/s.yaml"}}),
                                      {"clouds.yaml", "/etc/openstack/clouds.yaml"});
  ASSERT_EQ(path.size(), 3u);
  EXPECT_EQ(path[0], "/s.yaml");
  EXPECT_EQ(path[1], "secure.yaml");
  EXPECT_EQ(path[2], "/etc/openstack/secure.yaml");
}

TEST(CloudConfig, UnknownCloudAndBadYamlNameNoSecret) {
  ScratchDir dir;
  std::string good = dir.write("clouds.yaml", kCloudsYaml);
  auto missing = resolve_cloud("nowhere", env_of({}), {good});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nowhere"), std::string::npos);
  EXPECT_EQ(missing.error().message.find("s3cret"), std::string::npos);
  std::string bad = dir.write("bad.yaml", "clouds:\n  lab:\n    auth: [s3cret-pw\n");
  auto broken = load_cloud_from_file(bad, "lab");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().kind, ErrorKind::kConfig);
  EXPECT_EQ(broken.error().message.find("s3cret"), std::string::npos);
}

TEST(CloudConfig, EnvironmentWithoutCloudIsValidated) {
  auto none = resolve_cloud("", env_of({}), {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("OS_AUTH_URL"), std::string::npos);
  auto no_domain = resolve_cloud(
      "", env_of({{"OS_AUTH_URL", "https://k"}, {"OS_USERNAME", "u"}, {"OS_PASSWORD", "pw"}}), {});
  ASSERT_FALSE(no_domain.ok());
  EXPECT_EQ(no_domain.error().message.find("pw"), std::string::npos);
}

}  // namespace
}  // namespace migprobe::control
