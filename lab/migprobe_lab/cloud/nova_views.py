"""JSON views of Nova resources per microversion, shaped like the API samples."""

import datetime
import hashlib

from .keystone import PROJECT_ID

IMAGE_ID = "70a599e0-31e7-49b7-b260-868f441e862b"
FLAVOR_ID = "1"


def ts(t):
    """Nova's timestamp format for migrations and actions: naive, microseconds."""
    return datetime.datetime.utcfromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%S.%f")


def ts_z(t):
    """Servers' created/updated: seconds and a Z."""
    return datetime.datetime.utcfromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_id(host):
    return hashlib.sha224((PROJECT_ID + host).encode()).hexdigest()


def links(base, path):
    return [{"href": f"{base}/compute/v2.1/{path}", "rel": "self"},
            {"href": f"{base}/compute/{path}", "rel": "bookmark"}]


_STATUS = {"building": ("BUILD", "building", 0), "active": ("ACTIVE", "active", 1),
           "error": ("ERROR", "error", 0)}


def server_status(s):
    if s.get("task_state") == "migrating":
        return "MIGRATING"
    return _STATUS[s.get("status", "active")][0]


def server(s, req, created, detail=True):
    """A server: a lab guest (from `up`, or booted by the cloud) or a server the cloud
    could not give a guest (BUILD, ERROR)."""
    v = req.microversion
    base = req.base_url
    out = {"id": s["uuid"], "links": links(base, f"servers/{s['uuid']}"), "name": s["name"]}
    if not detail:
        return out
    _, vm_state, power = _STATUS[s.get("status", "active")]
    status = server_status(s)
    created = s.get("created_at", created)
    flavor = s.get("flavor") or {"id": FLAVOR_ID, "name": "lab.tiny", "ram": s.get("mem_mb", 128),
                                 "vcpus": 1, "disk": 1, "swap": 0, "ephemeral": 0}
    image_id = s.get("image_id", IMAGE_ID)
    addresses = {}
    if s.get("ip"):
        addresses = {"lab-net": [{"addr": s["ip"], "version": 4, "OS-EXT-IPS:type": "fixed",
                                  "OS-EXT-IPS-MAC:mac_addr": s["mac"]}]}
    host = s.get("host")
    out.update({
        "accessIPv4": "", "accessIPv6": "",
        "addresses": addresses,
        "config_drive": "", "created": ts_z(created),
        "updated": ts_z(s.get("updated_at", created)),
        "hostId": host_id(host) if host else "",
        "image": {"id": image_id, "links": [{"href": f"{base}/compute/images/{image_id}",
                                             "rel": "bookmark"}]},
        "key_name": s.get("key_name"), "metadata": dict(s.get("metadata") or {}),
        "progress": 0,
        "OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": "nova" if host else "",
        "OS-EXT-STS:power_state": power, "OS-EXT-STS:task_state": s.get("task_state"),
        "OS-EXT-STS:vm_state": vm_state,
        "os-extended-volumes:volumes_attached": [],
        "OS-SRV-USG:launched_at": ts(s.get("launched_at", created)) if power else None,
        "OS-SRV-USG:terminated_at": None,
        "security_groups": [{"name": g} for g in s.get("security_groups", ["default"])],
        "status": status,
        "tenant_id": PROJECT_ID, "user_id": "admin",
        # Admin-only attributes (the lab's only user is an admin).
        "OS-EXT-SRV-ATTR:host": host, "OS-EXT-SRV-ATTR:hypervisor_hostname": host,
        "OS-EXT-SRV-ATTR:instance_name": f"instance-{s['index']:08x}" if s.get("index") else "",
    })
    if s.get("fault"):
        f = s["fault"]
        out["fault"] = {"code": f["code"], "created": ts_z(f["created"]),
                        "message": f["message"], "details": f.get("details", "")}
    if v >= (2, 47):
        out["flavor"] = {"disk": flavor["disk"], "ephemeral": flavor.get("ephemeral", 0),
                         "extra_specs": {}, "original_name": flavor["name"],
                         "ram": flavor["ram"], "swap": flavor.get("swap", 0) or 0,
                         "vcpus": flavor["vcpus"]}
    else:
        fid = flavor["id"]
        out["flavor"] = {"id": fid, "links": [{"href": f"{base}/compute/flavors/{fid}",
                                               "rel": "bookmark"}]}
    if v >= (2, 3):
        out.update({"OS-EXT-SRV-ATTR:reservation_id": f"r-{s['uuid'][:8]}",
                    "OS-EXT-SRV-ATTR:launch_index": 0, "OS-EXT-SRV-ATTR:kernel_id": "",
                    "OS-EXT-SRV-ATTR:ramdisk_id": "", "OS-EXT-SRV-ATTR:hostname": s["name"],
                    "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                    "OS-EXT-SRV-ATTR:user_data": None})
    if v >= (2, 9):
        out["locked"] = False
    if v >= (2, 16):
        out["host_status"] = "UP"
    if v >= (2, 19):
        out["description"] = s.get("description")
    if v >= (2, 26):
        out["tags"] = list(s.get("tags") or [])
    if v >= (2, 63):
        out["trusted_image_certificates"] = None
    if v >= (2, 71):
        out["server_groups"] = []
    if v >= (2, 73):
        out["locked_reason"] = None
    if v >= (2, 96):
        out["pinned_availability_zone"] = None
    return out


def _memory(mig):
    mem = mig.get("memory") or {}
    total = mem.get("total", 0)
    remaining = mem.get("remaining", 0)
    # libvirt's memProcessed is QEMU's ram "transferred": pages sent again after the guest
    # dirtied them count again (it can exceed the total), zero pages count little.
    processed = mem.get("transferred", max(total - remaining, 0))
    return {"memory_total_bytes": total, "memory_processed_bytes": processed,
            "memory_remaining_bytes": remaining, "disk_total_bytes": 0,
            "disk_processed_bytes": 0, "disk_remaining_bytes": 0}


def server_migration(mig, req):
    """GET /servers/{id}/migrations[/{mid}] (2.23+)."""
    v = req.microversion
    out = {"created_at": ts(mig["created_at"]), "dest_compute": mig["dest_compute"],
           "dest_host": mig["dest_host"], "dest_node": mig["dest_node"], "id": mig["id"],
           "server_uuid": mig["server_uuid"], "source_compute": mig["source_compute"],
           "source_node": mig["source_node"], "status": mig["status"],
           "updated_at": ts(mig["updated_at"])}
    out.update(_memory(mig))
    if v >= (2, 59):
        out["uuid"] = mig["uuid"]
    if v >= (2, 80):
        out["user_id"] = mig["user_id"]
        out["project_id"] = mig["project_id"]
    return out


def migration(mig, req, in_progress):
    """GET /os-migrations entries."""
    v = req.microversion
    out = {"created_at": ts(mig["created_at"]), "dest_compute": mig["dest_compute"],
           "dest_host": mig["dest_host"], "dest_node": mig["dest_node"], "id": mig["id"],
           "instance_uuid": mig["server_uuid"], "new_instance_type_id": mig["new_instance_type_id"],
           "old_instance_type_id": mig["old_instance_type_id"],
           "source_compute": mig["source_compute"], "source_node": mig["source_node"],
           "status": mig["status"], "updated_at": ts(mig["updated_at"])}
    if v >= (2, 23):
        out["migration_type"] = mig["migration_type"]
        if in_progress:
            out["links"] = links(req.base_url,
                                 f"servers/{mig['server_uuid']}/migrations/{mig['id']}")
    if v >= (2, 59):
        out["uuid"] = mig["uuid"]
    if v >= (2, 80):
        out["user_id"] = mig["user_id"]
        out["project_id"] = mig["project_id"]
    return out


def action(a, req, with_events):
    v = req.microversion
    out = {"action": a["action"], "instance_uuid": a["instance_uuid"], "message": a["message"],
           "project_id": a["project_id"], "request_id": a["request_id"],
           "start_time": ts(a["start_time"]), "user_id": a["user_id"]}
    if v >= (2, 58):
        out["updated_at"] = ts(a["updated_at"])
    if with_events:
        evs = []
        for e in a["events"]:
            ev = {"event": e["event"], "start_time": ts(e["start_time"]),
                  "finish_time": ts(e["finish_time"]) if e["finish_time"] else None,
                  "result": e["result"], "traceback": e["traceback"]}
            if v >= (2, 62):
                ev["host"] = e["host"]
                ev["hostId"] = host_id(e["host"])
            if v >= (2, 84):
                ev["details"] = e["details"]
            evs.append(ev)
        out["events"] = evs
    return out


def hypervisor(index, host, servers, req, detail, with_servers):
    import uuid as _uuid
    v = req.microversion
    hid = str(_uuid.uuid5(_uuid.NAMESPACE_URL, f"migprobe-lab/hypervisor/{host}")) \
        if v >= (2, 53) else index
    out = {"hypervisor_hostname": host, "id": hid, "state": "up", "status": "enabled"}
    if detail:
        sid = str(_uuid.uuid5(_uuid.NAMESPACE_URL, f"migprobe-lab/service/{host}")) \
            if v >= (2, 53) else index
        out.update({"host_ip": "127.0.0.1", "hypervisor_type": "QEMU",
                    "hypervisor_version": 7002000,
                    "service": {"host": host, "id": sid, "disabled_reason": None}})
        if v < (2, 88):
            used = sum(s.get("mem_mb", 128) for s in servers)
            out.update({"cpu_info": {"arch": "x86_64", "model": "qemu64", "vendor": "AMD",
                                     "features": [], "topology": {"cores": 1, "threads": 1,
                                                                  "sockets": 2}},
                        "current_workload": 0, "disk_available_least": 0, "free_disk_gb": 100,
                        "free_ram_mb": 8192 - used, "local_gb": 100, "local_gb_used": 0,
                        "memory_mb": 8192, "memory_mb_used": used, "running_vms": len(servers),
                        "vcpus": 2, "vcpus_used": len(servers)})
        else:
            out["uptime"] = None
    if with_servers and servers:
        out["servers"] = [{"name": s["name"], "uuid": s["uuid"]} for s in servers]
    return out
