"""Glance v2 subset: version discovery; images listed (filters name, status, visibility,
tag; paging with limit and marker), shown, created, uploaded (PUT .../file, streamed: size,
md5 checksum and sha512 multihash computed as Glance does, the bytes kept under the state
dir), deleted. The lab's own guest image is always there. A QEMU server boots the lab's
kernel with its image's bytes as the initramfs (nova_servers.py)."""

import hashlib
import os
import threading
import time
import uuid

from .. import state
from .rest import ApiError
from .keystone import PROJECT_ID
from .nova_views import IMAGE_ID

_FORMATS_DISK = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                 "ploop")
_FORMATS_CONTAINER = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
# Properties a create request may not set (Glance answers 403 for them).
_READ_ONLY = ("created_at", "updated_at", "status", "checksum", "os_hash_algo", "os_hash_value",
              "size", "virtual_size", "direct_url", "self", "file", "schema", "owner",
              "locations")
_CHUNK = 1 << 20


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _image_doc(iid, name, status="active", visibility="public", owner=PROJECT_ID, tags=(),
               disk_format="raw", container_format="bare", created=None, extra=None):
    created = created or _now()
    doc = {"status": status, "name": name, "tags": list(tags),
           "container_format": container_format, "created_at": created,
           "disk_format": disk_format, "updated_at": created, "visibility": visibility,
           "self": f"/v2/images/{iid}", "min_disk": 0, "protected": False, "id": iid,
           "file": f"/v2/images/{iid}/file", "checksum": None, "os_hash_algo": None,
           "os_hash_value": None, "os_hidden": False, "owner": owner, "size": None,
           "min_ram": 0, "schema": "/v2/schemas/image", "virtual_size": None}
    doc.update(extra or {})
    return doc


