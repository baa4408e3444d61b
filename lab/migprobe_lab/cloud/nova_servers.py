"""Servers the lab cloud boots and deletes: POST /servers (one server a request) with admin
host targeting (the `host` field from microversion 2.74, availability_zone "nova:HOST"
before), and DELETE /servers/{id}.

A server becomes a lab guest: the next free guest index gives it its address, MAC and bridge
port on lab-net. In QEMU mode it boots the lab's kernel with the server's Glance image as
its initramfs (what `migprobe-lab image` prints: an image that is not one boots nothing and
the server goes to ERROR with the guest's own words); in namespace mode the image is
recorded and a namespace guest starts. Every server gets the lab's guest size (`up
--mem-mb`, one vCPU) whatever its flavor says: the flavor is recorded and shown. Metadata
key `migprobe_load` ("MB,PAGES_PER_SECOND") starts the guest's memory-dirtying load, as a
real guest would read its metadata at boot.

Nova's checks and answers: 400 for a bad body, an unknown image, flavor, key pair, network or
security group, or (2.74+) an unknown host; 403 "Quota exceeded for ..." against the fault
plan's quota (default: the lab's 60 guests); a server that cannot be placed or booted goes to
ERROR with Nova's fault ("No valid host was found. ..."). The fault plan's "boots" entries
make the nth boot of a server fail (see faults.py)."""

import base64
import os
import re
import secrets
import shutil
import threading
import time
import uuid

from .. import config, lab as lab_mod, state
from ..proc import LabError
from .keystone import PROJECT_ID
from .neutron import NETWORK_ID
from .rest import ApiError

BUILD_TIMEOUT_S = 120
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
_ALLOWED = {"name", "imageRef", "flavorRef", "networks", "key_name", "security_groups",
            "metadata", "availability_zone", "min_count", "max_count", "adminPass",
            "accessIPv4", "accessIPv6", "OS-DCF:diskConfig", "user_data", "config_drive",
            "description", "tags", "host", "hypervisor_hostname", "block_device_mapping_v2",
            "return_reservation_id", "personality"}
_LOAD = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*$")


def _bad(field, value):
    return ApiError(400, f"Invalid input for field/attribute {field}. Value: {value}.")


