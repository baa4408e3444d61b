"""The lab cloud's Neutron subset, as a bootstrap uses it: the catalog names it, the lab's
network and subnet are listed; a security group is created (with Neutron's two egress
rules), found by name, given the rules that let the probe's flows in (ICMP, the UDP
reflector's port, a TCP port, from the probe's address), refused a duplicate rule and
malformed ones, and deleted; the default group stays; errors in Neutron's shape."""

import unittest

from cloudtest import CloudTestCase, fixture

NET = "/networking/v2.0"


class NeutronTest(CloudTestCase):
    guests = 1

    def test_catalog_and_network(self):
        r = self.call("POST", "/identity/v3/auth/tokens", token=False, body={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": "migprobe-lab"}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})
        network = [s for s in r.body["token"]["catalog"] if s["type"] == "network"]
        self.assertEqual(len(network), 1)
        self.assertTrue(network[0]["endpoints"][0]["url"].endswith("/networking"))
        listed = self.call("GET", f"{NET}/networks?name=lab-net").body
        self.assertHasFields(listed, fixture("neutron/networks-list-response.json"), "networks")
        nets = listed["networks"]
        self.assertEqual(len(nets), 1)
        self.assertEqual(self.call("GET", f"{NET}/networks?name=other").body["networks"], [])
        subnets = self.call("GET", f"{NET}/subnets?network_id={nets[0]['id']}").body["subnets"]
        self.assertEqual(subnets[0]["cidr"], "10.77.0.0/24")
        r = self.call("GET", f"{NET}/networks/nope")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.body["NeutronError"]["type"], "NotFound")

    def test_security_group_for_the_probe(self):
        r = self.call("POST", f"{NET}/security-groups",
                      fixture("neutron/security-group-create-request.json"))
        self.assertEqual(r.status, 201, r.body)
        self.assertHasFields(r.body, fixture("neutron/security-group-create-response.json"),
                             "security group")
        sg = r.body["security_group"]
        self.assertEqual(sorted((x["direction"], x["ethertype"]) for x in
                                sg["security_group_rules"]),
                         [("egress", "IPv4"), ("egress", "IPv6")])
        found = self.call("GET", f"{NET}/security-groups?name=migprobe-c1").body
        self.assertEqual([g["id"] for g in found["security_groups"]], [sg["id"]])
        rules = [("icmp", None, None), ("udp", 7077, 7077), ("tcp", 9, 9)]
        ids = []
        for proto, lo, hi in rules:
            body = {"security_group_rule": {"security_group_id": sg["id"], "direction": "ingress",
                                            "ethertype": "IPv4", "protocol": proto,
                                            "port_range_min": lo, "port_range_max": hi,
                                            "remote_ip_prefix": "10.77.0.2/32"}}
            r = self.call("POST", f"{NET}/security-group-rules", body)
            self.assertEqual(r.status, 201, r.body)
            self.assertHasFields(r.body,
                                 fixture("neutron/security-group-rule-create-response.json"),
                                 "rule")
            self.assertEqual(r.body["security_group_rule"]["remote_ip_prefix"], "10.77.0.2/32")
            ids.append(r.body["security_group_rule"]["id"])
        # The same rule again: 409 naming the rule that exists.
        r = self.call("POST", f"{NET}/security-group-rules", body)
        self.assertEqual(r.status, 409, r.body)
        self.assertIn(ids[-1], r.body["NeutronError"]["message"])
        bad = [{"protocol": "tcp", "port_range_min": 90, "port_range_max": 80},
               {"protocol": None, "port_range_min": 80, "port_range_max": 80},
               {"protocol": "gre2"},
               {"protocol": "tcp", "remote_ip_prefix": "2001:db8::/64"},
               {"direction": "sideways"}]
        for extra in bad:
            rule = {"security_group_id": sg["id"], "direction": "ingress", "ethertype": "IPv4"}
            rule.update(extra)
            r = self.call("POST", f"{NET}/security-group-rules", {"security_group_rule": rule})
            self.assertEqual(r.status, 400, (extra, r.body))
        listed = self.call("GET", f"{NET}/security-group-rules?security_group_id={sg['id']}"
                                  "&direction=ingress").body["security_group_rules"]
        self.assertEqual(sorted(x["id"] for x in listed), sorted(ids))
        self.assertEqual(self.call("DELETE", f"{NET}/security-group-rules/{ids[0]}").status, 204)
        self.assertEqual(self.call("DELETE", f"{NET}/security-groups/{sg['id']}").status, 204)
        self.assertEqual(self.call("GET", f"{NET}/security-groups/{sg['id']}").status, 404)
        self.assertEqual(self.call("GET", f"{NET}/security-group-rules?security_group_id="
                                          f"{sg['id']}").body["security_group_rules"], [])
        default = self.call("GET", f"{NET}/security-groups?name=default").body["security_groups"]
        self.assertEqual(len(default), 1)
        r = self.call("DELETE", f"{NET}/security-groups/{default[0]['id']}")
        self.assertEqual(r.status, 409, r.body)
        self.assertEqual(self.call("GET", f"{NET}/security-groups", token="bad").status, 401)


if __name__ == "__main__":
    unittest.main()
