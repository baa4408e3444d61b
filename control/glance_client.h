#pragma once
// Glance v2 image calls a bootstrap makes: create an image record (with an id of our
// choosing, so that a crash between the call and the journal cannot orphan it), upload its
// data from a file (streamed, with progress), show it, find images by name, delete it.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "control/result.h"
#include "control/session.h"
#include "control/traced.h"

namespace migprobe::control {

// An image as Glance shows it.
struct Image {
  std::string id;
  std::string name;
  // queued, saving, active, killed, deleted, pending_delete, deactivated, uploading,
  // importing.
  std::string status;
  std::string disk_format;
  std::string container_format;
  std::string visibility;
  std::vector<std::string> tags;
  // 0 until data was uploaded.
  uint64_t size = 0;
  // MD5 of the data (Glance's "checksum"), and the multihash (os_hash_algo, os_hash_value).
  std::string checksum;
  std::string hash_algo;
  std::string hash_value;
};

// POST /v2/images.
struct ImageCreate {
  // Chosen by the caller ("" lets Glance choose).
  std::string id;
  std::string name;
  std::string disk_format = "qcow2";
  std::string container_format = "bare";
  std::string visibility = "private";
  std::vector<std::string> tags;
};

// The body of POST /v2/images for create.
std::string image_create_body(const ImageCreate& create);
// One image document; every page of a list.
Result<Image> parse_image(const std::string& body);
// The images of a list page and the path of the next page ("" on the last).
Result<std::vector<Image>> parse_images(const std::string& body, std::string* next);

class GlanceClient {
 public:
  // session must outlive the client. service_type: the catalog's ("image").
  explicit GlanceClient(Session& session, std::string service_type = "image");

  Result<Traced<Image>> create(const ImageCreate& create);
  // PUT /v2/images/{id}/file with path's bytes, streamed; progress(sent, total) as it goes.
  // Not retried (Glance sets a failed upload's image back to queued: the caller may try
  // again).
  Result<Traced<Done>> upload(const std::string& id, const std::string& path,
                              const std::function<void(uint64_t, uint64_t)>& progress = {});
  Result<Traced<Image>> show(const std::string& id);
  // Every image named name, every page.
  Result<Traced<std::vector<Image>>> find_by_name(const std::string& name);
  // DELETE /v2/images/{id}.
  Result<Traced<Done>> remove(const std::string& id);

 private:
  Session& session_;
  const std::string service_type_;
};

}  // namespace migprobe::control
