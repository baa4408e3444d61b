"""The rack: lab bridge, probe veth, kernel-probe namespace, host ports, guest namespaces.

Every link the lab creates gets the ifalias config.ALIAS. Cleanup only removes links
whose names match the lab's patterns (config.LINK_NAME_RE) and whose alias is the lab's
(or empty: created, not yet marked), and namespaces matching config.NETNS_RE, so it never
touches anything the lab did not create.
"""

import json
import os

from . import config
from .proc import LabError, run


def _ip(*args, check=True):
    return run(["ip", *args], check=check)


def _no_ipv6(ifname, netns=None):
    """Keeps IPv6 router/neighbour chatter off lab links: the probe sees only its traffic."""
    path = f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6"
    if netns:
        run(["ip", "netns", "exec", netns, "sh", "-c", f"echo 1 > {path}"], check=False)
        return
    try:
        with open(path, "w") as f:
            f.write("1")
    except OSError:
        pass


def link_exists(name):
    return os.path.exists(f"/sys/class/net/{name}")


def link_alias(name):
    try:
        with open(f"/sys/class/net/{name}/ifalias") as f:
            return f.read().strip()
    except OSError:
        return ""


def netns_list():
    cp = run(["ip", "-j", "netns", "list"], check=False)
    try:
        return [n["name"] for n in json.loads(cp.stdout or "[]")]
    except ValueError:
        return []


def _mark(name):
    _ip("link", "set", "dev", name, "alias", config.ALIAS)
    _no_ipv6(name)


def ensure_bridge():
    br = config.BRIDGE
    if link_exists(br):
        if link_alias(br) != config.ALIAS:
            raise LabError(f"{br} exists but was not created by the lab (ifalias "
                           f"'{link_alias(br)}'); refusing to use or remove it")
    else:
        # forward_delay 0 and no STP: a tap added for a migration forwards at once.
        _ip("link", "add", br, "type", "bridge", "forward_delay", "0", "stp_state", "0")
        _mark(br)
    _ip("link", "set", br, "up")


def ensure_probe_veth():
    """mp-probe stays in the root namespace without an IP for DPDK's net_af_packet."""
    if not link_exists(config.PROBE_VETH):
        _ip("link", "add", config.PROBE_VETH, "type", "veth", "peer", "name", config.PROBE_VETH_BR)
        _mark(config.PROBE_VETH)
        _mark(config.PROBE_VETH_BR)
    _ip("link", "set", config.PROBE_VETH_BR, "master", config.BRIDGE)
    _ip("link", "set", config.PROBE_VETH_BR, "up")
    _ip("link", "set", config.PROBE_VETH, "up")


def ensure_kernel_probe():
    """A namespace holding the probe IP, so tests can ping guests without DPDK."""
    ns = config.KPROBE_NS
    if ns not in netns_list():
        _ip("netns", "add", ns)
    if not link_exists(config.KPROBE_VETH_BR):
        _ip("link", "add", config.KPROBE_VETH_BR, "type", "veth", "peer", "name",
            config.KPROBE_VETH_NS)
        _mark(config.KPROBE_VETH_BR)
        _ip("link", "set", config.KPROBE_VETH_NS, "alias", config.ALIAS)
        _ip("link", "set", config.KPROBE_VETH_NS, "netns", ns)
        _ip("-n", ns, "link", "set", config.KPROBE_VETH_NS, "name", "eth0")
        _no_ipv6("eth0", ns)
        _ip("-n", ns, "addr", "add", f"{config.PROBE_IP}/{config.SUBNET.prefixlen}", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
    _ip("link", "set", config.KPROBE_VETH_BR, "master", config.BRIDGE)
    _ip("link", "set", config.KPROBE_VETH_BR, "up")


def add_tap(name):
    """A persistent tap on the bridge for one QEMU process."""
    if not link_exists(name):
        _ip("tuntap", "add", "dev", name, "mode", "tap")
        _mark(name)
    _ip("link", "set", name, "master", config.BRIDGE)
    _ip("link", "set", name, "up")


def del_link(name):
    if link_exists(name):
        _ip("link", "del", name, check=False)


def add_guest_netns(n, port, mac, ip):
    """Fallback guest: a namespace with eth0 (guest MAC and IP) whose peer `port` is
    a bridge port named like the tap a QEMU guest would have."""
    ns = config.guest_netns(n)
    if ns not in netns_list():
        _ip("netns", "add", ns)
    if not link_exists(port):
        inner = port + "g"
        _ip("link", "add", port, "type", "veth", "peer", "name", inner)
        _mark(port)
        _ip("link", "set", inner, "alias", config.ALIAS)
        _ip("link", "set", inner, "netns", ns)
        _ip("-n", ns, "link", "set", inner, "name", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "address", mac)
        _no_ipv6("eth0", ns)
        _ip("-n", ns, "addr", "add", f"{ip}/{config.SUBNET.prefixlen}", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
    _ip("link", "set", port, "master", config.BRIDGE)
    _ip("link", "set", port, "up")
    return ns


def rename_link(old, new):
    """Renames a (down) link: a fallback guest's port follows it to its new host."""
    _ip("link", "set", old, "name", new)


def leftovers():
    """Links and namespaces of the lab that exist now (for `down` and for tests)."""
    links = []
    for name in sorted(os.listdir("/sys/class/net")):
        # An empty alias means a run was interrupted between creating and marking it.
        if config.LINK_NAME_RE.match(name) and link_alias(name) in (config.ALIAS, ""):
            links.append(name)
    nss = [n for n in netns_list() if config.NETNS_RE.match(n)]
    return links, nss


def teardown():
    """Removes every lab link and namespace. Safe to call when nothing exists."""
    links, nss = leftovers()
    for ns in nss:
        _ip("netns", "del", ns, check=False)
    # Ports first, the bridge last; deleting one veth end removes its peer too.
    for name in sorted(links, key=lambda n: n == config.BRIDGE):
        del_link(name)
    links, nss = leftovers()
    if links or nss:
        raise LabError(f"could not remove lab links {links} / namespaces {nss}")
