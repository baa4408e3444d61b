"""Nova (compute API v2.1) subset: version discovery and microversions, servers,
servers created (host targeting) and deleted (nova_servers.py), os-migrateLive, server
migrations (progress, force complete, abort), os-migrations,
instance actions with events, hypervisors with servers, server diagnostics, flavors and
keypairs (nova_resources.py)."""

import re

from . import nova_hosts, nova_migrations, nova_resources
from . import nova_views as views
from .rest import ApiError
from .nova_common import page

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 96)


def vstr(v):
    return f"{v[0]}.{v[1]}"


def version_doc(base_url):
    return {"id": "v2.1", "status": "CURRENT", "version": vstr(MAX_VERSION),
            "min_version": vstr(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
            "links": [{"href": f"{base_url}/compute/v2.1/", "rel": "self"},
                      {"href": "http://docs.openstack.org/", "rel": "describedby",
                       "type": "text/html"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute+json;version=2.1"}]}


def parse_microversion(headers):
    text = None
    for item in (headers.get("OpenStack-API-Version") or "").split(","):
        parts = item.split()
        if len(parts) == 2 and parts[0].lower() == "compute":
            text = parts[1]
    if text is None:
        text = headers.get("X-OpenStack-Nova-API-Version")
    if not text:
        return MIN_VERSION
    if text.strip().lower() == "latest":
        return MAX_VERSION
    m = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", text)
    if not m:
        raise ApiError(400, f"API Version String {text} is of invalid format. Must be of "
                            "format MajorNum.MinorNum.")
    v = (int(m.group(1)), int(m.group(2)))
    if not MIN_VERSION <= v <= MAX_VERSION:
        raise ApiError(406, f"Version {text} is not supported by the API. Minimum is "
                            f"{vstr(MIN_VERSION)} and maximum is {vstr(MAX_VERSION)}.")
    return v


def register(router, world, ident):
    def before(req, route):
        if route.auth:
            if ident.lookup(req.headers.get("X-Auth-Token")) is None:
                raise ApiError(401, "The request you have made requires authentication.",
                               {"WWW-Authenticate": f'Keystone uri="{req.base_url}/identity"'},
                               shape="keystone")
            req.microversion = parse_microversion(req.headers)

    def after(req, headers):
        if req.microversion is not None:
            headers["OpenStack-API-Version"] = f"compute {vstr(req.microversion)}"
            headers["X-OpenStack-Nova-API-Version"] = vstr(req.microversion)
            headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"

    router.before["nova"] = before
    router.after["nova"] = after

    @router.add("GET", r"/compute", "nova", auth=False)
    def versions(req):
        v2 = {"id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "",
              "updated": "2025-07-04T12:00:00Z",
              "links": [{"href": f"{req.base_url}/compute/v2/", "rel": "self"}]}
        v21 = version_doc(req.base_url)
        v21 = {k: v21[k] for k in ("id", "links", "status", "version", "min_version", "updated")}
        return 200, {"versions": [v2, v21]}

    @router.add("GET", r"/compute/v2\.1", "nova", auth=False)
    def version(req):
        return 200, {"version": version_doc(req.base_url)}

    # --- servers ------------------------------------------------------------------------------
    def _filtered(req):
        servers = world.servers()
        name = req.q("name")
        if name:
            try:
                rx = re.compile(name)
            except re.error:
                raise ApiError(400, f"Invalid regular expression for name: {name}")
            servers = [s for s in servers if rx.search(s["name"])]
        host = req.q("host") or req.q("node")
        if host:
            servers = [s for s in servers if s["host"] == host]
        status = req.q("status")
        if status:
            servers = [s for s in servers if views.server_status(s) == status.upper()]
        ip = req.q("ip")
        if ip:
            servers = [s for s in servers if s["ip"] and re.search(ip, s["ip"])]
        if req.q("tags"):
            want = set(req.q("tags").split(","))
            servers = [s for s in servers if want <= set(s.get("tags") or [])]
        uuid_ = req.q("uuid")
        if uuid_:
            servers = [s for s in servers if s["uuid"] == uuid_]
        return servers

    def _list(req, detail):
        servers, extra = page(_filtered(req), req, "servers", lambda s: s["uuid"],
                               "servers/detail" if detail else "servers", "servers_links")
        body = {"servers": [views.server(s, req, world.created, detail) for s in servers]}
        body.update(extra)
        return 200, body

    @router.add("GET", r"/compute/v2\.1/servers", "nova")
    def servers_list(req):
        return _list(req, False)

    @router.add("GET", r"/compute/v2\.1/servers/detail", "nova")
    def servers_detail(req):
        return _list(req, True)

    @router.add("GET", r"/compute/v2\.1/servers/(?P<sid>[^/]+)", "nova")
    def server_get(req, sid):
        return 200, {"server": views.server(world.server(sid), req, world.created)}

    @router.add("POST", r"/compute/v2\.1/servers", "nova")
    def server_create(req):
        return 202, {"server": world.booted.create(req.body, req)}

    @router.add("DELETE", r"/compute/v2\.1/servers/(?P<sid>[^/]+)", "nova")
    def server_delete(req, sid):
        world.booted.delete(sid, req)
        return 204, None

    @router.add("POST", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/action", "nova")
    def server_action(req, sid):
        body = req.body
        if not isinstance(body, dict) or len(body) != 1:
            raise ApiError(400, "Invalid request body: expected one action.")
        name, args = next(iter(body.items()))
        s = world.server(sid)
        if name != "os-migrateLive":
            raise ApiError(400, f"There is no such action: {name}")
        if not isinstance(args, dict) or "host" not in args or "block_migration" not in args:
            raise ApiError(400, "Invalid input for field/attribute os-migrateLive. "
                                "'host' and 'block_migration' are required properties.")
        bm = args["block_migration"]
        if req.microversion >= (2, 25):
            if bm not in (True, False, "auto"):
                raise ApiError(400, f"Invalid input for field/attribute block_migration. "
                                    f"Value: {bm}.")
            if "disk_over_commit" in args:
                raise ApiError(400, "Additional properties are not allowed "
                                    "('disk_over_commit' was unexpected)")
        if "force" in args and not (2, 30) <= req.microversion < (2, 68):
            raise ApiError(400, "Additional properties are not allowed ('force' was unexpected)")
        host = args["host"]
        if host is not None and not isinstance(host, str):
            raise ApiError(400, f"Invalid input for field/attribute host. Value: {host}.")
        world.live_migrate(s, host, req.request_id, req.microversion)
        return 202, None

    nova_migrations.register(router, world)
    nova_hosts.register(router, world)
    nova_resources.register(router, world.flavors, world.keypairs)
