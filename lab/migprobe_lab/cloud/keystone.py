"""Keystone v3 subset: version discovery, password/token auth with a service catalog whose
compute endpoint points at this server, token validation and revocation."""

import base64
import datetime
import hashlib
import os
import threading
import time

from .rest import ApiError

KEYSTONE_VERSION = "v3.14"
PROJECT_ID = "6f70656e737461636b20342065766572"  # the id Nova's samples use
DOMAIN = {"id": "default", "name": "Default"}


def iso(ts, z=True):
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%f") + ("Z" if z else "")


def _id(*parts):
    return hashlib.md5("/".join(parts).encode()).hexdigest()


class Identity:
    """Users (one, from the cloud's options), projects (one) and issued tokens."""

    def __init__(self, username, password, project, default_ttl_s, faults):
        self.username = username
        self.password = password
        self.project = project
        self.user_id = _id("user", username)
        self.project_id = PROJECT_ID
        self.default_ttl_s = default_ttl_s
        self.faults = faults
        self._tokens = {}
        self._lock = threading.Lock()

    def issue(self, methods):
        token = base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")
        now = time.time()
        ttl = self.faults.token_ttl_s(self.default_ttl_s)
        rec = {"issued": now, "expires": now + ttl, "methods": methods,
               "audit_id": base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")}
        with self._lock:
            self._tokens[token] = rec
        return token, rec

    def lookup(self, token):
        """The token's record if it is valid now, else None."""
        with self._lock:
            rec = self._tokens.get(token or "")
        if rec is None or rec["expires"] <= time.time():
            return None
        return rec

    def revoke(self, token):
        with self._lock:
            return self._tokens.pop(token, None) is not None


def catalog(base_url):
    def endpoints(url, service):
        return [{"id": _id(service, iface), "interface": iface, "region": "RegionOne",
                 "region_id": "RegionOne", "url": url} for iface in ("public", "internal", "admin")]
    return [
        {"endpoints": endpoints(f"{base_url}/identity", "keystone"), "id": _id("keystone"),
         "type": "identity", "name": "keystone"},
        {"endpoints": endpoints(f"{base_url}/compute/v2.1", "nova"), "id": _id("nova"),
         "type": "compute", "name": "nova"},
        {"endpoints": endpoints(f"{base_url}/image", "glance"), "id": _id("glance"),
         "type": "image", "name": "glance"},
        {"endpoints": endpoints(f"{base_url}/networking", "neutron"), "id": _id("neutron"),
         "type": "network", "name": "neutron"},
    ]


def token_body(ident, rec, base_url, with_catalog=True):
    tok = {"audit_ids": [rec["audit_id"]], "expires_at": iso(rec["expires"]),
           "issued_at": iso(rec["issued"]), "methods": rec["methods"], "is_domain": False,
           "project": {"domain": DOMAIN, "id": ident.project_id, "name": ident.project},
           "roles": [{"id": _id("role", "admin"), "name": "admin"},
                     {"id": _id("role", "member"), "name": "member"},
                     {"id": _id("role", "reader"), "name": "reader"}],
           "user": {"domain": DOMAIN, "id": ident.user_id, "name": ident.username,
                    "password_expires_at": None}}
    if with_catalog:
        tok["catalog"] = catalog(base_url)
    return {"token": tok}


def version_doc(base_url):
    return {"id": KEYSTONE_VERSION, "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{base_url}/identity/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


def _unauthorized():
    return ApiError(401, "The request you have made requires authentication.")


def register(router, ident):
    @router.add("GET", r"/identity", "keystone", auth=False)
    def versions(req):
        return 300, {"versions": {"values": [version_doc(req.base_url)]}}

    @router.add("GET", r"/identity/v3", "keystone", auth=False)
    def v3(req):
        return 200, {"version": version_doc(req.base_url)}

    @router.add("POST", r"/identity/v3/auth/tokens", "keystone", auth=False)
    def issue(req):
        body = req.body or {}
        auth = body.get("auth") if isinstance(body, dict) else None
        if not isinstance(auth, dict) or "identity" not in auth:
            raise ApiError(400, "Expecting to find auth.identity in request body.")
        identity = auth["identity"]
        methods = identity.get("methods") or []
        if methods == ["password"]:
            user = (identity.get("password") or {}).get("user") or {}
            name_ok = user.get("name") == ident.username or user.get("id") == ident.user_id
            if not name_ok or user.get("password") != ident.password:
                raise _unauthorized()
        elif methods == ["token"]:
            if ident.lookup((identity.get("token") or {}).get("id")) is None:
                raise _unauthorized()
        else:
            raise ApiError(400, f"Unsupported auth methods: {methods}")
        scope = auth.get("scope")
        if isinstance(scope, dict) and "project" in scope:
            p = scope["project"]
            if p.get("name", ident.project) != ident.project and p.get("id") != ident.project_id:
                raise _unauthorized()
        token, rec = ident.issue(methods)
        nocatalog = "nocatalog" in req.query
        return 201, token_body(ident, rec, req.base_url, not nocatalog), {"X-Subject-Token": token}

    def _caller(req):
        if ident.lookup(req.headers.get("X-Auth-Token")) is None:
            raise _unauthorized()

    @router.add("GET", r"/identity/v3/auth/tokens", "keystone", auth=False)
    def validate(req):
        _caller(req)
        subject = req.headers.get("X-Subject-Token")
        rec = ident.lookup(subject)
        if rec is None:
            raise ApiError(404, f"Could not find token: {subject}.")
        return 200, token_body(ident, rec, req.base_url, "nocatalog" not in req.query), \
            {"X-Subject-Token": subject}

    @router.add("DELETE", r"/identity/v3/auth/tokens", "keystone", auth=False)
    def revoke(req):
        _caller(req)
        if not ident.revoke(req.headers.get("X-Subject-Token")):
            raise ApiError(404, "Could not find token.")
        return 204, None

    @router.add("GET", r"/identity/v3/auth/catalog", "keystone", auth=False)
    def get_catalog(req):
        _caller(req)
        return 200, {"catalog": catalog(req.base_url),
                     "links": {"self": f"{req.base_url}/identity/v3/auth/catalog",
                               "previous": None, "next": None}}
