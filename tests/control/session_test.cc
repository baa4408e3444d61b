// The Keystone session over real HTTP: token use and refresh, 401 handling, retries only
// for calls that are safe to repeat, and no credential in any returned text.
#include "control/session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "control/curl_transport.h"
#include "fixture_cloud.h"

namespace migprobe::control {
namespace {

using testing::ReceivedRequest;
using testing::Reply;
using testing::TestHttpServer;

constexpr const char* kAuthPath = "/identity/v3/auth/tokens";
const std::string kComputeBase = std::string("/v2.1/") + testing::kTestProjectId;

// A cloud whose Keystone issues token-1, token-2, ... and whose compute answers with
// compute(request) once the token checks out.
class SessionTest : public ::testing::Test {
 protected:
  std::function<Reply(const ReceivedRequest&)> compute;
  std::atomic<int> tokens_issued{0};
  TestHttpServer server{[this](const ReceivedRequest& r) {
    if (r.path() == kAuthPath) {
      return testing::keystone_token_reply(server.base_url(),
                                           "token-" + std::to_string(++tokens_issued));
    }
    return compute(r);
  }};
  CurlTransport transport;
};

TEST_F(SessionTest, SendsTokenToCatalogEndpoint) {
  compute = [](const ReceivedRequest&) {
    return Reply{200, "{}", {{"x-openstack-request-id", "req-1"}}};
  };
  Session session(transport, testing::fixture_password_config(server.base_url()),
                  testing::test_session_options());
  auto r = session.call({"compute", "GET", "/servers/detail", "", {}, true});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->request_id, "req-1");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(nlohmann::json::parse(requests[0].body),
            testing::fixture_json("keystone/password-project-name-request.json"));
  EXPECT_EQ(requests[1].target, kComputeBase + "/servers/detail");
  EXPECT_EQ(requests[1].headers["x-auth-token"], "token-1");
  EXPECT_EQ(session.project_id(), testing::kTestProjectId);
}

TEST_F(SessionTest, ReusesTokenThenRefreshesBeforeExpiry) {
  compute = [](const ReceivedRequest&) { return Reply{200, "{}"}; };
  auto now = testing::fixture_issued_at();
  SessionOptions options = testing::test_session_options();
  options.now = [&now] { return now; };
  Session session(transport, testing::fixture_password_config(server.base_url()), options);
  ASSERT_TRUE(session.call({"compute", "GET", "/a", "", {}, true}).ok());
  ASSERT_TRUE(session.call({"compute", "GET", "/b", "", {}, true}).ok());
  EXPECT_EQ(session.auth_count(), 1);
  // The fixture token expires one hour after issue; 59 minutes later is inside the margin.
  now += std::chrono::minutes(59);
  ASSERT_TRUE(session.call({"compute", "GET", "/c", "", {}, true}).ok());
  // (The new fixture token expires at the same instant, so it is renewed as well.)
  EXPECT_GE(session.auth_count(), 2);
  EXPECT_NE(server.requests().back().headers["x-auth-token"], "token-1");
}

// "2025-03-14T09:26:53.589793Z" for t.
std::string iso8601(std::chrono::system_clock::time_point t) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(us % 1'000'000));
  return buf;
}

// A cloud whose Keystone issues tokens that live lifetime from the test's clock (now), and
// whose services answer 200; how often the session authenticates against it.
class RollingTokens {
 public:
  explicit RollingTokens(std::chrono::seconds lifetime) : lifetime_(lifetime) {}

  Session session(CurlTransport& transport) {
    SessionOptions options = testing::test_session_options();
    options.now = [this] { return now(); };
    return Session(transport, testing::fixture_password_config(server_.base_url()), options);
  }
  std::chrono::system_clock::time_point now() {
    std::lock_guard<std::mutex> lock(mutex_);
    return now_;
  }
  void advance(std::chrono::seconds d) {
    std::lock_guard<std::mutex> lock(mutex_);
    now_ += d;
  }

 private:
  Reply answer(const ReceivedRequest& r) {
    if (r.path() != kAuthPath) return Reply{200, "{}"};
    const auto t = now();
    nlohmann::json body = nlohmann::json::parse(testing::fixture_token_body(server_.base_url()));
    body["token"]["issued_at"] = iso8601(t);
    body["token"]["expires_at"] = iso8601(t + lifetime_);
    Reply reply = testing::keystone_token_reply(server_.base_url(), "token");
    reply.body = body.dump();
    return reply;
  }

