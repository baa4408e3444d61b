"""Neutron v2.0 subset of the lab cloud, what a bootstrap needs: version discovery; the lab's
one network (lab-net, the lab bridge) and its subnet (10.77.0.0/24), listed and shown;
security groups (the project's "default", and those created: listed with name filters,
shown, created with Neutron's two egress rules, deleted) and their rules (created with
Neutron's checks: protocol and port range, ICMP type and code, a duplicate refused with 409;
deleted); ports, one per server that has a guest (its address and MAC on lab-net, device_id
the server's id: how a bootstrap reads a VM's MAC), listed with filters and shown. Errors in
Neutron's shape ({"NeutronError": {"type", "message", "detail"}})."""

import ipaddress
import threading
import time
import uuid

from .keystone import PROJECT_ID
from .rest import ApiError

NETWORK_ID = "5d4b8a3e-7c61-4f0e-9a1b-2c3d4e5f6a70"
SUBNET_ID = "8e2f4c6a-1b3d-4e5f-8a7b-9c0d1e2f3a4b"
_PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132}


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _network():
    return {"admin_state_up": True, "availability_zone_hints": [], "availability_zones": ["nova"],
            "created_at": "2026-01-01T00:00:00Z", "dns_domain": "", "id": NETWORK_ID,
            "ipv4_address_scope": None, "ipv6_address_scope": None, "l2_adjacency": True,
            "mtu": 1500, "name": "lab-net", "port_security_enabled": True, "pvlan": False,
            "qinq": False, "qos_policy_id": None,
            "project_id": PROJECT_ID, "revision_number": 1, "router:external": False,
            "shared": True, "status": "ACTIVE", "subnets": [SUBNET_ID], "tags": [],
            "tenant_id": PROJECT_ID, "updated_at": "2026-01-01T00:00:00Z",
            "vlan_transparent": False, "description": "the lab bridge", "is_default": True}


def _subnet():
    return {"name": "lab-subnet", "enable_dhcp": False, "network_id": NETWORK_ID,
            "segment_id": None, "project_id": PROJECT_ID, "tenant_id": PROJECT_ID,
            "dns_nameservers": [], "dns_publish_fixed_ip": False, "allocation_pools": [
                {"start": "10.77.0.10", "end": "10.77.0.250"}], "host_routes": [],
            "ip_version": 4, "gateway_ip": None, "cidr": "10.77.0.0/24",
            "id": SUBNET_ID, "created_at": "2026-01-01T00:00:00Z", "description": "",
            "ipv6_address_mode": None, "ipv6_ra_mode": None, "revision_number": 0,
            "service_types": [], "subnetpool_id": None, "tags": [],
            "updated_at": "2026-01-01T00:00:00Z"}


def port(server):
    """The port of a server's guest on lab-net."""
    pid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"migprobe-lab/port/{server['uuid']}"))
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(server.get("created_at", 0) or 0))
    return {"admin_state_up": True, "allowed_address_pairs": [], "created_at": created,
            "data_plane_status": None, "description": "", "device_id": server["uuid"],
            "device_owner": "compute:nova", "dns_assignment": [], "dns_domain": "",
            "dns_name": "", "extra_dhcp_opts": [],
            "fixed_ips": [{"ip_address": server["ip"], "subnet_id": SUBNET_ID}], "id": pid,
            "ip_allocation": "immediate", "mac_address": server["mac"], "name": "",
            "network_id": NETWORK_ID, "project_id": PROJECT_ID, "revision_number": 1,
            "security_groups": [], "status": "ACTIVE" if server.get("status", "active") ==
            "active" else "DOWN", "tags": [], "tenant_id": PROJECT_ID, "updated_at": created,
            "qos_network_policy_id": None, "qos_policy_id": None,
            "port_security_enabled": True, "propagate_uplink_status": False,
            "pvlan_type": None, "pvlan_community": None}


def _filtered(items, req, keys):
    for key in keys:
        values = req.query.get(key)
        if values:
            items = [i for i in items if str(i.get(key)) in values]
    return items


