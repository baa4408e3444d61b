// The libcurl transport against the real test server: headers both ways, the request id,
// timeouts, connection errors, and TLS settings.
#include "control/curl_transport.h"

#include <gtest/gtest.h>

#include <thread>

#include "http_test_server.h"

namespace migprobe::control {
namespace {

using testing::ReceivedRequest;
using testing::Reply;
using testing::TestHttpServer;

TEST(CurlTransport, SendsMethodHeadersBodyAndCapturesRequestId) {
  TestHttpServer server([](const ReceivedRequest& r) {
    return Reply{r.method == "PUT" ? 202 : 200,
                 "{\"echo\": " + r.body + "}",
                 {{"X-OpenStack-Request-ID", "req-abc"}, {"X-Other", " spaced "}}};
  });
  CurlTransport transport;
  auto r = transport.send({.method = "PUT",
                           .url = server.base_url() + "/x?y=1",
                           .headers = {{"X-Custom", "v"}},
                           .body = "[1]"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "{\"echo\": [1]}");
  EXPECT_EQ(r->request_id, "req-abc");
  EXPECT_EQ(r->header("x-other"), "spaced");
  auto got = server.requests().at(0);
  EXPECT_EQ(got.method, "PUT");
  EXPECT_EQ(got.target, "/x?y=1");
  EXPECT_EQ(got.headers["x-custom"], "v");
  EXPECT_EQ(got.headers.count("expect"), 0u);
  EXPECT_EQ(got.body, "[1]");
}

TEST(CurlTransport, ErrorStatusesAreResponsesNotErrors) {
  TestHttpServer server([](const ReceivedRequest&) { return Reply{503, "down"}; });
  CurlTransport transport;
  auto r =
      transport.send({.method = "GET", .url = server.base_url() + "/", .headers = {}, .body = ""});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->request_id, "");
}

TEST(CurlTransport, TimesOut) {
  TestHttpServer server([](const ReceivedRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    return Reply{200, "{}"};
  });
  TransportOptions options;
  options.total_timeout = std::chrono::milliseconds(100);
  CurlTransport transport(options);
  auto r = transport.send(
      {.method = "GET", .url = server.base_url() + "/slow", .headers = {}, .body = ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTransport);
}

TEST(CurlTransport, ConnectionRefusedIsTransportError) {
  std::string url;
  {
    TestHttpServer gone([](const ReceivedRequest&) { return Reply{}; });
    url = gone.base_url();
  }
  CurlTransport transport;
  auto r = transport.send({.method = "POST",
                           .url = url + "/",
                           .headers = {},
                           .body = "{\"password\": \"lab-probe-pw-7c1f\"}"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTransport);
  EXPECT_EQ(r.error().message.find("lab-probe-pw-7c1f"), std::string::npos);
  EXPECT_EQ(r.error().message.rfind("POST " + url + "/: ", 0), 0u) << r.error().message;
}

TEST(CurlTransport, VerifiesTlsUnlessTheCloudSaysInsecure) {
  EXPECT_TRUE(TransportOptions{}.verify_tls);
  CloudConfig cloud;
  EXPECT_TRUE(transport_options_for(cloud).verify_tls);
  cloud.cacert = "/etc/ssl/lab-ca.pem";
  EXPECT_EQ(transport_options_for(cloud).ca_bundle, "/etc/ssl/lab-ca.pem");
  cloud.insecure = true;
  EXPECT_FALSE(transport_options_for(cloud).verify_tls);
}

TEST(CurlTransport, MissingCaBundleFailsHttps) {
  TransportOptions options;
  options.ca_bundle = "/nonexistent/migprobe-ca.pem";
  options.connect_timeout = std::chrono::milliseconds(500);
  TestHttpServer server([](const ReceivedRequest&) { return Reply{200, "{}"}; });
  CurlTransport transport(options);
  // Whatever the server speaks, an https call with an unreadable CA bundle must fail.
  std::string https = "https" + server.base_url().substr(4);
  auto r = transport.send({.method = "GET", .url = https + "/", .headers = {}, .body = ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTransport);
}

}  // namespace
}  // namespace migprobe::control
