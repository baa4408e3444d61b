// The Glance client against a real HTTP server on 127.0.0.1 that answers with the project's
// Glance fixtures: the create body (an id of the caller's choosing, private, tagged), the
// upload streamed from a file with its progress, show, a search by name over two pages,
// delete, and Glance's refusals with their message.
#include "control/glance_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "control/curl_transport.h"
#include "fixture_cloud.h"

namespace migprobe::control {
namespace {

using nlohmann::json;
using testing::fixture;
using testing::fixture_json;
using testing::ReceivedRequest;
using testing::Reply;

const std::string kImage = "5f3c2f9e-8e3b-4d0a-9a55-0d8f3c1b7a21";

class FakeGlance : public ::testing::Test {
 protected:
  Reply route(const ReceivedRequest& r) {
    const std::string path = r.path();
    if (path == "/identity/v3/auth/tokens") {
      return testing::keystone_token_reply(server.base_url(), "token-glance");
    }
    const Reply::Headers ids = {{"x-openstack-request-id", "req-" + r.method + path}};
    if (path == "/v2/images" && r.method == "POST") {
      return Reply{201, fixture("glance/image-create-response.json"), ids};
    }
    if (path == "/v2/images" && r.method == "GET") {
      if (r.query("marker").empty()) {
        json page = fixture_json("glance/images-list-response.json");
        page["next"] = "/v2/images?name=migprobe-c1-guest&marker=" + kImage;
        return Reply{200, page.dump(), ids};
      }
      return Reply{200, R"({"images": [], "schema": "/v2/schemas/images"})", ids};
    }
    if (path == "/v2/images/" + kImage + "/file") {
      if (r.headers.count("content-type") == 0 ||
          r.headers.at("content-type") != "application/octet-stream") {
        return Reply{415, "{}", ids};
      }
      return Reply{204, "", ids};
    }
    if (path == "/v2/images/" + kImage) {
      if (r.method == "DELETE") return Reply{204, "", ids};
      return Reply{200, fixture("glance/image-show-response.json"), ids};
    }
    if (path == "/v2/images/taken/file") {
      return Reply{
          409,
          R"({"error": {"code": 409, "message": "Image status transition from active to saving is not allowed"}})",
          ids};
    }
    return Reply{404, R"({"error": {"code": 404, "message": "No image found with ID x"}})", ids};
  }

  std::vector<ReceivedRequest> image_requests() const {
    std::vector<ReceivedRequest> out;
    for (const auto& r : server.requests()) {
      if (r.path().rfind("/v2/images", 0) == 0) out.push_back(r);
    }
    return out;
  }

  testing::TestHttpServer server{[this](const ReceivedRequest& r) { return route(r); }};
  CurlTransport transport;
  Session session{transport, testing::fixture_password_config(server.base_url()),
                  testing::test_session_options()};
  GlanceClient glance{session};
};

TEST_F(FakeGlance, CreateSendsTheFixturesBodyAndReadsTheQueuedImage) {
  const json want = fixture_json("glance/image-create-request.json");
  ImageCreate c;
  c.id = want["id"];
  c.name = want["name"];
  c.disk_format = want["disk_format"];
  c.container_format = want["container_format"];
  c.visibility = want["visibility"];
  c.tags = want["tags"].get<std::vector<std::string>>();
  auto created = glance.create(c);
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_EQ(created->value.id, kImage);
  EXPECT_EQ(created->value.status, "queued");
  EXPECT_EQ(created->value.size, 0U);
  EXPECT_EQ(created->request_id, "req-POST/v2/images");
  const auto sent = image_requests();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(json::parse(sent[0].body), want);
  EXPECT_EQ(sent[0].headers.at("content-type"), "application/json");
}

TEST_F(FakeGlance, UploadStreamsTheFileWithProgress) {
  const std::string path = ::testing::TempDir() + "/glance-upload-" + std::to_string(getpid());
  std::string data;
  for (int i = 0; i < 3 * 1024 * 1024; ++i) data += static_cast<char>(i * 7);
  std::ofstream(path, std::ios::binary) << data;
  uint64_t last_sent = 0;
  uint64_t last_total = 0;
  auto up = glance.upload(kImage, path, [&](uint64_t sent, uint64_t total) {
    last_sent = sent;
    last_total = total;
  });
  std::remove(path.c_str());
  ASSERT_TRUE(up.ok()) << up.error().to_string();
  const auto sent = image_requests();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].method, "PUT");
  EXPECT_EQ(sent[0].body.size(), data.size());
  EXPECT_TRUE(sent[0].body == data);
  EXPECT_EQ(last_total, data.size());
  EXPECT_EQ(last_sent, data.size());
  // A file that is not there: a clear error, nothing sent.
  auto missing = glance.upload(kImage, "/nonexistent/image.qcow2");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kIo);
  EXPECT_NE(missing.error().message.find("/nonexistent/image.qcow2"), std::string::npos);
  EXPECT_EQ(image_requests().size(), 1U);
}

TEST_F(FakeGlance, ShowFindAndDelete) {
  auto shown = glance.show(kImage);
  ASSERT_TRUE(shown.ok()) << shown.error().to_string();
  EXPECT_EQ(shown->value.status, "active");
  EXPECT_EQ(shown->value.size, 3145728U);
  EXPECT_EQ(shown->value.checksum, "a6bd1c7a3b1b2d5e0f4c8e2b9d7a6c51");
  EXPECT_EQ(shown->value.hash_algo, "sha512");
  ASSERT_EQ(shown->value.tags.size(), 2U);
  EXPECT_EQ(shown->value.tags[1], "migprobe-campaign:c1");
  auto found = glance.find_by_name("migprobe-c1-guest");
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  ASSERT_EQ(found->value.size(), 1U);
  EXPECT_EQ(found->value[0].id, kImage);
  // Both pages were read.
  int lists = 0;
  for (const auto& r : image_requests()) lists += r.method == "GET" && r.path() == "/v2/images";
  EXPECT_EQ(lists, 2);
  EXPECT_TRUE(glance.remove(kImage).ok());
  auto gone = glance.show("unknown");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().http_status, 404);
  EXPECT_NE(gone.error().message.find("No image found"), std::string::npos) << gone.error().message;
  auto taken = glance.upload("taken", "/dev/null");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().http_status, 409);
  EXPECT_NE(taken.error().message.find("transition"), std::string::npos) << taken.error().message;
}

TEST(GlanceParse, AnAnswerWithoutAnIdIsAParseError) {
  EXPECT_FALSE(parse_image("{}").ok());
  EXPECT_FALSE(parse_image("not json").ok());
  std::string next;
  EXPECT_FALSE(parse_images(R"({"images": 3})", &next).ok());
  auto none = parse_images(R"({"images": []})", &next);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(next, "");
}

}  // namespace
}  // namespace migprobe::control
