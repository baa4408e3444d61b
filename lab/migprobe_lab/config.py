"""Names, addresses and paths that every part of the lab agrees on."""

import ipaddress
import os
import re

# The lab's only address range. The probe owns .2; guests are .11, .12, ...
SUBNET = ipaddress.ip_network("10.77.0.0/24")
PROBE_IP = "10.77.0.2"
GUEST_IP_BASE = 10  # guest n (1-based) gets 10.77.0.(10+n)
MAX_GUESTS = 60  # keeps the MAC's last byte two decimal digits

BRIDGE = "mplab0"
PROBE_VETH = "mp-probe"          # root-namespace end, no IP, for net_af_packet
PROBE_VETH_BR = "mp-probe-br"    # bridge end
KPROBE_NS = "mp-kprobe"          # optional kernel probe namespace with PROBE_IP
KPROBE_VETH_BR = "mp-kprobe-br"
KPROBE_VETH_NS = "mp-kprobe-ns"  # renamed to eth0 inside the namespace

# Marker written into the ifalias of every link the lab creates.
ALIAS = "migprobe-lab"

# Names the lab may create. Cleanup only ever touches names that match these AND
# (for links that still exist in the root namespace) carry the lab's alias, except
# for names that are unambiguous lab names (the bridge and the probe veths).
LINK_NAME_RE = re.compile(r"^(mplab0|mp-probe|mp-probe-br|mp-kprobe-br|mp-kprobe-ns|mp[A-Z][0-9]{1,2}g?)$")
NETNS_RE = re.compile(r"^(mp-kprobe|mp-vm[0-9]{1,2})$")

DEFAULT_HOSTS = ("hostA", "hostB")
GUEST_REFLECTOR_PORT = 7077
# Overridable for a custom QEMU build (and by tests, to simulate a QEMU that cannot boot).
QEMU_BIN = os.environ.get("MIGPROBE_LAB_QEMU", "qemu-system-x86_64")


def state_dir() -> str:
    """Where pids, QMP sockets, logs and ground truth live (MIGPROBE_LAB_STATE)."""
    return os.environ.get("MIGPROBE_LAB_STATE", "/run/migprobe-lab")


def cache_dir() -> str:
    """Where the guest kernel and initramfs are cached (MIGPROBE_LAB_CACHE)."""
    return os.environ.get("MIGPROBE_LAB_CACHE", "/var/cache/migprobe/lab")


def lab_dir() -> str:
    """The lab/ folder of the source tree (this package's parent)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def guest_name(n: int) -> str:
    return f"vm{n}"


def guest_ip(n: int) -> str:
    return str(SUBNET.network_address + GUEST_IP_BASE + n)


def guest_mac(n: int) -> str:
    # The last byte reads like the IP's last octet: 10.77.0.11 has ...:00:11.
    return f"52:54:00:77:00:{GUEST_IP_BASE + n:02d}"


def host_letter(hosts, host: str) -> str:
    """Host index letter used in interface names: hosts[0] -> 'A'."""
    return chr(ord("A") + list(hosts).index(host))


def port_name(hosts, host: str, n: int) -> str:
    """The bridge port (tap or veth) of guest n on a host, e.g. mpA1."""
    return f"mp{host_letter(hosts, host)}{n}"


def guest_netns(n: int) -> str:
    return f"mp-vm{n}"
