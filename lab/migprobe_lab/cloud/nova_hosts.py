"""Nova routes about hosts and guests' insides: hypervisors (with their servers), server
diagnostics."""

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

    # --- diagnostics --------------------------------------------------------------------------
    @router.add("GET", r"/compute/v2\.1/servers/(?P<sid>[^/]+)/diagnostics", "nova")
    def diagnostics(req, sid):
        # As Nova's: answered while the server migrates (its source host has it), refused
        # while its guest does not run (Nova's compute manager checks the power state).
        s = world.server(sid)
        if s["status"] != "active":
            raise ApiError(409, f"Cannot 'get_diagnostics' instance {s['uuid']} while it is in "
                                f"vm_state {s['status']}")
        port = config.port_name(s["hosts"], s["host"], s["index"])
        nic = _nic_stats(port)
        cpu_ns, uptime = 0, 0
        if s["mode"] == "qemu":
            times = _qemu_times(s)
            if times is None:
                raise ApiError(409, f"Cannot 'get_diagnostics' instance {s['uuid']} while it is "
                                    "in power_state 4")
            cpu_ns, uptime = times
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


def _stat(path):
    with open(path) as f:
        return f.read().rsplit(")", 1)[1].split()


def _qemu_times(s):
    """The guest's vCPU time (ns) and uptime (s) from its QEMU process on its host, as
    libvirt's diagnostics give them: the time of QEMU's vCPU threads ("CPU 0/TCG", "CPU
    0/KVM"), not of its other threads (the migration thread's work is not the guest's).
    None when the QEMU is not running."""
    pid = read_pid(qemu.files(s["lab_name"], s["host"])["pid"])
    if not pid:
        return None
    try:
        hz = os.sysconf("SC_CLK_TCK")
        fields = _stat(f"/proc/{pid}/stat")
        ticks = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if not f.read().startswith("CPU "):
                        continue
                t = _stat(f"/proc/{pid}/task/{tid}/stat")
                ticks += int(t[11]) + int(t[12])
            except (OSError, ValueError, IndexError):
                continue
        with open("/proc/uptime") as f:
            up = float(f.read().split()[0])
        return ticks * 1_000_000_000 // hz, int(up - int(fields[19]) / hz)
    except (OSError, ValueError, IndexError, TypeError):
        return None
