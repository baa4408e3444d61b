"""Nova routes about migrations: server migrations (progress, force complete, abort),
os-migrations (filters, paging), instance actions with their events."""

from . import nova_views as views
from .rest import ApiError
from .nova_common import need, page, parse_time


def register(router, world):
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
        need(req, (2, 23))
        s = world.server(sid)
        migs = [m for m in world.migrations if m["server_uuid"] == s["uuid"]
                and world.status_of(m) in ("queued", "preparing", "running", "post-migrating")]
        return 200, {"migrations": [views.server_migration(m, req) for m in migs]}

    @router.add("GET", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/migrations/(?P<mid>[^/]+)", "nova")
    def server_migration(req, sid, mid):
        need(req, (2, 23))
        _, mig = _server_mig(req, sid, mid)
        return 200, {"migration": views.server_migration(mig, req)}

    @router.add("POST", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/migrations/(?P<mid>[^/]+)/action",
                "nova")
    def server_migration_action(req, sid, mid):
        need(req, (2, 22))
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
        need(req, (2, 24))
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
        with world.lock:  # every migration's status as of one moment
            return _os_migrations(req)

    def _os_migrations(req):
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
                    t = parse_time(val, key)
                    migs = [m for m in migs if cmp(m["updated_at"], t)]
            migs, extra = page(migs, req, "migrations", lambda m: m["uuid"], "os-migrations",
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
                t = parse_time(val, "changes-since")
                acts = [a for a in acts if a["updated_at"] >= t]
            acts, extra = page(acts, req, "instanceActions", lambda a: a["request_id"],
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
