// Glance v2 image calls.
#include "control/glance_client.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>

#include "control/json_fields.h"
#include "control/nova_requests.h"

namespace migprobe::control {
namespace {

using nlohmann::json;

std::string text(const json& j, const char* key) {
  return json_text(j, key);
}

Image image_of(const json& j) {
  Image i;
  i.id = text(j, "id");
  i.name = text(j, "name");
  i.status = text(j, "status");
  i.disk_format = text(j, "disk_format");
  i.container_format = text(j, "container_format");
  i.visibility = text(j, "visibility");
  if (auto t = j.find("tags"); t != j.end() && t->is_array()) {
    for (const json& tag : *t) {
      if (tag.is_string()) i.tags.push_back(tag.get<std::string>());
    }
  }
  if (auto s = j.find("size"); s != j.end() && s->is_number_unsigned()) {
    i.size = s->get<uint64_t>();
  }
  i.checksum = text(j, "checksum");
  i.hash_algo = text(j, "os_hash_algo");
  i.hash_value = text(j, "os_hash_value");
  return i;
}

// "/v2/images/<id>" with the id escaped as a path segment.
std::string image_path(const std::string& id) {
  return "/v2/images/" + url_encode(id);
}

}  // namespace

std::string image_create_body(const ImageCreate& c) {
  json body = {{"name", c.name},
               {"disk_format", c.disk_format},
               {"container_format", c.container_format},
               {"visibility", c.visibility},
               {"tags", c.tags}};
  if (!c.id.empty()) body["id"] = c.id;
  return body.dump();
}

Result<Image> parse_image(const std::string& body) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("id")) {
    return make_error(ErrorKind::kParse, "image response has no \"id\"");
  }
  return image_of(doc);
}

Result<std::vector<Image>> parse_images(const std::string& body, std::string* next) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("images") ||
      !doc["images"].is_array()) {
    return make_error(ErrorKind::kParse, "image list response has no \"images\" list");
  }
  std::vector<Image> out;
  for (const json& j : doc["images"]) {
    if (j.is_object()) out.push_back(image_of(j));
  }
  if (next != nullptr) *next = text(doc, "next");
  return out;
}

GlanceClient::GlanceClient(Session& session, std::string service_type)
    : session_(session), service_type_(std::move(service_type)) {}

Result<Traced<Image>> GlanceClient::create(const ImageCreate& create) {
  ServiceCall call{service_type_, "POST", "/v2/images", image_create_body(create), {}, false};
  auto r = session_.call(call);
  if (!r.ok()) return r.error();
  return traced(parse_image(r->body), *r);
}

Result<Traced<Done>> GlanceClient::upload(const std::string& id, const std::string& path,
                                          const std::function<void(uint64_t, uint64_t)>& progress) {
  ServiceCall call{service_type_, "PUT", image_path(id) + "/file", "", {}, false};
  const HttpUpload file{path, progress};
  auto r = session_.call(call, &file);
  if (!r.ok()) return r.error();
  return Traced<Done>{Done{}, r->request_id};
}

Result<Traced<Image>> GlanceClient::show(const std::string& id) {
  ServiceCall call{service_type_, "GET", image_path(id), "", {}, true};
  auto r = session_.call(call);
  if (!r.ok()) return r.error();
  return traced(parse_image(r->body), *r);
}

Result<Traced<std::vector<Image>>> GlanceClient::find_by_name(const std::string& name) {
  std::vector<Image> all;
  std::string path = "/v2/images?name=" + url_encode(name);
  std::string request_id;
  // Glance pages with "next": "/v2/images?marker=...": relative to the endpoint.
  for (int page = 0; page < 1000 && !path.empty(); ++page) {
    ServiceCall call{service_type_, "GET", path, "", {}, true};
    auto r = session_.call(call);
    if (!r.ok()) return r.error();
    std::string next;
    auto images = parse_images(r->body, &next);
    if (!images.ok()) return traced(Result<std::vector<Image>>(images.error()), *r);
    for (auto& i : *images) all.push_back(std::move(i));
    request_id = r->request_id;
    path = next;
  }
  return Traced<std::vector<Image>>{std::move(all), request_id};
}

Result<Traced<Done>> GlanceClient::remove(const std::string& id) {
  ServiceCall call{service_type_, "DELETE", image_path(id), "", {}, true};
  auto r = session_.call(call);
  if (!r.ok()) return r.error();
  return Traced<Done>{Done{}, r->request_id};
}

}  // namespace migprobe::control
