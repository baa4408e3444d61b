"""Nova (compute API v2.1) subset: version discovery and microversions, servers,
os-migrateLive, server migrations (progress, force complete, abort), os-migrations,
instance actions with events, hypervisors with servers, server diagnostics."""

import os
import re
import time
from urllib.parse import urlencode

from .. import config, qemu
from ..proc import read_pid
from . import nova_views as views
from .http import ApiError

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 96)
UUID_RE = r"[0-9a-fA-F-]{36}"


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


def _need(req, v, what="the requested resource"):
    """Below the microversion that introduced a route, Nova answers 404."""
    if req.microversion < v:
        raise ApiError(404, "The resource could not be found.")


def _limit(req):
    lim = req.q("limit")
    if lim is None:
        return None
    try:
        n = int(lim)
        if n < 0:
            raise ValueError
        return n
    except ValueError:
        raise ApiError(400, f"Invalid input for query parameters limit. Value: {lim}.")


def _page(items, req, key, marker_of, link_path, links_key):
    """Nova-style marker/limit paging; adds a 'next' link when the page is full."""
    marker = req.q("marker")
    if marker is not None:
        idx = next((i for i, it in enumerate(items) if marker_of(it) == marker), None)
        if idx is None:
            raise ApiError(400, f"Marker {marker} could not be found.")
        items = items[idx + 1:]
    limit = _limit(req)
    out = {}
    if limit is not None:
        items = items[:limit]
        if limit and len(items) == limit:
            q = {k: v[-1] for k, v in req.query.items() if k != "marker"}
            q["marker"] = marker_of(items[-1])
            out[links_key] = [{"href": f"{req.base_url}/compute/v2.1/{link_path}?{urlencode(q)}",
                               "rel": "next"}]
    return items, out


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
            servers = [s for s in servers
                       if ("MIGRATING" if s["task_state"] else "ACTIVE") == status.upper()]
        ip = req.q("ip")
        if ip:
            servers = [s for s in servers if re.search(ip, s["ip"])]
        uuid_ = req.q("uuid")
        if uuid_:
            servers = [s for s in servers if s["uuid"] == uuid_]
        return servers

    def _list(req, detail):
        servers, extra = _page(_filtered(req), req, "servers", lambda s: s["uuid"],
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

    # --- server migrations --------------------------------------------------------------------
    def _server_mig(req, sid, mid):
        s = world.server(sid)
        mig = world.find_migration(s["uuid"], mid)
        if mig is None or world.status_of(mig) not in ("queued", "preparing", "running",
                                                         "post-migrating", "accepted"):
            raise ApiError(404, f"In-progress live migration {mid} is not found for server "
                                f"{s['uuid']}.")
        return s, mig

    @router.add("GET", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/migrations", "nova")
    def server_migrations(req, sid):
        _need(req, (2, 23))
        s = world.server(sid)
        migs = [m for m in world.migrations if m["server_uuid"] == s["uuid"]
                and world.status_of(m) in ("queued", "preparing", "running", "post-migrating")]
        return 200, {"migrations": [views.server_migration(m, req) for m in migs]}

    @router.add("GET", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/migrations/(?P<mid>[^/]+)", "nova")
    def server_migration(req, sid, mid):
        _need(req, (2, 23))
        _, mig = _server_mig(req, sid, mid)
        return 200, {"migration": views.server_migration(mig, req)}

    @router.add("POST", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/migrations/(?P<mid>[^/]+)/action",
                "nova")
    def server_migration_action(req, sid, mid):
        _need(req, (2, 22))
        if not isinstance(req.body, dict) or "force_complete" not in req.body:
            raise ApiError(400, "Invalid request body: expected force_complete.")
        s = world.server(sid)
        mig = world.find_migration(s["uuid"], mid)
        if mig is None:
            raise ApiError(404, f"Migration {mid} for instance {s['uuid']} could not be found.")
        st = world.status_of(mig)
        if st != "running":
            raise ApiError(400, f"Migration {mid} state of instance {s['uuid']} is {st}. Cannot "
                                "force_complete while the migration is in this state.")
        world.force_complete(mig)
        return 202, None

    @router.add("DELETE", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/migrations/(?P<mid>[^/]+)", "nova")
    def server_migration_abort(req, sid, mid):
        _need(req, (2, 24))
        s = world.server(sid)
        mig = world.find_migration(s["uuid"], mid)
        if mig is None:
            raise ApiError(404, f"Migration {mid} for instance {s['uuid']} could not be found.")
        st = world.status_of(mig)
        allowed = ("running", "queued", "preparing") if req.microversion >= (2, 65) else ("running",)
        if st not in allowed:
            raise ApiError(400, f"Migration {mid} state of instance {s['uuid']} is {st}. Cannot "
                                "abort live migration while the migration is in this state.")
        world.abort(mig)
        return 202, None

    # --- os-migrations ------------------------------------------------------------------------
    @router.add("GET", r"/compute/v2\.1/os-migrations", "nova")
    def os_migrations(req):
        migs = sorted(world.migrations, key=lambda m: (m["created_at"], m["id"]), reverse=True)
        for m in migs:
            world.status_of(m)
        f = {k: req.q(k) for k in ("instance_uuid", "status", "source_compute", "migration_type",
                                   "host", "user_id", "project_id")}
        if f["instance_uuid"]:
            migs = [m for m in migs if m["server_uuid"] == f["instance_uuid"]]
        if f["status"]:
            migs = [m for m in migs if m["status"] == f["status"]]
        if f["source_compute"]:
            migs = [m for m in migs if m["source_compute"] == f["source_compute"]]
        if f["migration_type"]:
            migs = [m for m in migs if m["migration_type"] == f["migration_type"]]
        if f["host"]:
            migs = [m for m in migs if f["host"] in (m["source_compute"], m["dest_compute"])]
        extra = {}
        if req.microversion >= (2, 80):
            for k in ("user_id", "project_id"):
                if f[k]:
                    migs = [m for m in migs if m[k] == f[k]]
        if req.microversion >= (2, 59):
            for key, cmp in (("changes-since", lambda a, b: a >= b),
                             ("changes-before", lambda a, b: a <= b)):
                val = req.q(key)
                if val and (key == "changes-since" or req.microversion >= (2, 66)):
                    t = _parse_time(val, key)
                    migs = [m for m in migs if cmp(m["updated_at"], t)]
            migs, extra = _page(migs, req, "migrations", lambda m: m["uuid"], "os-migrations",
                                "migrations_links")
        body = {"migrations": [views.migration(m, req, m["status"] in
                                               ("queued", "preparing", "running", "post-migrating"))
                               for m in migs]}
        body.update(extra)
        return 200, body

    # --- instance actions ---------------------------------------------------------------------
    @router.add("GET", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/os-instance-actions", "nova")
    def actions(req, sid):
        s = world.server(sid)
        acts = sorted(world.actions.get(s["uuid"], []), key=lambda a: a["start_time"], reverse=True)
        extra = {}
        if req.microversion >= (2, 58):
            val = req.q("changes-since")
            if val:
                t = _parse_time(val, "changes-since")
                acts = [a for a in acts if a["updated_at"] >= t]
            acts, extra = _page(acts, req, "instanceActions", lambda a: a["request_id"],
                                f"servers/{s['uuid']}/os-instance-actions", "links")
        body = {"instanceActions": [views.action(a, req, False) for a in acts]}
        body.update(extra)
        return 200, body

    @router.add("GET", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/os-instance-actions/(?P<rid>[^/]+)",
                "nova")
    def action_get(req, sid, rid):
        s = world.server(sid)
        for a in world.actions.get(s["uuid"], []):
            if a["request_id"] == rid:
                return 200, {"instanceAction": views.action(a, req, True)}
        raise ApiError(404, f"Action {rid} not found")

    # --- hypervisors --------------------------------------------------------------------------
    def _hypervisors(req, detail):
        servers = world.servers()
        with_servers = req.microversion >= (2, 53) and req.q("with_servers", "").lower() in (
            "1", "true", "yes", "on")
        pattern = req.q("hypervisor_hostname_pattern") if req.microversion >= (2, 53) else None
        out = []
        for i, h in enumerate(world.hosts(), 1):
            if pattern and pattern not in h:
                continue
            on = [s for s in servers if s["host"] == h]
            out.append(views.hypervisor(i, h, on, req, detail, with_servers))
        if pattern and not out:
            raise ApiError(404, f"No hypervisor matching '{pattern}' could be found.")
        return out

    def _hv_page(req, detail):
        hvs = _hypervisors(req, detail)
        extra = {}
        if req.microversion >= (2, 33):
            hvs, extra = _page(hvs, req, "hypervisors", lambda h: str(h["id"]),
                               "os-hypervisors/detail" if detail else "os-hypervisors",
                               "hypervisors_links")
        return 200, dict({"hypervisors": hvs}, **extra)

    @router.add("GET", r"/compute/v2\.1/os-hypervisors", "nova")
    def hypervisors(req):
        return _hv_page(req, False)

    @router.add("GET", r"/compute/v2\.1/os-hypervisors/detail", "nova")
    def hypervisors_detail(req):
        return _hv_page(req, True)

    @router.add("GET", r"/compute/v2\.1/os-hypervisors/(?P<pattern>[^/]+)/servers", "nova")
    def hypervisor_servers(req, pattern):
        if req.microversion >= (2, 53):
            raise ApiError(404, "The resource could not be found.")
        servers = world.servers()
        out = []
        for i, h in enumerate(world.hosts(), 1):
            if pattern in h:
                hv = views.hypervisor(i, h, [], req, False, False)
                hv["servers"] = [{"name": s["name"], "uuid": s["uuid"]}
                                 for s in servers if s["host"] == h]
                out.append(hv)
        if not out:
            raise ApiError(404, f"No hypervisor matching '{pattern}' could be found.")
        return 200, {"hypervisors": out}

    @router.add("GET", r"/compute/v2\.1/os-hypervisors/(?P<hid>[^/]+)", "nova")
    def hypervisor_get(req, hid):
        with_servers = req.microversion >= (2, 53) and req.q("with_servers", "").lower() in (
            "1", "true", "yes", "on")
        servers = world.servers()
        for i, h in enumerate(world.hosts(), 1):
            hv = views.hypervisor(i, h, [s for s in servers if s["host"] == h], req, True,
                                  with_servers)
            if str(hv["id"]) == hid:
                return 200, {"hypervisor": hv}
        raise ApiError(404, f"Hypervisor with ID {hid} could not be found.")

    # --- flavors (the one flavor of lab guests, for clients that show flavor names) ---------
    @router.add("GET", r"/compute/v2\.1/flavors(?P<detail>/detail)?", "nova")
    def flavors(req, detail):
        f = {"id": views.FLAVOR_ID, "name": "lab.tiny",
             "links": views.links(req.base_url, f"flavors/{views.FLAVOR_ID}")}
        if detail:
            f.update({"OS-FLV-DISABLED:disabled": False, "disk": 1, "OS-FLV-EXT-DATA:ephemeral": 0,
                      "os-flavor-access:is_public": True, "ram": 128, "swap": 0, "vcpus": 1,
                      "rxtx_factor": 1.0})
            if req.microversion >= (2, 55):
                f["description"] = None
            if req.microversion >= (2, 61):
                f["extra_specs"] = {}
        return 200, {"flavors": [f]}

    # --- diagnostics --------------------------------------------------------------------------
    @router.add("GET", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/diagnostics", "nova")
    def diagnostics(req, sid):
        s = world.server(sid)
        if s.get("task_state"):
            raise ApiError(409, f"Cannot 'get_diagnostics' instance {s['uuid']} while it is in "
                                f"task_state {s['task_state']}")
        port = config.port_name(s["hosts"], s["host"], s["index"])
        nic = _nic_stats(port)
        cpu_ns, uptime = _qemu_times(s) if s["mode"] == "qemu" else (0, 0)
        if req.microversion < (2, 48):
            return 200, {"cpu0_time": cpu_ns, "memory": s.get("mem_mb", 128) * 1024,
                         f"{port}_rx": nic["rx_octets"], f"{port}_rx_packets": nic["rx_packets"],
                         f"{port}_tx": nic["tx_octets"], f"{port}_tx_packets": nic["tx_packets"]}
        return 200, {
            "config_drive": False, "cpu_details": [{"id": 0, "time": cpu_ns, "utilisation": None}],
            "disk_details": [], "driver": "libvirt", "hypervisor": "qemu",
            "hypervisor_os": "linux", "memory_details": {"maximum": s.get("mem_mb", 128), "used": 0},
            "nic_details": [dict(nic, mac_address=s["mac"])], "num_cpus": 1, "num_disks": 0,
            "num_nics": 1, "state": "running", "uptime": uptime}


def _parse_time(val, key):
    import datetime
    try:
        d = datetime.datetime.fromisoformat(val.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"Invalid input for query parameters {key}. Value: {val}.")
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()


def _nic_stats(port):
    """The guest's view of its NIC: what its tap received is what the guest sent."""
    def stat(name):
        try:
            with open(f"/sys/class/net/{port}/statistics/{name}") as f:
                return int(f.read())
        except (OSError, ValueError):
            return 0
    return {"rx_octets": stat("tx_bytes"), "rx_packets": stat("tx_packets"),
            "rx_drop": stat("tx_dropped"), "rx_errors": stat("tx_errors"),
            "tx_octets": stat("rx_bytes"), "tx_packets": stat("rx_packets"),
            "tx_drop": stat("rx_dropped"), "tx_errors": stat("rx_errors"),
            "rx_rate": None, "tx_rate": None}


def _qemu_times(s):
    pid = read_pid(qemu.files(s["name"], s["host"])["pid"])
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        hz = os.sysconf("SC_CLK_TCK")
        cpu_ns = (int(fields[11]) + int(fields[12])) * 1_000_000_000 // hz
        with open("/proc/uptime") as f:
            up = float(f.read().split()[0])
        return cpu_ns, int(up - int(fields[19]) / hz)
    except (OSError, ValueError, IndexError, TypeError):
        return 0, 0
