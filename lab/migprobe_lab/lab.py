"""Bringing the whole lab up and down: rack, guests (QEMU or namespaces), state.

up() is idempotent (an identical healthy lab is left as is) and all-or-nothing: on any
error or interruption it removes what it created. down() removes everything the lab
made: processes by their pid files (and strays by their command line), then links and
namespaces by their lab names.
"""

import os
import shutil
import signal
import sys
import time
import uuid

from . import config, image, qemu, rack, state
from .proc import LabError, alive, cmdline, pids_with_marker, read_pid, run, spawn, stop_pid, stop_pidfile

BOOT_TIMEOUT_S = 120


def log(msg):
    print(f"migprobe-lab: {msg}", file=sys.stderr, flush=True)


def settings_of(opts):
    return {"guests": opts.guests, "hosts": list(opts.hosts), "on": opts.on, "mode": opts.mode,
            "kernel_probe": bool(opts.kernel_probe), "reflector": opts.reflector,
            "load": opts.load, "load_on": opts.load_on, "mem_mb": opts.mem_mb,
            "accel": opts.accel}


def healthy(lab):
    if not rack.link_exists(config.BRIDGE):
        return False
    for g in lab["guests"].values():
        if g.get("status", "active") != "active":
            continue  # a server the lab cloud is booting
        if lab["mode"] == "qemu" and not qemu.running(g["name"], g["host"]):
            return False
        if lab["mode"] == "netns" and config.guest_netns(g["index"]) not in rack.netns_list():
            return False
    return True


def _qemu_usable():
    return shutil.which(config.QEMU_BIN) is not None


def up(opts):
    """Brings the lab up as described by opts (see cli.py); returns the lab description."""
    if opts.on not in opts.hosts:
        raise LabError(f"--on {opts.on}: not one of the hosts ({', '.join(opts.hosts)})")
    if not 0 <= opts.guests <= config.MAX_GUESTS:
        raise LabError(f"--guests must be 0..{config.MAX_GUESTS} (0: the lab cloud boots "
                       "servers on demand)")
    if len(opts.hosts) > 26 or len(set(opts.hosts)) != len(opts.hosts):
        raise LabError("--hosts: 1 to 26 distinct names")
    want = settings_of(opts)
    with state.locked():
        lab = state.load()
        if lab is not None:
            if lab.get("settings") == want and healthy(lab):
                log(f"lab already up ({len(lab['guests'])} guests, mode {lab['mode']})")
                return lab
            if lab.get("settings") != want:
                raise LabError("a lab is already up with other settings; run "
                               "`migprobe-lab down` first (state dir "
                               f"{config.state_dir()})")
            log("lab is up but not healthy: rebuilding it")
        _teardown_locked()
        try:
            lab = _build(opts, want)
            state.save(lab)
            return lab
        except BaseException:
            log("bring-up failed or was interrupted: removing what it created")
            _teardown_locked()
            raise


def _build(opts, want):
    lab = {"settings": want, "hosts": list(opts.hosts), "guests": {},
           "state_dir": config.state_dir(), "created_ns": time.time_ns()}
    rack.ensure_bridge()
    rack.ensure_probe_veth()
    if opts.kernel_probe:
        rack.ensure_kernel_probe()
    load_mb = load_pps = 0
    if opts.load:
        load_mb, load_pps = opts.load
    load_on = set(opts.load_on.split(",")) if opts.load_on else None
    for n in range(1, opts.guests + 1):
        loaded = load_on is None or config.guest_name(n) in load_on
        lab["guests"][config.guest_name(n)] = {
            "name": config.guest_name(n), "index": n, "ip": config.guest_ip(n),
            "mac": config.guest_mac(n), "host": opts.on,
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"migprobe-lab/{config.guest_name(n)}")),
            "load_mb": load_mb if loaded else 0, "load_pps": load_pps if loaded else 0,
            "mem_mb": opts.mem_mb}
    mode = opts.mode
    if mode == "auto":
        mode = "qemu" if _qemu_usable() else "netns"
        if mode == "netns":
            log(f"{config.QEMU_BIN} not found: using namespace guests (fallback)")
    elif mode == "qemu" and not _qemu_usable():
        raise LabError(f"--mode qemu: {config.QEMU_BIN} not found (run tools/install-deps)")
    if mode == "qemu":
        try:
            _boot_qemu_guests(lab, opts)
        except LabError as e:
            if opts.mode != "auto":
                raise
            log(f"QEMU guests did not boot ({e}); using namespace guests (fallback)")
            _stop_guest_processes()
            for g in lab["guests"].values():
                rack.del_link(config.port_name(lab["hosts"], g["host"], g["index"]))
            mode = "netns"
    if mode == "netns":
        lab["accel"] = None
        _start_netns_guests(lab, opts)
    lab["mode"] = mode
    return lab


def _boot_qemu_guests(lab, opts):
    lab["image"] = image.ensure_image(opts.reflector)
    accel = opts.accel
    if accel == "auto":
        accel = qemu.probe_accel(lab["image"])
    lab["accel"] = accel
    if not lab["guests"]:
        log(f"no guests yet (QEMU, {accel}): the lab cloud boots servers on demand")
        return
    log(f"booting {len(lab['guests'])} QEMU guests ({accel}) on {opts.on}")
    for g in lab["guests"].values():
        start_qemu_guest(lab, g)
    # Guests boot in parallel; wait for each one's READY marker on its serial log.
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    for g in lab["guests"].values():
        wait_guest_ready(g, max(deadline - time.monotonic(), 1))
    log("all guests ready")


def start_qemu_guest(lab, g):
    """Starts guest g's QEMU on its host (its tap on the bridge); does not wait for it."""
    tap = config.port_name(lab["hosts"], g["host"], g["index"])
    rack.add_tap(tap)
    qemu.start(lab, g, g["host"], tap)


