"""What the lab cloud knows: servers (the lab guests, read from lab.json on each call),
live migrations with Nova's statuses, instance actions with events. Each accepted live
migration runs in its own thread and is carried out on the guests (migration.py)."""

import threading
import time
import uuid

from .. import state
from ..migration import Migration, Parameters
from ..proc import LabError
from .rest import ApiError
from .keystone import PROJECT_ID
from . import nova_views as views
from .nova_resources import Flavors, Keypairs
from .nova_servers import Servers

IN_PROGRESS = ("accepted", "queued", "preparing", "running", "post-migrating")
# migration.Migration.status -> Nova migration status
_NOVA_STATUS = {"queued": "queued", "preparing": "preparing", "running": "running",
                "postcopy": "running", "completed": "post-migrating"}


class World:
    def __init__(self, identity, faults, params, max_concurrent=0, images=None, groups=None):
        self.identity = identity
        self.faults = faults
        self.params = params  # dict of migration.Parameters defaults
        # Live migrations at a time per source host (nova.conf max_concurrent_live_migrations;
        # 0: no limit): more wait in status "queued", as on a Nova compute host.
        self.max_concurrent = max_concurrent
        self.lock = threading.RLock()
        self.slots = threading.Condition(self.lock)
        self.running_from = {}  # source host -> live migrations started and not ended
        self.migrations = []
        self.actions = {}  # server uuid -> [action]
        self.task_state = {}  # server uuid -> task_state
        self.runners = {}  # migration id -> Migration
        self.flavors = Flavors()
        self.keypairs = Keypairs(identity.user_id)
        self.booted = Servers(self, images, groups)
        lab = self.lab()
        self.created = lab.get("created_ns", time.time_ns()) / 1e9
        for g in lab["guests"].values():
            created = g.get("created_at", self.created)
            self.actions[g["uuid"]] = [self._action(g["uuid"], "create", "req-" + str(uuid.uuid4()),
                                                    created, [("compute__do_build_and_run_instance",
                                                               g["host"], created, created + 5,
                                                               "Success")])]

    # --- servers ----------------------------------------------------------------------------
    def lab(self):
        lab = state.load()
        if lab is None:
            raise ApiError(503, "The lab is not up (run: migprobe-lab up).")
        return lab

    def servers(self):
        """Every server: the lab's guests (those `up` started and those the cloud booted),
        then the servers the cloud has no guest for (BUILD before one is allotted, ERROR)."""
        lab = self.lab()
        out = []
        for g in sorted(lab["guests"].values(), key=lambda g: g["index"]):
            s = dict(g)
            s["lab_name"] = g["name"]
            s["name"] = g.get("display_name") or g["name"]
            s["status"] = g.get("status", "active")
            s["task_state"] = self.task_state.get(g["uuid"])
            s["mode"] = lab["mode"]
            s["hosts"] = lab["hosts"]
            out.append(s)
        seen = {s["uuid"] for s in out}
        for r in sorted(self.booted.listed(), key=lambda r: r["created_at"]):
            if r["uuid"] in seen:
                continue
            s = dict(r)
            s.update(lab_name=None, name=r["display_name"], index=None, ip=None, mac=None,
                     task_state="spawning" if r["status"] == "building" else None,
                     mode=lab["mode"], hosts=lab["hosts"])
            out.append(s)
        return out

    def server(self, server_id):
        for s in self.servers():
            if s["uuid"] == server_id:
                return s
        raise ApiError(404, f"Instance {server_id} could not be found.")

    def hosts(self):
        return self.lab()["hosts"]

    def links(self, req, sid):
        return views.links(req.base_url, f"servers/{sid}")

    def begin_task(self, sid, task):
        """Sets a server's task_state; False when it already has one."""
        with self.lock:
            if self.task_state.get(sid):
                return False
            self.task_state[sid] = task
            return True

    def end_task(self, sid):
        with self.lock:
            self.task_state.pop(sid, None)

    # --- instance actions -------------------------------------------------------------------
    def new_action(self, server_uuid, action, request_id, start):
        with self.lock:
            a = self._action(server_uuid, action, request_id, start, [])
            self.actions.setdefault(server_uuid, []).append(a)
            return a

    def _action(self, server_uuid, action, request_id, start, events):
        return {"action": action, "instance_uuid": server_uuid, "request_id": request_id,
                "user_id": self.identity.user_id, "project_id": PROJECT_ID, "start_time": start,
                "updated_at": max([start] + [e[3] or e[2] for e in events]), "message": None,
                "events": [self._event(*e) for e in events]}

    @staticmethod
    def _event(name, host, start, finish, result, details=None):
        return {"event": name, "host": host, "start_time": start, "finish_time": finish,
                "result": result, "traceback": None, "details": details}

    def event_start(self, action, name, host):
        with self.lock:
            ev = self._event(name, host, time.time(), None, None)
            action["events"].append(ev)
            action["updated_at"] = ev["start_time"]
            return ev

    def event_end(self, action, ev, ok, details=None):
        with self.lock:
            ev["finish_time"] = time.time()
            ev["result"] = "Success" if ok else "Error"
            ev["details"] = details
            action["updated_at"] = ev["finish_time"]
            if not ok:
                action["message"] = "Error"

    # --- live migration ---------------------------------------------------------------------
    def live_migrate(self, server, host, request_id, microversion):
        """Accepts a live migration (raises ApiError for the synchronous refusals)."""
        with self.lock:
            if server.get("status", "active") != "active":
                raise ApiError(409, f"Cannot 'os-migrateLive' instance {server['uuid']} while "
                                    f"it is in vm_state {server['status']}")
            if self.task_state.get(server["uuid"]):
                raise ApiError(409, f"Cannot 'os-migrateLive' instance {server['uuid']} while it "
                                    f"is in task_state {self.task_state[server['uuid']]}")
            hosts = server["hosts"]
            if host is None:
                # The scheduler's choice: the first other host.
                host = next(h for h in hosts if h != server["host"])
            elif host not in hosts:
                raise ApiError(400, f"Compute host {host} could not be found.")
            fault = self.faults.migration_fault(server["name"], server["uuid"])
            same_host = host == server["host"]
            if microversion < (2, 34) and (same_host or fault == "error"):
                # Before 2.34 the pre-checks ran inside the API call.
                msg = (f"Unable to migrate instance ({server['uuid']}) to current host ({host})."
                       if same_host else "Migration pre-check error: injected fault (lab cloud)")
                raise ApiError(400, msg)
            now = time.time()
            mig = {"id": len(self.migrations) + 1, "uuid": str(uuid.uuid4()),
                   "server_uuid": server["uuid"], "server_name": server["lab_name"],
                   "source_compute": server["host"], "dest_compute": host,
                   "source_node": server["host"], "dest_node": host, "dest_host": "127.0.0.1",
                   "status": "accepted", "migration_type": "live-migration",
                   "created_at": now, "updated_at": now, "user_id": self.identity.user_id,
                   "project_id": PROJECT_ID, "old_instance_type_id": 1, "new_instance_type_id": 1,
                   "memory": {}, "fault": fault, "error": None, "truth": None}
            self.migrations.append(mig)
            action = self._action(server["uuid"], "live-migration", request_id, now, [])
            self.actions.setdefault(server["uuid"], []).append(action)
            self.task_state[server["uuid"]] = "migrating"
        error = (f"Unable to migrate instance ({server['uuid']}) to current host ({host})."
                 if same_host else None)
        threading.Thread(target=self._run, args=(mig, action, error), daemon=True).start()
        return mig

    def _set(self, mig, **kw):
        with self.lock:
            mig.update(kw)
            mig["updated_at"] = time.time()

    def _take_slot(self, mig):
        """Waits, in status "queued", for a free slot on the source host, as the source
        compute's live migration executor does. False when the migration was cancelled while
        it waited."""
        src = mig["source_compute"]
        with self.slots:
            self._set(mig, status="queued")
            while (not mig.get("cancel") and self.max_concurrent > 0
                   and self.running_from.get(src, 0) >= self.max_concurrent):
                self.slots.wait(0.5)
            if mig.get("cancel"):
                self._set(mig, status="cancelled")
                return False
            self.running_from[src] = self.running_from.get(src, 0) + 1
            return True

    def _give_slot(self, mig):
        with self.slots:
            src = mig["source_compute"]
            self.running_from[src] -= 1
            self.slots.notify_all()

    def _run(self, mig, action, precheck_error):
        src, dst = mig["source_compute"], mig["dest_compute"]
        slot = False
        try:
            # The conductor checks the migration ("accepted"), then the source compute
            # queues it.
            ev = self.event_start(action, "conductor_live_migrate_instance", src)
            if precheck_error or mig["fault"] == "error":
                time.sleep(0.2)
                msg = precheck_error or "Migration pre-check error: injected fault (lab cloud)"
                self.event_end(action, ev, False, msg)
                self._set(mig, status="error", error=msg)
                return
            chk = self.event_start(action, "compute_check_can_live_migrate_destination", dst)
            self.event_end(action, chk, True)
            self.event_end(action, ev, True)
            slot = self._take_slot(mig)
            if not slot:
                return
            params = Parameters(**self.params)
            if mig["fault"] == "dest-crash":
                params.inject_failure = "dest-crash"
            m = Migration(mig["server_name"], dst, params, migration_id=mig["uuid"])
            with self.lock:
                self.runners[mig["id"]] = m
            pre = self.event_start(action, "compute_pre_live_migration", dst)
            self.event_end(action, pre, True)
            run_ev = self.event_start(action, "compute_live_migration", src)
            self._set(mig, status="preparing")
            try:
                rec = m.run()
            except LabError as e:
                rec = {"status": "failed", "error": str(e)}
            self._set(mig, truth=rec, memory=m.progress())
            if rec["status"] == "completed":
                self._set(mig, status="post-migrating")
                post = self.event_start(action, "compute_post_live_migration_at_destination", dst)
                self.event_end(action, post, True)
                self.event_end(action, run_ev, True)
                self._set(mig, status="completed")
            elif rec["status"] == "cancelled":
                self.event_end(action, run_ev, True)
                self._set(mig, status="cancelled")
            else:
                self.event_end(action, run_ev, False, rec.get("error"))
                self._set(mig, status="error", error=rec.get("error"))
        except Exception as e:  # never leave a server stuck in MIGRATING
            self._set(mig, status="error", error=f"lab cloud: {e}")
        finally:
            if slot:
                self._give_slot(mig)
            with self.lock:
                self.task_state.pop(mig["server_uuid"], None)
                self.runners.pop(mig["id"], None)

    def status_of(self, mig):
        """Nova's view of a migration now (the runner's state while it runs)."""
        with self.lock:
            m = self.runners.get(mig["id"])
            if m is not None and mig["status"] in ("preparing", "running"):
                s = _NOVA_STATUS.get(m.status)
                if s and s != mig["status"] and s in ("running",):
                    mig["status"] = s
                    mig["updated_at"] = time.time()
                mig["memory"] = m.progress()
            return mig["status"]

    def find_migration(self, server_uuid, mig_id):
        with self.lock:
            for mig in self.migrations:
                if str(mig["id"]) == str(mig_id) and mig["server_uuid"] == server_uuid:
                    return mig
        return None

    def abort(self, mig):
        with self.slots:
            m = self.runners.get(mig["id"])
            if m is None:
                # Not started: a queued migration is cancelled where it waits (2.65+).
                mig["cancel"] = True
                self.slots.notify_all()
        if m is not None:
            m.abort()

    def force_complete(self, mig):
        with self.lock:
            m = self.runners.get(mig["id"])
        if m is not None:
            m.force_complete()
