"""Nova's flavors and keypairs in the lab cloud: the lab's own flavor (lab.tiny) and those a
bootstrap creates (create, show, list, delete, with Nova's conflicts), keypairs imported
(2.92 and later: a public key is required; before, one is generated with ssh-keygen when
none is given), listed, shown, deleted."""

import base64
import hashlib
import os
import re
import subprocess
import tempfile
import threading
import time

from . import nova_views as views
from .nova_common import page
from .rest import ApiError

_NAME = re.compile(r"^[\w .-]{1,255}$")


class Flavors:
    def __init__(self):
        self.lock = threading.Lock()
        self.flavors = {views.FLAVOR_ID: {
            "id": views.FLAVOR_ID, "name": "lab.tiny", "ram": 128, "vcpus": 1, "disk": 1,
            "swap": 0, "ephemeral": 0, "rxtx_factor": 1.0, "is_public": True,
            "description": None, "extra_specs": {}}}

    def all(self):
        with self.lock:
            return sorted(self.flavors.values(), key=lambda f: (f["ram"], f["id"]))

    def get(self, fid):
        with self.lock:
            f = self.flavors.get(fid)
        if f is None:
            raise ApiError(404, f"Flavor {fid} could not be found.")
        return f

    def create(self, body, microversion):
        f = body.get("flavor") if isinstance(body, dict) else None
        if not isinstance(f, dict):
            raise ApiError(400, "Invalid input for field/attribute flavor.")
        allowed = {"name", "id", "ram", "vcpus", "disk", "swap", "OS-FLV-EXT-DATA:ephemeral",
                   "rxtx_factor", "os-flavor-access:is_public"}
        if microversion >= (2, 55):
            allowed.add("description")
        for k in f:
            if k not in allowed:
                raise ApiError(400, f"Additional properties are not allowed ('{k}' was "
                                    "unexpected)")
        name = f.get("name")
        if not isinstance(name, str) or not _NAME.match(name.strip() or "-") or not name.strip():
            raise ApiError(400, f"Invalid input for field/attribute name. Value: {name}.")

        def number(key, minimum, required=True):
            v = f.get(key)
            if v is None and not required:
                return 0
            if isinstance(v, str) and v.strip().isdigit():
                v = int(v)
            if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
                raise ApiError(400, f"Invalid input for field/attribute {key}. Value: {v}.")
            return v

        flavor = {"name": name.strip(), "ram": number("ram", 1), "vcpus": number("vcpus", 1),
                  "disk": number("disk", 0), "swap": number("swap", 0, required=False),
                  "ephemeral": number("OS-FLV-EXT-DATA:ephemeral", 0, required=False),
                  "rxtx_factor": float(f.get("rxtx_factor", 1.0)),
                  "is_public": bool(f.get("os-flavor-access:is_public", True)),
                  "description": f.get("description"), "extra_specs": {}}
        fid = f.get("id")
        with self.lock:
            if fid is None:
                fid = str(max([int(x) for x in self.flavors if x.isdigit()] + [0]) + 1)
            fid = str(fid)
            if fid in self.flavors:
                raise ApiError(409, f"Flavor with ID {fid} already exists.")
            if any(x["name"] == flavor["name"] for x in self.flavors.values()):
                raise ApiError(409, f"Flavor with name {flavor['name']} already exists.")
            flavor["id"] = fid
            self.flavors[fid] = flavor
        return flavor

    def delete(self, fid):
        with self.lock:
            if fid not in self.flavors:
                raise ApiError(404, f"Flavor {fid} could not be found.")
            if fid == views.FLAVOR_ID:
                raise ApiError(403, "The lab's own flavor cannot be deleted (the lab guests "
                                    "use it).")
            del self.flavors[fid]


def flavor_view(f, req, detail=True):
    out = {"id": f["id"], "name": f["name"], "links": views.links(req.base_url,
                                                                   f"flavors/{f['id']}")}
    if detail:
        out.update({"OS-FLV-DISABLED:disabled": False, "disk": f["disk"],
                    "OS-FLV-EXT-DATA:ephemeral": f["ephemeral"],
                    "os-flavor-access:is_public": f["is_public"], "ram": f["ram"],
                    "swap": f["swap"] or 0, "vcpus": f["vcpus"], "rxtx_factor": f["rxtx_factor"]})
        if req.microversion < (2, 75) and not f["swap"]:
            out["swap"] = ""  # before 2.75 Nova shows no swap as ""
        if req.microversion >= (2, 55):
            out["description"] = f["description"]
        if req.microversion >= (2, 61):
            out["extra_specs"] = dict(f["extra_specs"])
    return out