class SecurityGroups:
    def __init__(self):
        self.lock = threading.Lock()
        self.groups = {}
        self.rules = {}
        self._create("default", "Default security group", True, ingress_from_group=True)

    def _rule(self, group_id, direction, ethertype, protocol=None, port_min=None,
              port_max=None, remote_ip_prefix=None, remote_group_id=None, description=""):
        now = _now()
        return {"id": str(uuid.uuid4()), "direction": direction, "ethertype": ethertype,
                "protocol": protocol, "port_range_min": port_min, "port_range_max": port_max,
                "remote_ip_prefix": remote_ip_prefix, "remote_group_id": remote_group_id,
                "remote_address_group_id": None, "security_group_id": group_id,
                "project_id": PROJECT_ID, "tenant_id": PROJECT_ID, "created_at": now,
                "updated_at": now, "revision_number": 0, "tags": [], "description": description,
                "belongs_to_default_sg": False}

    def _create(self, name, description, stateful, ingress_from_group=False):
        gid = str(uuid.uuid4())
        now = _now()
        group = {"id": gid, "name": name, "description": description, "stateful": stateful,
                 "project_id": PROJECT_ID, "tenant_id": PROJECT_ID, "created_at": now,
                 "updated_at": now, "revision_number": 1, "tags": [], "shared": False}
        self.groups[gid] = group
        for ethertype in ("IPv4", "IPv6"):
            r = self._rule(gid, "egress", ethertype)
            self.rules[r["id"]] = r
            if ingress_from_group:
                r = self._rule(gid, "ingress", ethertype, remote_group_id=gid)
                self.rules[r["id"]] = r
        return group

    def view(self, group):
        out = dict(group)
        out["security_group_rules"] = [dict(r) for r in self.rules.values()
                                       if r["security_group_id"] == group["id"]]
        return out

    def all(self):
        with self.lock:
            return [self.view(g) for g in self.groups.values()]

    def get(self, gid):
        with self.lock:
            g = self.groups.get(gid)
            if g is None:
                raise ApiError(404, f"Security group {gid} could not be found.")
            return self.view(g)

    def create(self, body):
        sg = body.get("security_group") if isinstance(body, dict) else None
        if not isinstance(sg, dict):
            raise ApiError(400, "Resource body required")
        for k in sg:
            if k not in ("name", "description", "stateful", "tenant_id", "project_id"):
                raise ApiError(400, f"Unrecognized attribute(s) '{k}'")
        name = sg.get("name", "")
        if not isinstance(name, str) or len(name) > 255:
            raise ApiError(400, f"Invalid input for name. Reason: '{name}' is not a valid string.")
        if name == "default":
            raise ApiError(409, "Default security group default already exists.")
        with self.lock:
            g = self._create(name, sg.get("description", ""), bool(sg.get("stateful", True)))
            return self.view(g)

    def delete(self, gid, in_use):
        with self.lock:
            g = self.groups.get(gid)
            if g is None:
                raise ApiError(404, f"Security group {gid} could not be found.")
            if g["name"] == "default":
                raise ApiError(409, "Removing default security group not allowed.")
            if in_use(g):
                raise ApiError(409, f"Security Group {gid} in use.")
            del self.groups[gid]
            for rid in [r for r, v in self.rules.items() if v["security_group_id"] == gid]:
                del self.rules[rid]

    def rules_of(self, req):
        with self.lock:
            items = [dict(r) for r in self.rules.values()]
        return _filtered(items, req, ("security_group_id", "direction", "protocol", "ethertype"))

    def create_rule(self, body):
        r = body.get("security_group_rule") if isinstance(body, dict) else None
        if not isinstance(r, dict):
            raise ApiError(400, "Resource body required")
        allowed = {"direction", "ethertype", "protocol", "port_range_min", "port_range_max",
                   "remote_ip_prefix", "remote_group_id", "remote_address_group_id",
                   "security_group_id", "description", "tenant_id", "project_id"}
        for k in r:
            if k not in allowed:
                raise ApiError(400, f"Unrecognized attribute(s) '{k}'")
        gid = r.get("security_group_id")
        direction = r.get("direction")
        if direction not in ("ingress", "egress"):
            raise ApiError(400, f"Invalid input for direction. Reason: {direction} is not in "
                                "valid_values.")
        ethertype = r.get("ethertype", "IPv4")
        if ethertype not in ("IPv4", "IPv6"):
            raise ApiError(400, f"Invalid input for ethertype. Reason: {ethertype} is not in "
                                "valid_values.")
        protocol = r.get("protocol")
        if protocol is not None:
            protocol = str(protocol).lower()
            if protocol not in _PROTOCOLS and not (protocol.isdigit() and int(protocol) < 256):
                raise ApiError(400, f"Security group rule protocol {protocol} not supported. "
                                    "Only protocol values [None, tcp, udp, icmp, icmpv6, sctp] "
                                    "and integer representations [0 to 255] are supported.")

        def port(key):
            v = r.get(key)
            if v is None:
                return None
            try:
                return int(v)
            except (TypeError, ValueError):
                raise ApiError(400, f"Invalid input for {key}. Reason: '{v}' is not an integer.")

        pmin, pmax = port("port_range_min"), port("port_range_max")
        if pmin is not None or pmax is not None:
            if protocol in ("tcp", "udp", "sctp", "6", "17", "132"):
                if pmin is None or pmax is None or not 1 <= pmin <= pmax <= 65535:
                    raise ApiError(400, "For TCP/UDP protocols, port_range_min must be <= "
                                        "port_range_max")
            elif protocol in ("icmp", "icmpv6", "1", "58"):
                if (pmin is not None and not 0 <= pmin <= 255) or (
                        pmax is not None and not 0 <= pmax <= 255):
                    raise ApiError(400, f"Invalid value for ICMP type {pmin} or code {pmax}.")
            else:
                raise ApiError(400, "Must also specify protocol if port range is given.")
        prefix = r.get("remote_ip_prefix")
        if prefix is not None:
            try:
                net = ipaddress.ip_network(prefix, strict=False)
            except ValueError:
                raise ApiError(400, f"Invalid input for remote_ip_prefix. Reason: '{prefix}' is "
                                    "not a valid IP subnet.")
            if (net.version == 4) != (ethertype == "IPv4"):
                raise ApiError(400, f"Conflicting value ethertype {ethertype} for CIDR {prefix}")
            prefix = str(net)
        with self.lock:
            if gid not in self.groups:
                raise ApiError(404, f"Security group {gid} could not be found.")
            for other in self.rules.values():
                if (other["security_group_id"], other["direction"], other["ethertype"],
                        other["protocol"], other["port_range_min"], other["port_range_max"],
                        other["remote_ip_prefix"], other["remote_group_id"]) == (
                        gid, direction, ethertype, protocol, pmin, pmax, prefix,
                        r.get("remote_group_id")):
                    raise ApiError(409, "Security group rule already exists. Rule id is "
                                        f"{other['id']}.")
            rule = self._rule(gid, direction, ethertype, protocol, pmin, pmax, prefix,
                              r.get("remote_group_id"), r.get("description", ""))
            self.rules[rule["id"]] = rule
            return dict(rule)

    def delete_rule(self, rid):
        with self.lock:
            if rid not in self.rules:
                raise ApiError(404, f"Security group rule {rid} could not be found.")
            del self.rules[rid]