  const std::chrono::seconds lifetime_;
  std::mutex mutex_;
  std::chrono::system_clock::time_point now_ = testing::fixture_issued_at();
  TestHttpServer server_{[this](const ReceivedRequest& r) { return answer(r); }};
};

TEST(SessionTokens, ShortLivedTokensAreRenewedAQuarterOfTheirLifeBeforeExpiry) {
  // Tokens that live 60 s (a real Keystone showed it: with a fixed 120 s margin the session
  // authenticated before every call, 2,176 times in 15 minutes).
  RollingTokens cloud(std::chrono::seconds(60));
  CurlTransport transport;
  Session session = cloud.session(transport);
  // A call a second for two minutes.
  for (int i = 0; i < 120; ++i) {
    ASSERT_TRUE(session.call({"compute", "GET", "/a", "", {}, true}).ok());
    cloud.advance(std::chrono::seconds(1));
  }
  // Renewed 15 s before each expiry: at 0, 45 and 90 s.
  EXPECT_EQ(session.auth_count(), 3);
}

TEST(SessionTokens, LongLivedTokensAreRenewedTheMarginBeforeExpiry) {
  // An hour's token: renewed 120 s before it ends, not a quarter of an hour.
  RollingTokens cloud(std::chrono::seconds(3600));
  CurlTransport transport;
  Session session = cloud.session(transport);
  ASSERT_TRUE(session.call({"compute", "GET", "/a", "", {}, true}).ok());
  cloud.advance(std::chrono::minutes(57));
  ASSERT_TRUE(session.call({"compute", "GET", "/b", "", {}, true}).ok());
  EXPECT_EQ(session.auth_count(), 1);
  cloud.advance(std::chrono::seconds(61));  // 119 s before it expires
  ASSERT_TRUE(session.call({"compute", "GET", "/c", "", {}, true}).ok());
  EXPECT_EQ(session.auth_count(), 2);
}

TEST_F(SessionTest, ReauthenticatesOnceAfter401) {
  std::atomic<int> calls{0};
  compute = [&](const ReceivedRequest& r) {
    ++calls;
    if (r.headers.at("x-auth-token") == "token-1") {
      return Reply{401, R"({"error": {"code": 401, "message": "The request you have made )"
                        R"(requires authentication.", "title": "Unauthorized"}})"};
    }
    return Reply{200, "{}"};
  };
  Session session(transport, testing::fixture_password_config(server.base_url()),
                  testing::test_session_options());
  // A POST is sent again after a 401 too: the first one was refused, not carried out.
  auto r = session.call({"compute", "POST", "/servers/x/action", "{}", {}, false});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(session.auth_count(), 2);
}

TEST_F(SessionTest, PersistentUnauthorizedIsReportedAfterOneRetry) {
  std::atomic<int> calls{0};
  compute = [&](const ReceivedRequest&) {
    ++calls;
    return Reply{401, R"({"error": {"code": 401, "message": "nope", "title": "Unauthorized"}})"};
  };
  Session session(transport, testing::fixture_password_config(server.base_url()),
                  testing::test_session_options());
  auto r = session.call({"compute", "GET", "/servers", "", {}, true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().http_status, 401);
  EXPECT_EQ(calls, 2);
}

TEST_F(SessionTest, RetriesGetAfter500) {
  std::atomic<int> calls{0};
  compute = [&](const ReceivedRequest&) {
    if (++calls == 1) return Reply{500, R"({"computeFault": {"code": 500, "message": "boom"}})"};
    return Reply{200, R"({"ok": true})"};
  };
  Session session(transport, testing::fixture_password_config(server.base_url()),
                  testing::test_session_options());
  auto r = session.call({"compute", "GET", "/servers/detail", "", {}, true});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(calls, 2);
}

TEST_F(SessionTest, DoesNotRetryPostAfter500) {
  std::atomic<int> calls{0};
  compute = [&](const ReceivedRequest&) {
    ++calls;
    return Reply{500,
                 R"({"computeFault": {"code": 500, "message": "Unexpected API Error."}})",
                 {{"x-openstack-request-id", "req-500"}}};
  };
  Session session(transport, testing::fixture_password_config(server.base_url()),
                  testing::test_session_options());
  auto r = session.call({"compute", "POST", "/servers/x/action", "{}", {}, false});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.error().kind, ErrorKind::kHttp);
  EXPECT_EQ(r.error().http_status, 500);
  EXPECT_EQ(r.error().request_id, "req-500");
  EXPECT_NE(r.error().message.find("Unexpected API Error."), std::string::npos);
}