def fingerprint(public_key):
    """The MD5 fingerprint Nova shows ("aa:bb:..."): of the key's base64 blob."""
    parts = public_key.split()
    if len(parts) < 2:
        raise ValueError("not an OpenSSH public key")
    digest = hashlib.md5(base64.b64decode(parts[1], validate=True)).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def generate_key(name):
    """A new RSA key pair (private, public) with ssh-keygen."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "key")
        try:
            subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C",
                            "Generated-by-Nova", "-f", path], check=True, capture_output=True,
                           timeout=30)
        except (OSError, subprocess.SubprocessError) as e:
            raise ApiError(500, f"Keypair data is invalid: could not generate a key ({e})")
        with open(path) as priv, open(path + ".pub") as pub:
            return priv.read(), pub.read()


class Keypairs:
    def __init__(self, user_id):
        self.lock = threading.Lock()
        self.user_id = user_id
        self.keypairs = {}
        self.next_id = 1

    def create(self, body, microversion):
        k = body.get("keypair") if isinstance(body, dict) else None
        if not isinstance(k, dict) or "name" not in k:
            raise ApiError(400, "Invalid input for field/attribute keypair.")
        allowed = {"name", "public_key"}
        if microversion >= (2, 2):
            allowed.add("type")
        if microversion >= (2, 10):
            allowed.add("user_id")
        for key in k:
            if key not in allowed:
                raise ApiError(400, f"Additional properties are not allowed ('{key}' was "
                                    "unexpected)")
        name = k["name"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise ApiError(400, f"Invalid input for field/attribute name. Value: {name}.")
        ktype = k.get("type", "ssh")
        if ktype not in ("ssh", "x509"):
            raise ApiError(400, f"Invalid input for field/attribute type. Value: {ktype}.")
        private = None
        public = k.get("public_key")
        if public is None:
            if microversion >= (2, 92):
                raise ApiError(400, "Invalid input for field/attribute keypair. Value: "
                                    f"{{'name': '{name}'}}. 'public_key' is a required property")
            private, public = generate_key(name)
        try:
            fp = fingerprint(public)
        except (ValueError, TypeError):
            raise ApiError(400, "Keypair data is invalid: failed to generate fingerprint")
        with self.lock:
            if name in self.keypairs:
                raise ApiError(409, f"Key pair '{name}' already exists.")
            kp = {"name": name, "public_key": public, "fingerprint": fp, "type": ktype,
                  "user_id": k.get("user_id", self.user_id), "id": self.next_id,
                  "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000", time.gmtime())}
            self.next_id += 1
            self.keypairs[name] = kp
        out = {"name": name, "public_key": public, "fingerprint": fp, "user_id": kp["user_id"]}
        if microversion >= (2, 2):
            out["type"] = ktype
        if private is not None:
            out["private_key"] = private
        return out

    def get(self, name):
        with self.lock:
            kp = self.keypairs.get(name)
        if kp is None:
            raise ApiError(404, f"Keypair {name} not found for user {self.user_id}")
        return kp

    def all(self):
        with self.lock:
            return sorted(self.keypairs.values(), key=lambda k: k["name"])

    def delete(self, name):
        with self.lock:
            if name not in self.keypairs:
                raise ApiError(404, f"Keypair {name} not found for user {self.user_id}")
            del self.keypairs[name]


def register(router, flavors, keypairs):
    # --- flavors ------------------------------------------------------------------------------
    @router.add("GET", r"/compute/v2\.1/flavors(?P<detail>/detail)?", "nova")
    def flavors_list(req, detail):
        items = flavors.all()
        public = (req.q("is_public") or "true").lower()
        if public in ("true", "1", "yes"):
            items = [f for f in items if f["is_public"]]
        elif public in ("false", "0", "no"):
            items = [f for f in items if not f["is_public"]]
        items, extra = page(items, req, "flavors", lambda f: f["id"],
                            "flavors/detail" if detail else "flavors", "flavors_links")
        body = {"flavors": [flavor_view(f, req, bool(detail)) for f in items]}
        body.update(extra)
        return 200, body

    @router.add("POST", r"/compute/v2\.1/flavors", "nova")
    def flavor_create(req):
        return 200, {"flavor": flavor_view(flavors.create(req.body, req.microversion), req)}

    @router.add("GET", r"/compute/v2\.1/flavors/(?P<fid>[^/]+)", "nova")
    def flavor_get(req, fid):
        if fid == "detail":
            return flavors_list(req, "/detail")
        return 200, {"flavor": flavor_view(flavors.get(fid), req)}

    @router.add("DELETE", r"/compute/v2\.1/flavors/(?P<fid>[^/]+)", "nova")
    def flavor_delete(req, fid):
        flavors.delete(fid)
        return 202, None

    # --- keypairs -----------------------------------------------------------------------------
    @router.add("POST", r"/compute/v2\.1/os-keypairs", "nova")
    def keypair_create(req):
        kp = keypairs.create(req.body, req.microversion)
        return (201 if req.microversion >= (2, 2) else 200), {"keypair": kp}

    @router.add("GET", r"/compute/v2\.1/os-keypairs", "nova")
    def keypairs_list(req):
        items = keypairs.all()
        if req.microversion >= (2, 35):
            items, extra = page(items, req, "os-keypairs", lambda k: k["name"], "os-keypairs",
                                "keypairs_links")
        else:
            extra = {}
        body = {"keypairs": [{"keypair": {
            "name": k["name"], "public_key": k["public_key"], "fingerprint": k["fingerprint"],
            **({"type": k["type"]} if req.microversion >= (2, 2) else {})}} for k in items]}
        body.update(extra)
        return 200, body

    @router.add("GET", r"/compute/v2\.1/os-keypairs/(?P<name>[^/]+)", "nova")
    def keypair_get(req, name):
        k = keypairs.get(name)
        out = {"name": k["name"], "public_key": k["public_key"], "fingerprint": k["fingerprint"],
               "user_id": k["user_id"], "deleted": False, "created_at": k["created_at"],
               "updated_at": None, "deleted_at": None, "id": k["id"]}
        if req.microversion >= (2, 2):
            out["type"] = k["type"]
        return 200, {"keypair": out}

    @router.add("DELETE", r"/compute/v2\.1/os-keypairs/(?P<name>[^/]+)", "nova")
    def keypair_delete(req, name):
        keypairs.delete(name)
        return (204 if req.microversion >= (2, 2) else 202), None
