"""`migprobe-lab cloud`: runs the lab cloud (foreground or detached with a pid file) and
serves its admin endpoints under /_lab/ (fault plan, call log, ground truth)."""

import json
import os
import sys
import time

from .. import config, state, truth
from ..proc import LabError, alive, read_pid, spawn, stop_pidfile
from . import glance, keystone, neutron, nova
from .faults import FaultPlanError, Faults
from .rest import ApiError, Router, Server, make_handler
from .world import World

USERNAME = "admin"
PASSWORD = "migprobe-lab"
PROJECT = "admin"
TOKEN_TTL_S = 3600


def env_lines(url):
    return (f"export OS_AUTH_URL={url}/identity/v3\nexport OS_USERNAME={USERNAME}\n"
            f"export OS_PASSWORD={PASSWORD}\nexport OS_PROJECT_NAME={PROJECT}\n"
            "export OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\n"
            "export OS_REGION_NAME=RegionOne\nexport OS_IDENTITY_API_VERSION=3\n"
            "export OS_COMPUTE_API_VERSION=2.80\n")


def build(faults_plan=None, migration_params=None, max_concurrent=0):
    """The router and its parts (also used by tests in-process). max_concurrent: live
    migrations at a time per source host (Nova's max_concurrent_live_migrations; 0: no
    limit)."""
    faults = Faults(faults_plan)
    ident = keystone.Identity(USERNAME, PASSWORD, PROJECT, TOKEN_TTL_S, faults)
    images = glance.Images()
    groups = neutron.SecurityGroups()
    world = World(ident, faults, migration_params or {}, max_concurrent, images, groups)
    router = Router()
    calls = []
    keystone.register(router, ident)
    nova.register(router, world, ident)
    glance.register(router, ident, images)

    def group_in_use(group):
        return any(group["name"] in (s.get("security_groups") or ["default"])
                   for s in world.servers())

    neutron.register(router, ident, groups, group_in_use, world.servers)
    _register_admin(router, faults, calls, world)
    return router, faults, calls, world


def _register_admin(router, faults, calls, world):
    @router.add("GET", r"/_lab/faults", "lab", auth=False)
    def get_faults(req):
        return 200, faults.snapshot()

    @router.add("PUT", r"/_lab/faults", "lab", auth=False)
    def put_faults(req):
        try:
            faults.set(req.body or {})
        except FaultPlanError as e:
            raise ApiError(400, f"fault plan: {e}")
        return 200, faults.snapshot()

    @router.add("DELETE", r"/_lab/faults", "lab", auth=False)
    def clear_faults(req):
        faults.set({})
        return 204, None

    @router.add("GET", r"/_lab/calls", "lab", auth=False)
    def get_calls(req):
        return 200, {"calls": list(calls)}

    @router.add("GET", r"/_lab/truth", "lab", auth=False)
    def get_truth(req):
        return 200, {"records": truth.read_all()}

    @router.add("GET", r"/_lab/migrations", "lab", auth=False)
    def get_migrations(req):
        with world.lock:
            return 200, {"migrations": [{k: v for k, v in m.items()} for m in world.migrations]}


def serve(port, faults_plan, migration_params, ready_file=None, max_concurrent=0):
    router, faults, calls, world = build(faults_plan, migration_params, max_concurrent)
    httpd = Server(("127.0.0.1", port), make_handler(router, faults, calls))
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    if ready_file:
        with open(ready_file + ".new", "w") as f:
            f.write(url + "\n")
        os.replace(ready_file + ".new", ready_file)
    print(f"lab cloud on {url}\n{env_lines(url)}", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


def _load_plan(path):
    if not path:
        return None
    try:
        with open(path) as f:
            plan = json.load(f)
        Faults(plan)
        return plan
    except (OSError, ValueError, FaultPlanError) as e:
        raise LabError(f"--faults {path}: {e}")


def main(args):
    pidfile, urlfile = state.path("cloud.pid"), state.path("cloud.url")
    if args.stop:
        stop_pidfile(pidfile, marker="migprobe")
        print("lab cloud stopped")
        return 0
    if state.load() is None:
        raise LabError("no lab is up: run `migprobe-lab up` first")
    plan = _load_plan(args.faults)
    params = {"downtime_limit_ms": args.downtime_limit_ms, "postcopy": args.postcopy,
              "outage_ms": args.outage_ms, "bandwidth_mibps": args.bandwidth}
    if args.max_concurrent_live_migrations < 0:
        raise LabError("--max-concurrent-live-migrations must be 0 (no limit) or more")
    if args.foreground:
        return serve(args.port, plan, params, urlfile, args.max_concurrent_live_migrations)
    pid = read_pid(pidfile)
    if alive(pid, "migprobe"):
        with open(urlfile) as f:
            url = f.read().strip()
        print(f"lab cloud already running (pid {pid}) on {url}\n{env_lines(url)}", end="")
        return 0
    if os.path.exists(urlfile):
        os.unlink(urlfile)
    argv = [sys.executable, os.path.join(config.lab_dir(), "migprobe-lab"), "cloud",
            "--foreground", "--port", str(args.port), "--outage-ms", str(args.outage_ms),
            "--max-concurrent-live-migrations", str(args.max_concurrent_live_migrations)]
    if args.downtime_limit_ms is not None:
        argv += ["--downtime-limit-ms", str(args.downtime_limit_ms)]
    if args.postcopy:
        argv.append("--postcopy")
    if args.bandwidth is not None:
        argv += ["--bandwidth", str(args.bandwidth)]
    if args.faults:
        argv += ["--faults", os.path.abspath(args.faults)]
    pid = spawn(argv, pidfile, state.path("cloud.log"))
    deadline = time.monotonic() + 10
    while not os.path.exists(urlfile):
        if time.monotonic() > deadline or not alive(pid):
            stop_pidfile(pidfile, marker="migprobe")
            raise LabError(f"the lab cloud did not start (log {state.path('cloud.log')})")
        time.sleep(0.05)
    with open(urlfile) as f:
        url = f.read().strip()
    print(f"lab cloud running (pid {pid}) on {url}\n{env_lines(url)}", end="")
    return 0
