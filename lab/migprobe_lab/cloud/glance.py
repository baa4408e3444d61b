"""The smallest Glance v2 the OpenStack client needs to list servers: the lab's one
guest image (the kernel + busybox initramfs), listed and shown."""

from .rest import ApiError
from .keystone import PROJECT_ID
from .nova_views import IMAGE_ID


def _image():
    return {"status": "active", "name": "migprobe-lab-guest", "tags": [],
            "container_format": "bare", "created_at": "2026-01-01T00:00:00Z",
            "disk_format": "raw", "updated_at": "2026-01-01T00:00:00Z", "visibility": "public",
            "self": f"/v2/images/{IMAGE_ID}", "min_disk": 0, "protected": False, "id": IMAGE_ID,
            "file": f"/v2/images/{IMAGE_ID}/file", "checksum": None, "os_hash_algo": None,
            "os_hash_value": None, "os_hidden": False, "owner": PROJECT_ID, "size": None,
            "min_ram": 0, "schema": "/v2/schemas/image", "virtual_size": None}


def register(router, ident):
    def before(req, route):
        if route.auth and ident.lookup(req.headers.get("X-Auth-Token")) is None:
            raise ApiError(401, "The request you have made requires authentication.",
                           {"WWW-Authenticate": f'Keystone uri="{req.base_url}/identity"'},
                           shape="keystone")

    router.before["glance"] = before

    @router.add("GET", r"/image", "glance", auth=False)
    def versions(req):
        return 300, {"versions": [{"id": "v2.16", "status": "CURRENT", "links": [
            {"rel": "self", "href": f"{req.base_url}/image/v2/"}]}]}

    @router.add("GET", r"/image/v2/images", "glance")
    def images(req):
        return 200, {"images": [_image()], "schema": "/v2/schemas/images", "first": "/v2/images"}

    @router.add("GET", r"/image/v2/images/(?P<iid>[^/]+)", "glance")
    def image(req, iid):
        if iid != IMAGE_ID:
            raise ApiError(404, f"No image found with ID {iid}")
        return 200, _image()
