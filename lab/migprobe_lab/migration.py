"""One live migration of a lab guest, carried out for real, with its ground truth.

QEMU guests: a destination QEMU on the target host's tap with -incoming, `migrate` over
QMP, completion from the MIGRATION event (events=on), QEMU's own downtime / total time and
the STOP (source) and RESUME (destination) event timestamps, then the source is retired.
Namespace guests (fallback): an outage of chosen length (bridge port down, renamed to the
target host's port, up again; both edges timestamped around in-process netlink calls)
followed by QEMU's RARP announce from the guest's MAC.

A Migration object can be driven from another thread: progress(), abort() and
force_complete() are what the lab cloud's Nova API needs.
"""

import socket
import threading
import time

from . import config, netlink, qemu, rack, rarp, state, truth
from .proc import LabError
from .qmp import Qmp, QmpError, event_ns

FINAL = ("completed", "failed", "cancelled")


class Parameters:
    """What the caller asked for; recorded as is in the ground truth."""

    def __init__(self, downtime_limit_ms=None, bandwidth_mibps=None, auto_converge=False,
                 postcopy=False, outage_ms=200, timeout_s=300, inject_failure=None):
        self.downtime_limit_ms = downtime_limit_ms
        self.bandwidth_mibps = bandwidth_mibps
        self.auto_converge = auto_converge
        self.postcopy = postcopy
        self.outage_ms = outage_ms
        self.timeout_s = timeout_s
        # None; "dest-crash": the destination QEMU is killed mid-migration (a real failure);
        # "dest-start": the destination is reported as failing to start.
        self.inject_failure = inject_failure

    def as_dict(self):
        return dict(vars(self))


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Migration:
    def __init__(self, guest_name, dest_host, params=None, migration_id=None):
        self.guest_name = guest_name
        self.dest_host = dest_host
        self.params = params or Parameters()
        self.migration_id = migration_id
        self.status = "queued"  # queued, preparing, running, postcopy, completed, failed, cancelled
        self.error = None
        self.record = None
        self.source_host = None
        self._ram = {}
        self._abort = threading.Event()
        self._force = threading.Event()
        self._forced_pause = False
        self._interrupted = False
        self._lock = threading.Lock()
        self.done = threading.Event()

    # --- control from other threads -------------------------------------------------------
    def abort(self):
        self._abort.set()

    def force_complete(self):
        self._force.set()

    def progress(self):
        with self._lock:
            return dict(self._ram)

    # --- the work ---------------------------------------------------------------------------
    def run(self):
        """Carries the migration out; returns the ground-truth record (also journaled)."""
        try:
            with state.guest_lock(self.guest_name) as free:
                if not free:
                    raise LabError(f"{self.guest_name} is already migrating")
                lab = state.load()
                if lab is None:
                    raise LabError("no lab is up (run: migprobe-lab up)")
                guest = lab["guests"].get(self.guest_name)
                if guest is None:
                    raise LabError(f"no guest named {self.guest_name!r} "
                                   f"(guests: {', '.join(sorted(lab['guests']))})")
                if self.dest_host not in lab["hosts"]:
                    raise LabError(f"unknown host {self.dest_host!r} "
                                   f"(hosts: {', '.join(lab['hosts'])})")
                self.source_host = guest["host"]
                if self.dest_host == self.source_host:
                    raise LabError(f"{self.guest_name} is already on {self.dest_host}")
                rec = {"instance": guest["name"], "uuid": guest["uuid"], "ip": guest["ip"],
                       "mac": guest["mac"], "source_host": self.source_host,
                       "dest_host": self.dest_host, "kind": lab["mode"],
                       "migration_id": self.migration_id,
                       "parameters": self.params.as_dict(), "requested_ns": time.time_ns()}
                if lab["mode"] == "qemu":
                    self._run_qemu(lab, guest, rec)
                else:
                    self._run_netns(lab, guest, rec)
                self.record = truth.append(rec)
                if self._interrupted:
                    raise KeyboardInterrupt
                return self.record
        except BaseException as e:
            if self.status not in FINAL:
                self.status = "failed"
                self.error = str(e)
            raise
        finally:
            self.done.set()

    def _set_host(self, host):
        with state.locked():
            lab = state.load()
            lab["guests"][self.guest_name]["host"] = host
            state.save(lab)

    def _finish(self, rec, status, error=None):
        self.status = status
        self.error = error
        rec["status"] = status
        rec["error"] = error
        rec.setdefault("completed_ns", time.time_ns())

    # --- QEMU -------------------------------------------------------------------------------
    def _run_qemu(self, lab, guest, rec):
        name, src, dst = guest["name"], self.source_host, self.dest_host
        if not qemu.running(name, src):
            raise LabError(f"{name}: its QEMU on {src} is not running")
        dst_tap = config.port_name(lab["hosts"], dst, guest["index"])
        src_tap = config.port_name(lab["hosts"], src, guest["index"])
        self.status = "preparing"
        port = _free_port()
        rec["migration_port"] = port
        rack.add_tap(dst_tap)
        try:
            if self.params.inject_failure == "dest-start":
                raise LabError("injected failure: the destination QEMU was not started")
            qemu.start(lab, guest, dst, dst_tap, incoming_port=port)
        except LabError as e:
            rack.del_link(dst_tap)
            self._finish(rec, "failed", f"destination did not start: {e}")
            return
        qs = qd = None
        try:
            qd = Qmp(qemu.files(name, dst)["qmp"])
            qs = Qmp(qemu.files(name, src)["qmp"])
            caps = [{"capability": "events", "state": True}]
            dcaps = list(caps)
            if self.params.postcopy:
                dcaps.append({"capability": "postcopy-ram", "state": True})
            qd.cmd("migrate-set-capabilities", capabilities=dcaps)
            scaps = caps + [{"capability": "auto-converge", "state": bool(self.params.auto_converge)},
                            {"capability": "postcopy-ram", "state": bool(self.params.postcopy)}]
            qs.cmd("migrate-set-capabilities", capabilities=scaps)
            p = {}
            if self.params.downtime_limit_ms is not None:
                p["downtime-limit"] = int(self.params.downtime_limit_ms)
            if self.params.bandwidth_mibps is not None:
                p["max-bandwidth"] = int(self.params.bandwidth_mibps * 1024 * 1024)
            if p:
                qs.cmd("migrate-set-parameters", **p)
            # What QEMU will really use, read back (defaults included).
            eff = qs.cmd("query-migrate-parameters") or {}
            rec["qemu_parameters"] = {
                "downtime_limit_ms": eff.get("downtime-limit"),
                "max_bandwidth_bytes_per_s": eff.get("max-bandwidth"),
                "capabilities": sorted(c["capability"] for c in qs.cmd("query-migrate-capabilities")
                                       if c["state"])}
            qs.events.clear()
            qd.events.clear()
            rec["started_ns"] = time.time_ns()
            qs.cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
            self.status = "running"
            if self.params.postcopy:
                qs.cmd("migrate-start-postcopy")
            if self.params.inject_failure == "dest-crash":
                # A real failure: the destination dies while the source is sending.
                qemu.kill(name, dst)
            status, err = self._wait_qemu(qs, qd)
            if status == "completed":
                self._complete_qemu(qs, qd, rec)
        except (QmpError, OSError) as e:
            status, err = "failed", f"QMP: {e}"
        except KeyboardInterrupt:
            # Ctrl-C: cancel, put everything back, journal it, then let it propagate.
            self._interrupted = True
            status, err = "cancelled", "interrupted (SIGINT/SIGTERM)"
            try:
                if qs:
                    qs.cmd("migrate_cancel", timeout=2.0)
            except (QmpError, OSError):
                pass
        if status == "completed":
            for q in (qs, qd):
                q.close()
            qemu.stop(name, src)
            rack.del_link(src_tap)
            self._set_host(dst)
            self._finish(rec, "completed")
            return
        # Failed or cancelled: the guest stays (or resumes) on its source.
        for q in (qs, qd):
            if q:
                q.close()
        qemu.stop(name, dst, grace=1.0)
        rack.del_link(dst_tap)
        self._resume_source(name, src)
        rec["completed_ns"] = time.time_ns()
        self._finish(rec, status, err)

    def _wait_qemu(self, qs, qd):
        deadline = time.monotonic() + self.params.timeout_s
        next_query = 0.0
        forced = False
        while True:
            qs.poll_events(0.05)
            ev = qs.find_event("MIGRATION", lambda e: e["data"]["status"] in FINAL)
            if ev is not None:
                st = ev["data"]["status"]
                if st == "completed":
                    return "completed", None
                if st == "cancelled":
                    return "cancelled", "cancelled on request"
                info = self._query(qs)
                return "failed", info.get("error-desc", "migration failed (QEMU gave no reason)")
            if qs.find_event("MIGRATION", lambda e: e["data"]["status"] == "postcopy-active"):
                self.status = "postcopy"
            now = time.monotonic()
            if now >= next_query:
                self._query(qs)
                next_query = now + 0.2
            if self._abort.is_set():
                self._abort.clear()
                qs.cmd("migrate_cancel")
            if self._force.is_set() and not forced:
                forced = True
                if self.params.postcopy:
                    # Already switched to post-copy at start: nothing more to force.
                    pass
                else:
                    # As Nova's libvirt driver does without post-copy: pause the guest so
                    # the remaining pages converge; the destination is resumed after.
                    qs.cmd("stop")
                    self._forced_pause = True
            if now > deadline:
                qs.cmd("migrate_cancel")
                self.error = f"timed out after {self.params.timeout_s}s"
                deadline = float("inf")

    def _query(self, qs):
        info = qs.cmd("query-migrate") or {}
        ram = info.get("ram") or {}
        if ram:
            with self._lock:
                self._ram = {"total": ram.get("total", 0), "transferred": ram.get("transferred", 0),
                             "remaining": ram.get("remaining", 0),
                             "dirty_sync_count": ram.get("dirty-sync-count", 0)}
        return info

    def _complete_qemu(self, qs, qd, rec):
        done_ev = qs.find_event("MIGRATION", lambda e: e["data"]["status"] == "completed")
        rec["completed_ns"] = event_ns(done_ev)
        stop_ev = qs.find_event("STOP")
        resume_ev = None
        if self._forced_pause:
            # A guest paused on its source arrives paused: QEMU does not start it, libvirt
            # does (it resumes the domain on the destination as soon as the incoming side
            # has loaded it). `cont` is refused while the destination still loads: asked
            # again every 50 ms. (Waiting 10 s for QEMU to resume it, as before, cost every
            # forced migration 10 s of pause.)
            deadline = time.monotonic() + 10.0
            while resume_ev is None and time.monotonic() < deadline:
                try:
                    qd.cmd("cont", timeout=5.0)
                except QmpError:
                    pass
                resume_ev = qd.wait_event("RESUME", timeout=0.05)
        if resume_ev is None:
            resume_ev = qd.wait_event("RESUME", timeout=10.0)
        if resume_ev is None:
            raise QmpError("destination never resumed after the migration completed")
        # query-migrate can read 0 for downtime/total-time just after completion: poll.
        info = {}
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            info = qs.cmd("query-migrate") or {}
            if info.get("downtime") and info.get("total-time"):
                break
            time.sleep(0.05)
        ram = info.get("ram") or {}
        rec.update({
            "downtime_ms": info.get("downtime"), "total_time_ms": info.get("total-time"),
            "setup_time_ms": info.get("setup-time"),
            "stop_ns": event_ns(stop_ev) if stop_ev else None,
            "resume_ns": event_ns(resume_ev) if resume_ev else None,
            "ram": {"total_bytes": ram.get("total"), "transferred_bytes": ram.get("transferred"),
                    "dirty_sync_count": ram.get("dirty-sync-count"),
                    "postcopy_requests": ram.get("postcopy-requests")},
        })
        if rec["stop_ns"] and rec["resume_ns"]:
            rec["pause_ms"] = (rec["resume_ns"] - rec["stop_ns"]) / 1e6
        with self._lock:
            self._ram["remaining"] = 0
            self._ram["transferred"] = ram.get("transferred", self._ram.get("transferred", 0))

    def _resume_source(self, name, src):
        try:
            q = Qmp(qemu.files(name, src)["qmp"], timeout=5.0)
            try:
                if q.cmd("query-status").get("status") != "running":
                    q.cmd("cont")
            finally:
                q.close()
        except (QmpError, OSError) as e:
            self.error = f"{self.error or ''}; could not resume source: {e}".lstrip("; ")

    # --- namespace fallback -----------------------------------------------------------------
    def _run_netns(self, lab, guest, rec):
        hosts = lab["hosts"]
        old = config.port_name(hosts, self.source_host, guest["index"])
        new = config.port_name(hosts, self.dest_host, guest["index"])
        if self.params.inject_failure:
            rec["completed_ns"] = time.time_ns()
            self._finish(rec, "failed", f"injected failure: {self.params.inject_failure}")
            return
        outage_ns = int(self.params.outage_ms * 1_000_000)
        rtnl = netlink.Rtnl()
        self.status = "running"
        rec["started_ns"] = time.time_ns()
        try:
            t0 = time.time_ns()
            rtnl.set_link_up(old, False)
            t1 = time.time_ns()
            netlink.rename_link(rtnl, old, new)
            # The rename happens inside the outage; sleep out the rest of it.
            rest = outage_ns - (time.time_ns() - t1)
            end = time.monotonic() + max(rest, 0) / 1e9
            while not self._abort.is_set():
                left = end - time.monotonic()
                if left <= 0:
                    break
                time.sleep(min(left, 0.01))
            cancelled = self._abort.is_set()
            if cancelled:
                # Aborted mid-outage: the guest comes back on its source port.
                netlink.rename_link(rtnl, new, old)
                new = old
            t2 = time.time_ns()
            rtnl.set_link_up(new, True)
            t3 = time.time_ns()
        finally:
            rtnl.close()
        if cancelled:
            rec.update({"stop_ns": t0, "resume_ns": t3, "completed_ns": t3,
                        "outage_edges_ns": {"down_before": t0, "down_after": t1,
                                            "up_before": t2, "up_after": t3}})
            self._finish(rec, "cancelled", "cancelled on request")
            return
        self._set_host(self.dest_host)
        th, sent = rarp.announce(config.guest_netns(guest["index"]), "eth0", guest["mac"])
        th.join(2.0)
        rec.update({
            "stop_ns": t0, "resume_ns": t3,
            "outage_edges_ns": {"down_before": t0, "down_after": t1, "up_before": t2, "up_after": t3},
            "downtime_ms": round((t2 - t1) / 1e6), "pause_ms": (t2 - t1) / 1e6,
            "total_time_ms": round((t3 - rec["requested_ns"]) / 1e6),
            "announce_ns": [s for s in sent if isinstance(s, int)],
            "completed_ns": t3,
        })
        with self._lock:
            self._ram = {"total": 0, "transferred": 0, "remaining": 0}
        self._finish(rec, "completed")
