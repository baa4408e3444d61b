"""Nova routes about hosts and guests' insides: hypervisors (with their servers), the
lab's one flavor, server diagnostics."""

import os

from .. import config, qemu
from ..proc import read_pid
from . import nova_views as views
from .rest import ApiError
from .nova_common import page


def register(router, world):
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

    def _hvpage(req, detail):
        hvs = _hypervisors(req, detail)
        extra = {}
        if req.microversion >= (2, 33):
            hvs, extra = page(hvs, req, "hypervisors", lambda h: str(h["id"]),
                               "os-hypervisors/detail" if detail else "os-hypervisors",
                               "hypervisors_links")
        return 200, dict({"hypervisors": hvs}, **extra)

    @router.add("GET", r"/compute/v2\.1/os-hypervisors", "nova")
    def hypervisors(req):
        return _hvpage(req, False)

    @router.add("GET", r"/compute/v2\.1/os-hypervisors/detail", "nova")
    def hypervisors_detail(req):
        return _hvpage(req, True)

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