def register(router, ident, groups, in_use=lambda group: False, servers=lambda: []):
    def before(req, route):
        if route.auth and ident.lookup(req.headers.get("X-Auth-Token")) is None:
            raise ApiError(401, "The request you have made requires authentication.",
                           {"WWW-Authenticate": f'Keystone uri="{req.base_url}/identity"'},
                           shape="keystone")

    router.before["neutron"] = before
    base = r"/networking/v2\.0"

    @router.add("GET", r"/networking", "neutron", auth=False)
    def versions(req):
        return 200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
            {"href": f"{req.base_url}/networking/v2.0/", "rel": "self"}]}]}

    @router.add("GET", base + r"/networks", "neutron")
    def networks(req):
        return 200, {"networks": _filtered([_network()], req, ("id", "name", "shared"))}

    @router.add("GET", base + r"/networks/(?P<nid>[^/]+)", "neutron")
    def network(req, nid):
        if nid != NETWORK_ID:
            raise ApiError(404, f"Network {nid} could not be found.")
        return 200, {"network": _network()}

    @router.add("GET", base + r"/subnets", "neutron")
    def subnets(req):
        return 200, {"subnets": _filtered([_subnet()], req, ("id", "name", "network_id"))}

    def ports():
        return [port(s) for s in servers() if s.get("ip")]

    @router.add("GET", base + r"/ports", "neutron")
    def ports_list(req):
        return 200, {"ports": _filtered(ports(), req, ("id", "device_id", "network_id",
                                                       "mac_address", "status"))}

    @router.add("GET", base + r"/ports/(?P<pid>[^/]+)", "neutron")
    def port_get(req, pid):
        for p in ports():
            if p["id"] == pid:
                return 200, {"port": p}
        raise ApiError(404, f"Port {pid} could not be found.")

    @router.add("GET", base + r"/security-groups", "neutron")
    def sg_list(req):
        return 200, {"security_groups": _filtered(groups.all(), req, ("id", "name"))}

    @router.add("POST", base + r"/security-groups", "neutron")
    def sg_create(req):
        return 201, {"security_group": groups.create(req.body)}

    @router.add("GET", base + r"/security-groups/(?P<gid>[^/]+)", "neutron")
    def sg_get(req, gid):
        return 200, {"security_group": groups.get(gid)}

    @router.add("DELETE", base + r"/security-groups/(?P<gid>[^/]+)", "neutron")
    def sg_delete(req, gid):
        groups.delete(gid, in_use)
        return 204, None

    @router.add("GET", base + r"/security-group-rules", "neutron")
    def rule_list(req):
        return 200, {"security_group_rules": groups.rules_of(req)}

    @router.add("POST", base + r"/security-group-rules", "neutron")
    def rule_create(req):
        return 201, {"security_group_rule": groups.create_rule(req.body)}

    @router.add("DELETE", base + r"/security-group-rules/(?P<rid>[^/]+)", "neutron")
    def rule_delete(req, rid):
        groups.delete_rule(rid)
        return 204, None