class Servers:
    """Creates and deletes servers; World lists them (lab guests plus the servers that went
    to ERROR before they had one)."""

    def __init__(self, world, images, groups):
        self.world = world
        self.images = images
        self.groups = groups
        self.lock = threading.Lock()
        self.failed = {}  # server uuid -> server record (ERROR, no guest)

    # --- create -----------------------------------------------------------------------------
    def create(self, body, req):
        v = req.microversion
        s = body.get("server") if isinstance(body, dict) else None
        if not isinstance(s, dict):
            raise ApiError(400, "Invalid input for field/attribute server.")
        allowed = set(_ALLOWED)
        if v < (2, 74):
            allowed -= {"host", "hypervisor_hostname"}
        if v < (2, 52):
            allowed.discard("tags")
        if v < (2, 19):
            allowed.discard("description")
        for k in s:
            if k not in allowed:
                raise ApiError(400, f"Additional properties are not allowed ('{k}' was "
                                    "unexpected)")
        name = s.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise _bad("name", name)
        for k in ("min_count", "max_count"):
            if k in s and str(s[k]) != "1":
                raise ApiError(400, f"{k} {s[k]}: the lab cloud boots one server a request")
        image = self._image(s.get("imageRef"))
        flavor = self._flavor(s.get("flavorRef"))
        self._network(s.get("networks"), v)
        key_name = s.get("key_name")
        if key_name is not None:
            try:
                self.world.keypairs.get(key_name)
            except ApiError:
                raise ApiError(400, "Invalid key_name provided.")
        groups = self._groups(s.get("security_groups"))
        metadata = s.get("metadata", {})
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(x, str) and 0 < len(k) <= 255 and len(x) <= 255
                for k, x in metadata.items()):
            raise _bad("metadata", metadata)
        load = None
        if "migprobe_load" in metadata:
            m = _LOAD.match(metadata["migprobe_load"])
            if not m or int(m.group(1)) <= 0:
                raise ApiError(400, f"metadata migprobe_load {metadata['migprobe_load']!r}: "
                                    "expected MB,PAGES_PER_SECOND (e.g. 8,100000)")
            load = (int(m.group(1)), int(m.group(2)))
        if s.get("user_data") is not None:
            try:
                base64.b64decode(s["user_data"], validate=True)
            except (ValueError, TypeError):
                raise ApiError(400, "User data needs to be valid base 64.")
        tags = s.get("tags", [])
        if not isinstance(tags, list) or len(tags) > 50 or not all(
                isinstance(t, str) and 0 < len(t) <= 60 and "," not in t and "/" not in t
                for t in tags):
            raise _bad("tags", tags)
        lab = self.world.lab()
        host, forced = self._host(s, v, lab)
        self._quota(flavor)
        sid = str(uuid.uuid4())
        now = time.time()
        record = {"uuid": sid, "display_name": name, "flavor": dict(flavor),
                  "image_id": image["id"], "key_name": key_name, "metadata": dict(metadata),
                  "tags": list(tags), "security_groups": groups, "created_at": now,
                  "updated_at": now, "status": "building", "host": None, "fault": None,
                  "description": s.get("description")}
        fault = self.world.faults.boot_fault(name)
        action = self.world.new_action(sid, "create", req.request_id, now)
        with self.lock:
            self.failed[sid] = record  # listed as BUILD until it has a guest
        threading.Thread(target=self._boot, args=(record, image, host, forced, load, fault,
                                                  action), daemon=True).start()
        return {"id": sid, "links": self.world.links(req, sid), "OS-DCF:diskConfig": "MANUAL",
                "security_groups": [{"name": g} for g in groups],
                "adminPass": s.get("adminPass") or secrets.token_urlsafe(9)}

    def _image(self, ref):
        if not isinstance(ref, str) or not ref:
            raise _bad("imageRef", ref)
        try:
            img = self.images.get(ref)
        except ApiError:
            raise ApiError(400, f"Image {ref} could not be found.")
        if img["status"] != "active":
            raise ApiError(400, f"Image {ref} is not active.")
        return img

    def _flavor(self, ref):
        ref = str(ref) if isinstance(ref, (str, int)) and not isinstance(ref, bool) else None
        if not ref:
            raise ApiError(400, "Invalid flavorRef provided.")
        for f in self.world.flavors.all():
            if f["id"] == ref:
                return f
        raise ApiError(400, f"Flavor {ref} could not be found.")

    @staticmethod
    def _network(networks, v):
        if networks is None:
            if v >= (2, 37):
                raise ApiError(400, "Invalid input for field/attribute server. 'networks' is "
                                    "a required property")
            return
        if networks in ("auto",):
            return
        if networks == "none":
            raise ApiError(400, "networks none: every lab server is on lab-net (the lab bridge)")
        if not isinstance(networks, list) or len(networks) != 1 or not isinstance(
                networks[0], dict):
            raise ApiError(400, "networks: the lab cloud has one network; give [{\"uuid\": "
                                f"\"{NETWORK_ID}\"}} or \"auto\"")
        net = networks[0].get("uuid")
        if net != NETWORK_ID:
            raise ApiError(400, f"Network {net} could not be found.")

    def _groups(self, wanted):
        if wanted is None:
            return ["default"]
        if not isinstance(wanted, list) or not all(isinstance(g, dict) and "name" in g
                                                   for g in wanted):
            raise _bad("security_groups", wanted)
        known = {}
        for g in self.groups.all():
            known[g["name"]] = g
            known[g["id"]] = g
        out = []
        for g in wanted:
            if g["name"] not in known:
                raise ApiError(400, f"Security group {g['name']} not found for project "
                                    f"{PROJECT_ID}.")
            out.append(known[g["name"]]["name"])
        return out

    @staticmethod
    def _host(s, v, lab):
        """(host, forced): the host asked for, or the scheduler's choice (the lab's --on
        host)."""
        if v >= (2, 74) and ("host" in s or "hypervisor_hostname" in s):
            host = s.get("host") or s.get("hypervisor_hostname")
            if host not in lab["hosts"]:
                raise ApiError(400, f"Compute host {host} could not be found.")
            if s.get("hypervisor_hostname") and s["hypervisor_hostname"] != host:
                raise ApiError(400, f"Compute host {s['hypervisor_hostname']} could not be "
                                    "found.")
            return host, True
        az = s.get("availability_zone")
        if az is not None:
            if not isinstance(az, str):
                raise _bad("availability_zone", az)
            parts = az.split(":")
            if parts[0] not in ("", "nova"):
                raise ApiError(400, "The requested availability zone is not available")
            if len(parts) > 1 and parts[1]:
                return parts[1], True  # forced host: an unknown one fails in the scheduler
        return lab["settings"].get("on") or lab["hosts"][0], False

    def _quota(self, flavor):
        quota = self.world.faults.quota()
        used = self.world.servers()
        asked = {"instances": 1, "cores": flavor["vcpus"], "ram": flavor["ram"]}
        have = {"instances": len(used),
                "cores": sum((s.get("flavor") or {}).get("vcpus", 1) for s in used),
                "ram": sum((s.get("flavor") or {}).get("ram", s.get("mem_mb", 128)) for s in used)}
        limits = {"instances": config.MAX_GUESTS}
        limits.update(quota)
        for res in ("instances", "cores", "ram"):
            if res in limits and have[res] + asked[res] > limits[res]:
                raise ApiError(403, f"Quota exceeded for {res}: Requested {asked[res]}, but "
                                    f"already used {have[res]} of {limits[res]} {res}")

    # --- the build --------------------------------------------------------------------------
    def _boot(self, record, image, host, forced, load, fault, action):
        ev = self.world.event_start(action, "compute__do_build_and_run_instance", host)
        guest = None
        try:
            lab = self.world.lab()
            if fault == "no-valid-host" or host not in lab["hosts"]:
                self._error(record, NO_VALID_HOST, action, ev, host=None)
                return
            guest = self._add_guest(record, host, load)
            if fault == "error":
                raise LabError("Build of instance {} aborted: injected fault (lab cloud)"
                               .format(record["uuid"]))
            if lab["mode"] == "qemu":
                src = self.images.data_path(image["id"])
                if src is None:
                    raise LabError(f"image {image['id']} has no data")
                os.makedirs(state.path("guests", guest["name"]), exist_ok=True)
                initrd = state.path("guests", guest["name"], "image")
                shutil.copyfile(src, initrd)
                self._set_guest(guest["name"], initrd=initrd)
                guest["initrd"] = initrd
                lab_mod.start_qemu_guest(lab, guest)
                lab_mod.wait_guest_ready(guest, BUILD_TIMEOUT_S)
            else:
                lab_mod.start_netns_guest(lab, guest, lab["settings"].get("reflector"))
            self._set_guest(guest["name"], status="active", launched_at=time.time())
            self.world.event_end(action, ev, True)
        except Exception as e:  # any failure: ERROR with the reason, the guest removed
            msg = str(e) if isinstance(e, LabError) else f"lab cloud: {e}"
            # ERROR first (listed from here while its guest goes), so it is never missing.
            self._error(record, msg, action, ev, host=host)
            if guest is not None:
                try:
                    lab_mod.stop_guest(self.world.lab(), guest)
                finally:
                    self._remove_guest(guest["name"])

    def _error(self, record, message, action, ev, host):
        now = time.time()
        with self.lock:
            record.update(status="error", host=host, updated_at=now,
                          fault={"code": 500, "created": now, "message": message})
            self.failed[record["uuid"]] = record
        self.world.event_end(action, ev, False, message)

    def _add_guest(self, record, host, load):
        with state.locked():
            lab = state.load()
            used = {g["index"] for g in lab["guests"].values()}
            free = [n for n in range(1, config.MAX_GUESTS + 1) if n not in used]
            if not free:
                raise LabError(NO_VALID_HOST)
            n = free[0]
            g = {"name": config.guest_name(n), "index": n, "ip": config.guest_ip(n),
                 "mac": config.guest_mac(n), "host": host, "uuid": record["uuid"],
                 "load_mb": load[0] if load else 0, "load_pps": load[1] if load else 0,
                 "mem_mb": lab["settings"].get("mem_mb") or 128}
            g.update({k: record[k] for k in ("display_name", "flavor", "image_id", "key_name",
                                              "metadata", "tags", "security_groups",
                                              "created_at", "description")})
            g["status"] = "building"
            lab["guests"][g["name"]] = g
            state.save(lab)
        with self.lock:
            self.failed.pop(record["uuid"], None)  # listed from lab.json from now on
        return dict(g)

    @staticmethod
    def _set_guest(name, **kw):
        with state.locked():
            lab = state.load()
            if name in lab["guests"]:
                lab["guests"][name].update(kw)
                state.save(lab)

    @staticmethod
    def _remove_guest(name):
        with state.locked():
            lab = state.load()
            if lab is not None and lab["guests"].pop(name, None) is not None:
                state.save(lab)

    # --- delete -----------------------------------------------------------------------------
    def delete(self, sid, req):
        with self.lock:
            if sid in self.failed and self.failed[sid]["status"] == "error":
                del self.failed[sid]
                self.world.new_action(sid, "delete", req.request_id, time.time())
                return
        s = self.world.server(sid)  # 404 when unknown
        if s["task_state"] == "migrating":
            raise ApiError(409, f"Cannot 'delete' instance {sid} while it is in task_state "
                                "migrating")
        if not self.world.begin_task(sid, "deleting"):
            raise ApiError(409, f"Cannot 'delete' instance {sid} while it is in task_state "
                                f"{self.world.task_state.get(sid)}")
        action = self.world.new_action(sid, "delete", req.request_id, time.time())
        threading.Thread(target=self._delete, args=(s, action), daemon=True).start()

    def _delete(self, s, action):
        ev = self.world.event_start(action, "compute_terminate_instance", s["host"])
        try:
            # A server still booting is deleted once its boot has ended (as Nova's compute
            # host does: the build is aborted, here it is waited for).
            deadline = time.monotonic() + BUILD_TIMEOUT_S + 30
            while time.monotonic() < deadline and self._building(s["uuid"]):
                time.sleep(0.2)
            with self.lock:
                r = self.failed.get(s["uuid"])
                if r is not None and r["status"] == "error":
                    del self.failed[s["uuid"]]
            s = self.world.server(s["uuid"]) if self._exists(s["uuid"]) else s
            lab = self.world.lab()
            guest = lab["guests"].get(s["lab_name"])
            if guest is not None:
                lab_mod.stop_guest(lab, guest)
                self._remove_guest(s["lab_name"])
            self.world.event_end(action, ev, True)
        except Exception as e:
            self.world.event_end(action, ev, False, f"lab cloud: {e}")
        finally:
            self.world.end_task(s["uuid"])

    def _building(self, sid):
        with self.lock:
            r = self.failed.get(sid)
            if r is not None and r["status"] == "building":
                return True
        lab = self.world.lab()
        return any(g["uuid"] == sid and g.get("status") == "building"
                   for g in lab["guests"].values())

    def _exists(self, sid):
        try:
            self.world.server(sid)
            return True
        except ApiError:
            return False

    def listed(self):
        """Servers without a guest (BUILD before one is allotted, or ERROR)."""
        with self.lock:
            return [dict(r) for r in self.failed.values()]