TEST_F(SessionTest, GivesUpAfterMaxAttempts) {
  std::atomic<int> calls{0};
  compute = [&](const ReceivedRequest&) {
    ++calls;
    return Reply{503, "Service Unavailable"};
  };
  SessionOptions options = testing::test_session_options();
  std::vector<std::chrono::milliseconds> waits;
  options.sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); };
  options.retry.max_attempts = 3;
  options.retry.initial_delay = std::chrono::milliseconds(100);
  Session session(transport, testing::fixture_password_config(server.base_url()), options);
  auto r = session.call({"compute", "GET", "/servers", "", {}, true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_EQ(waits[0].count(), 100);
  EXPECT_EQ(waits[1].count(), 200);
}

TEST_F(SessionTest, RetriesConnectionErrorsForGetOnly) {
  // A port that was just free: nothing listens there.
  std::string dead_url;
  {
    TestHttpServer gone([](const ReceivedRequest&) { return Reply{}; });
    dead_url = gone.base_url();
  }
  SessionOptions options = testing::test_session_options();
  int sleeps = 0;
  options.sleep = [&](std::chrono::milliseconds) { ++sleeps; };
  Session session(transport, testing::fixture_password_config(server.base_url()), options);
  auto get = session.call({"compute", "GET", dead_url + "/servers", "", {}, true});
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().kind, ErrorKind::kTransport);
  EXPECT_EQ(sleeps, options.retry.max_attempts - 1);
  sleeps = 0;
  auto post = session.call({"compute", "POST", dead_url + "/servers/x/action", "{}", {}, false});
  ASSERT_FALSE(post.ok());
  EXPECT_EQ(post.error().kind, ErrorKind::kTransport);
  EXPECT_EQ(sleeps, 0);
}

TEST(SessionConnection, KeystoneUnreachableIsTransportError) {
  std::string dead_url;
  {
    TestHttpServer gone([](const ReceivedRequest&) { return Reply{}; });
    dead_url = gone.base_url();
  }
  CurlTransport transport;
  Session session(transport, testing::fixture_password_config(dead_url),
                  testing::test_session_options());
  Status s = session.authenticate();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kTransport);
  EXPECT_EQ(s.error().to_string().find(testing::kTestPassword), std::string::npos);
}

TEST(SessionSecrets, FailedAuthNeverReturnsPasswordOrSecret) {
  // A hostile Keystone that echoes the request body in its error message.
  TestHttpServer server([](const ReceivedRequest& r) {
    nlohmann::json error = {{"error", {{"code", 401}, {"message", "bad: " + r.body}}}};
    return Reply{401, error.dump(), {{"x-openstack-request-id", "req-" + r.body.substr(0, 80)}}};
  });
  CurlTransport transport;
  CloudConfig password = testing::fixture_password_config(server.base_url());
  CloudConfig appcred;
  appcred.auth_url = server.base_url();
  appcred.application_credential_id = "9362ce3d64d4b60cf792ad830d9c1b1b";
  appcred.application_credential_secret = testing::kTestSecret;
  for (const CloudConfig& config : {password, appcred}) {
    Session session(transport, config, testing::test_session_options());
    Status s = session.authenticate();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().http_status, 401);
    for (const std::string& text :
         {s.error().to_string(), s.error().message, s.error().request_id}) {
      EXPECT_EQ(text.find(testing::kTestPassword), std::string::npos) << text;
      EXPECT_EQ(text.find(testing::kTestSecret), std::string::npos) << text;
    }
    auto call = session.call({"compute", "GET", "/servers", "", {}, true});
    ASSERT_FALSE(call.ok());
    EXPECT_EQ(call.error().to_string().find(testing::kTestPassword), std::string::npos);
    EXPECT_EQ(call.error().to_string().find(testing::kTestSecret), std::string::npos);
  }
}

TEST(SessionSecrets, IncompleteConfigErrorsNameNoSecret) {
  CurlTransport transport;
  CloudConfig c;
  c.auth_url = "http://127.0.0.1:9";
  c.password = testing::kTestPassword;
  Session session(transport, c, testing::test_session_options());
  Status s = session.authenticate();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kConfig);
  EXPECT_EQ(s.error().to_string().find(testing::kTestPassword), std::string::npos);
}

}  // namespace
}  // namespace migprobe::control
