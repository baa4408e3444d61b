"""The lab cloud's Glance: an image created, uploaded (streamed; size, md5 checksum and
sha512 multihash as Glance computes them, also with a chunked body), listed by name and tag,
shown and deleted, in the shapes of the project's fixtures (tests/fixtures/openstack/glance);
the refusals a bootstrap can meet (read-only attribute, bad format, a second upload, wrong
content type, an unknown image)."""

import hashlib
import unittest

from cloudtest import CloudTestCase, fixture


class GlanceTest(CloudTestCase):
    guests = 1

    def test_create_upload_show_list_delete(self):
        req = fixture("glance/image-create-request.json")
        r = self.call("POST", "/image/v2/images", req)
        self.assertEqual(r.status, 201, r.body)
        self.assertHasFields(r.body, fixture("glance/image-create-response.json"), "create")
        self.assertEqual(r.body["status"], "queued")
        self.assertEqual(r.body["tags"], req["tags"])
        iid = r.body["id"]
        self.assertTrue(r.headers["Location"].endswith(f"/image/v2/images/{iid}"))
        data = bytes(range(256)) * 12288  # 3 MiB
        status, body = self.upload(iid, data)
        self.assertEqual(status, 204, body)
        img = self.call("GET", f"/image/v2/images/{iid}").body
        self.assertHasFields(img, fixture("glance/image-show-response.json"), "show")
        self.assertEqual(img["status"], "active")
        self.assertEqual(img["size"], len(data))
        self.assertEqual(img["checksum"], hashlib.md5(data).hexdigest())
        self.assertEqual(img["os_hash_value"], hashlib.sha512(data).hexdigest())
        # A second upload of an active image is refused.
        status, _ = self.upload(iid, b"again")
        self.assertEqual(status, 409)
        listed = self.call("GET", "/image/v2/images?name=migprobe-c1-guest").body
        self.assertHasFields(listed, fixture("glance/images-list-response.json"), "list")
        self.assertEqual([i["id"] for i in listed["images"]], [iid])
        tagged = self.call("GET", "/image/v2/images?tag=migprobe-campaign:c1").body["images"]
        self.assertEqual([i["id"] for i in tagged], [iid])
        self.assertEqual(self.call("GET", "/image/v2/images?tag=other").body["images"], [])
        self.assertEqual(self.call("DELETE", f"/image/v2/images/{iid}").status, 204)
        self.assertEqual(self.call("GET", f"/image/v2/images/{iid}").status, 404)
        self.assertEqual(self.call("DELETE", f"/image/v2/images/{iid}").status, 404)
        # The lab's own guest image stays.
        names = [i["name"] for i in self.call("GET", "/image/v2/images").body["images"]]
        self.assertIn("migprobe-lab-guest", names)

    def test_chunked_upload(self):
        r = self.call("POST", "/image/v2/images",
                      {"name": "chunked", "disk_format": "raw", "container_format": "bare"})
        data = b"x" * 200_000 + b"y" * 3
        status, body = self.upload(r.body["id"], data, chunked=True)
        self.assertEqual(status, 204, body)
        img = self.call("GET", f"/image/v2/images/{r.body['id']}").body
        self.assertEqual(img["size"], len(data))
        self.assertEqual(img["checksum"], hashlib.md5(data).hexdigest())

    def test_refusals(self):
        r = self.call("POST", "/image/v2/images", {"name": "x", "status": "active"})
        self.assertEqual(r.status, 403, r.body)
        self.assertIn("read-only", r.body["error"]["message"])
        r = self.call("POST", "/image/v2/images", {"name": "x", "disk_format": "floppy"})
        self.assertEqual(r.status, 400, r.body)
        r = self.call("POST", "/image/v2/images", {"name": "no-format"})
        self.assertEqual(r.status, 201, r.body)
        # Formats must be set before data.
        status, body = self.upload(r.body["id"], b"data")
        self.assertEqual(status, 400, body)
        r = self.call("POST", "/image/v2/images",
                      {"name": "y", "disk_format": "raw", "container_format": "bare"})
        status, _ = self.upload(r.body["id"], b"data", content_type="application/json")
        self.assertEqual(status, 415)
        status, _ = self.upload("00000000-0000-0000-0000-000000000000", b"data")
        self.assertEqual(status, 404)
        self.assertEqual(self.call("GET", "/image/v2/images", token="bad").status, 401)


if __name__ == "__main__":
    unittest.main()