class Images:
    """The image store (in memory, for the life of the lab cloud)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.images = {IMAGE_ID: _image_doc(IMAGE_ID, "migprobe-lab-guest",
                                            created="2026-01-01T00:00:00Z")}

    def get(self, iid):
        with self.lock:
            img = self.images.get(iid)
            if img is None:
                raise ApiError(404, f"No image found with ID {iid}")
            return dict(img)

    def listed(self, req):
        with self.lock:
            out = sorted(self.images.values(), key=lambda i: (i["created_at"], i["id"]),
                         reverse=True)
        for key in ("name", "status", "visibility", "disk_format", "container_format", "owner"):
            v = req.q(key)
            if v is not None:
                out = [i for i in out if str(i.get(key)) == v]
        tags = req.query.get("tag") or []
        out = [i for i in out if all(t in i["tags"] for t in tags)]
        marker = req.q("marker")
        if marker:
            ids = [i["id"] for i in out]
            if marker not in ids:
                raise ApiError(400, f"Invalid marker. Image {marker} could not be found.")
            out = out[ids.index(marker) + 1:]
        limit = req.q("limit")
        page = {"images": out, "schema": "/v2/schemas/images", "first": "/v2/images"}
        if limit is not None:
            try:
                n = int(limit)
                if n < 0:
                    raise ValueError
            except ValueError:
                raise ApiError(400, "limit param must be positive")
            if len(out) > n:
                page["next"] = f"/v2/images?marker={out[n - 1]['id']}&limit={n}" if n else None
                page["images"] = out[:n]
        return page

    def create(self, body):
        if not isinstance(body, dict):
            raise ApiError(400, "Body expected in request.")
        for key in _READ_ONLY:
            if key in body:
                raise ApiError(403, f"Attribute '{key}' is read-only.")
        disk = body.get("disk_format")
        if disk is not None and disk not in _FORMATS_DISK:
            raise ApiError(400, f"Invalid value '{disk}' for disk_format.")
        container = body.get("container_format")
        if container is not None and container not in _FORMATS_CONTAINER:
            raise ApiError(400, f"Invalid value '{container}' for container_format.")
        visibility = body.get("visibility", "shared")
        if visibility not in ("public", "private", "shared", "community"):
            raise ApiError(400, f"Invalid visibility value: {visibility}")
        tags = body.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ApiError(400, "Invalid tags: expected a list of strings")
        iid = body.get("id") or str(uuid.uuid4())
        known = {"name", "disk_format", "container_format", "visibility", "tags", "id",
                 "min_disk", "min_ram", "protected", "os_hidden"}
        extra = {k: v for k, v in body.items() if k not in known}
        for k, v in extra.items():
            if not isinstance(v, str):
                raise ApiError(400, f"Additional property '{k}' must be a string")
        doc = _image_doc(iid, body.get("name"), status="queued", visibility=visibility,
                         tags=tags, disk_format=disk, container_format=container, extra=extra)
        for k in ("min_disk", "min_ram", "protected", "os_hidden"):
            if k in body:
                doc[k] = body[k]
        with self.lock:
            if iid in self.images:
                raise ApiError(409, f"Image with identifier {iid} already exists!")
            self.images[iid] = doc
        # Glance's create answer lists the (still empty) locations.
        return dict(doc, locations=[])

    def upload(self, iid, req):
        with self.lock:
            img = self.images.get(iid)
            if img is None:
                raise ApiError(404, f"No image found with ID {iid}")
            if img["status"] != "queued":
                raise ApiError(409, f"Image status transition from {img['status']} to saving is "
                                    "not allowed")
            if img["disk_format"] is None or img["container_format"] is None:
                raise ApiError(400, "Properties disk_format, container_format must be set prior "
                                    "to saving data.")
            img["status"] = "saving"
        md5, sha512, size = hashlib.md5(), hashlib.sha512(), 0
        data = self._data_file(iid)
        try:
            with open(data + ".part", "wb") as out:
                for chunk in req.stream_body(_CHUNK):
                    md5.update(chunk)
                    sha512.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            os.replace(data + ".part", data)
        except (OSError, ValueError) as e:
            with self.lock:
                img["status"] = "queued"
            _unlink(data + ".part")
            raise ApiError(400, f"Error in store: the upload was cut short ({e})")
        with self.lock:
            if iid not in self.images:  # deleted while it uploaded
                _unlink(data)
                raise ApiError(410, "Image deleted during upload")
            img.update(status="active", size=size, checksum=md5.hexdigest(),
                       os_hash_algo="sha512", os_hash_value=sha512.hexdigest(),
                       updated_at=_now())

    def delete(self, iid):
        with self.lock:
            img = self.images.get(iid)
            if img is None:
                raise ApiError(404, f"No image found with ID {iid}")
            if img.get("protected"):
                raise ApiError(403, f"Image {iid} is protected and cannot be deleted.")
            del self.images[iid]
        _unlink(self._data_file(iid))

    @staticmethod
    def _data_file(iid):
        d = state.path("images")
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, iid)

    def data_path(self, iid):
        """The file holding an active image's data, or None."""
        with self.lock:
            img = self.images.get(iid)
        if img is None or img["status"] != "active":
            return None
        if iid == IMAGE_ID:  # the lab's own guest image, listed from the start
            lab = state.load() or {}
            return (lab.get("image") or {}).get("initrd")
        path = self._data_file(iid)
        return path if os.path.exists(path) else None


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def register(router, ident, images):
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
    def images_list(req):
        return 200, images.listed(req)

    @router.add("POST", r"/image/v2/images", "glance")
    def image_create(req):
        doc = images.create(req.body)
        return 201, doc, {"Location": f"{req.base_url}/image/v2/images/{doc['id']}"}

    @router.add("GET", r"/image/v2/images/(?P<iid>[^/]+)", "glance")
    def image_get(req, iid):
        return 200, images.get(iid)

    @router.add("PUT", r"/image/v2/images/(?P<iid>[^/]+)/file", "glance", raw=True)
    def image_upload(req, iid):
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/octet-stream":
            raise ApiError(415, f"The Content-Type {ctype or '(none)'} is not supported; "
                                "use application/octet-stream")
        images.upload(iid, req)
        return 204, None

    @router.add("DELETE", r"/image/v2/images/(?P<iid>[^/]+)", "glance")
    def image_delete(req, iid):
        images.delete(iid)
        return 204, None