def wait_guest_ready(g, timeout):
    if not qemu.wait_serial(g["name"], g["host"], qemu.READY, timeout):
        serial = qemu.files(g["name"], g["host"])["serial"]
        try:
            with open(serial, errors="replace") as f:
                last = [line.strip() for line in f.read().splitlines() if line.strip()][-2:]
        except OSError:
            last = []
        said = f"; its console's last words: {' | '.join(last)}" if last else ""
        how = ("stopped while it booted" if not qemu.running(g["name"], g["host"])
               else f"did not boot within {timeout:.0f}s")
        raise LabError(f"guest {g['name']} {how} (serial log {serial}){said}")


def _start_netns_guests(lab, opts):
    for g in lab["guests"].values():
        start_netns_guest(lab, g, opts.reflector)
    log(f"{len(lab['guests'])} namespace guests up on {opts.on}")


def start_netns_guest(lab, g, reflector=None):
    """Guest g as a namespace on its host's bridge port, with its echo, discard and (when
    given) reflector services."""
    discard = os.path.join(config.lab_dir(), "guest", "discard")
    port = config.port_name(lab["hosts"], g["host"], g["index"])
    ns = rack.add_guest_netns(g["index"], port, g["mac"], g["ip"])
    d = state.path("guests", g["name"])
    os.makedirs(d, exist_ok=True)
    services = {"echo": ["busybox", "nc", "-ll", "-p", "7", "-e", "cat"],
                "discard": ["busybox", "nc", "-ll", "-p", "9", "-e", discard]}
    if reflector:
        services["reflector"] = [reflector]
    for svc, argv in services.items():
        spawn(["ip", "netns", "exec", ns, *argv], os.path.join(d, f"netns-{svc}.pid"),
              os.path.join(d, f"netns-{svc}.log"))


def stop_guest(lab, g):
    """Stops guest g wherever it runs and removes its bridge ports and namespace (a server
    deleted through the lab cloud)."""
    d = state.path("guests", g["name"])
    if os.path.isdir(d):
        _stop_processes_of(g["name"], d)
    ns = config.guest_netns(g["index"])
    if lab["mode"] == "netns" and ns in rack.netns_list():
        _stop_netns_processes(ns)
        run(["ip", "netns", "delete", ns], check=False)
    for host in lab["hosts"]:
        rack.del_link(config.port_name(lab["hosts"], host, g["index"]))
    # Its logs stay (the serial console tells a guest kernel's failure after the fact), in
    # deleted/NAME-UUID8/; the rest goes, and its name is free for the next server.
    if os.path.isdir(d):
        kept = state.path("deleted", f"{g['name']}-{g['uuid'][:8]}")
        shutil.rmtree(kept, ignore_errors=True)
        os.makedirs(os.path.dirname(kept), exist_ok=True)
        for f in os.listdir(d):
            if not f.endswith((".serial", ".log")):
                os.unlink(os.path.join(d, f))
        os.rename(d, kept)


def _stop_processes_of(name, d):
    """Stops what a guest's pid files in d name: its QEMUs, or its namespace services."""
    for f in os.listdir(d):
        if f.endswith(".pid"):
            if f.startswith("netns-"):
                stop_pidfile(os.path.join(d, f), grace=1.0)
            else:
                qemu.stop(name, f[:-4], grace=2.0)


def _stop_netns_processes(ns):
    cp = run(["ip", "netns", "pids", ns], check=False)
    for p in cp.stdout.split():
        stop_pid(int(p), grace=1.0)


def _stop_guest_processes():
    gdir = state.path("guests")
    if os.path.isdir(gdir):
        for name in os.listdir(gdir):
            _stop_processes_of(name, os.path.join(gdir, name))
    # Strays: any QEMU whose pid file lives in this state dir (e.g. an interrupted start).
    marker = os.path.join(config.state_dir(), "guests") + "/"
    for pid in pids_with_marker(marker):
        if config.QEMU_BIN in (cmdline(pid) or ""):
            stop_pid(pid, marker, grace=1.0)
    # Anything still running inside the lab's namespaces was started by the lab.
    for ns in rack.netns_list():
        if config.NETNS_RE.match(ns):
            _stop_netns_processes(ns)


def _stop_cloud():
    stop_pidfile(state.path("cloud.pid"), marker="migprobe", grace=3.0)


def _teardown_locked():
    _stop_cloud()
    _stop_guest_processes()
    rack.teardown()
    for f in ("lab.json",):
        try:
            os.unlink(state.path(f))
        except FileNotFoundError:
            pass


def down(purge=False):
    """Removes everything the lab created. With purge, also the state dir (logs, truth)."""
    with state.locked():
        _teardown_locked()
    if purge:
        shutil.rmtree(config.state_dir(), ignore_errors=True)


def status():
    lab = state.load()
    if lab is None:
        return None
    out = dict(lab)
    out["healthy"] = healthy(lab)
    for g in out["guests"].values():
        if lab["mode"] == "qemu":
            pidf = qemu.files(g["name"], g["host"])["pid"]
            g["pid"] = read_pid(pidf)
            g["running"] = alive(g["pid"], pidf)
        else:
            g["running"] = config.guest_netns(g["index"]) in rack.netns_list()
    pid = read_pid(state.path("cloud.pid"))
    out["cloud"] = {"pid": pid, "running": alive(pid, "migprobe")}
    if out["cloud"]["running"]:
        try:
            with open(state.path("cloud.url")) as f:
                out["cloud"]["url"] = f.read().strip()
        except OSError:
            pass
    return out


def install_signal_handlers():
    """SIGTERM and SIGHUP behave like Ctrl-C, so bring-up cleans up after itself."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)
