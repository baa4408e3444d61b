"""Servers the lab cloud boots and deletes (namespace guests: fast; tests/test_cloud_qemu.py
boots a QEMU server from an uploaded image): a server created on a chosen host (2.74 `host`,
availability_zone "nova:HOST" before) goes BUILD -> ACTIVE with an address and MAC on
lab-net that its Neutron port repeats, migrates like any guest, and is deleted (404, its
guest, namespace and bridge port gone); Nova's refusals (unknown image, flavor, key pair,
network, security group or host, `host` before 2.74), the fault plan's quota (403) and boot
faults (ERROR with Nova's fault message), and a security group in use."""

import json
import os
import time
import unittest

from cloudtest import CloudTestCase, fixture

from migprobe_lab import rack

NET = "/networking/v2.0"
SERVERS = "/compute/v2.1/servers"


class ServersTest(CloudTestCase):
    guests = 0

    def setUp(self):
        self.faults.set({})
        self.made = []

    def tearDown(self):
        for sid in self.made:
            self.call("DELETE", f"{SERVERS}/{sid}")
        for sid in self.made:
            self.wait_gone(sid)

    def create(self, body, version="2.74", expect=202):
        r = self.call("POST", SERVERS, body, version=version)
        self.assertEqual(r.status, expect, r.body)
        if r.status == 202:
            self.made.append(r.body["server"]["id"])
        return r

    def wait_status(self, sid, final=("ACTIVE", "ERROR"), timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.call("GET", f"{SERVERS}/{sid}", version="2.96").body["server"]
            if s["status"] in final:
                return s
            time.sleep(0.05)
        self.fail(f"server {sid} not in {final} after {timeout}s")

    def wait_gone(self, sid, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.call("GET", f"{SERVERS}/{sid}").status == 404:
                return
            time.sleep(0.05)
        self.fail(f"server {sid} still there {timeout}s after its delete")

    def body(self, **kw):
        b = fixture("nova/2.74/server-create-request.json")
        b["server"].pop("key_name", None)
        b["server"].update(kw)
        return b

    def test_create_on_a_host_migrate_and_delete(self):
        r = self.create(fixture("nova/2.74/server-create-request.json"), expect=400)
        self.assertIn("Invalid key_name", r.body["badRequest"]["message"])
        key = {"keypair": {"name": "mp-test-key", "type": "ssh", "public_key":
                           fixture("nova/2.92/keypair-import-request.json")["keypair"]
                           ["public_key"]}}
        self.assertEqual(self.call("POST", "/compute/v2.1/os-keypairs", key,
                                   version="2.92").status, 201)
        self.addCleanup(self.call, "DELETE", "/compute/v2.1/os-keypairs/mp-test-key")
        r = self.create(fixture("nova/2.74/server-create-request.json"))
        self.assertHasFields(r.body, fixture("nova/2.74/server-create-response.json"), "create")
        sid = r.body["server"]["id"]
        s = self.wait_status(sid)
        self.assertEqual(s["status"], "ACTIVE", s.get("fault"))
        self.assertHasFields(s, fixture("nova/2.96/server.json")["server"], "server")
        self.assertEqual(s["OS-EXT-SRV-ATTR:host"], "hostB")
        self.assertEqual(s["key_name"], "mp-test-key")
        self.assertEqual(s["metadata"], {"migprobe_campaign": "c1"})
        self.assertEqual(s["tags"], ["migprobe"])
        addr = s["addresses"]["lab-net"][0]
        ports = self.call("GET", f"{NET}/ports?device_id={sid}").body["ports"]
        self.assertHasFields({"ports": ports}, fixture("neutron/ports-list-response.json"),
                             "ports")
        self.assertEqual([(p["mac_address"], p["fixed_ips"][0]["ip_address"]) for p in ports],
                         [(addr["OS-EXT-IPS-MAC:mac_addr"], addr["addr"])])
        listed = self.call("GET", f"{SERVERS}?name=^mp-test-1$").body["servers"]
        self.assertEqual([x["id"] for x in listed], [sid])
        tagged = self.call("GET", f"{SERVERS}?tags=migprobe", version="2.26").body["servers"]
        self.assertEqual([x["id"] for x in tagged], [sid])
        # It moves like any lab guest.
        r = self.call("POST", f"{SERVERS}/{sid}/action",
                      {"os-migrateLive": {"host": "hostA", "block_migration": "auto"}},
                      version="2.30")
        self.assertEqual(r.status, 202, r.body)
        self.assertEqual(self.wait_migration(sid)["status"], "completed")
        s = self.call("GET", f"{SERVERS}/{sid}", version="2.96").body["server"]
        self.assertEqual(s["OS-EXT-SRV-ATTR:host"], "hostA")
        r = self.call("DELETE", f"{SERVERS}/{sid}")
        self.assertEqual(r.status, 204, r.body)
        self.wait_gone(sid)
        self.made.remove(sid)
        with open(os.path.join(self.state_dir, "lab.json")) as f:
            self.assertEqual(json.load(f)["guests"], {})
        self.assertFalse([n for n in rack.netns_list() if n.startswith("mp-vm")])

    def test_host_targeting_before_2_74(self):
        r = self.create(self.body(host="hostB"), version="2.73", expect=400)
        self.assertIn("'host' was unexpected", r.body["badRequest"]["message"])
        b = self.body(availability_zone="nova:hostB")
        del b["server"]["host"]
        r = self.create(b, version="2.73")
        s = self.wait_status(r.body["server"]["id"])
        self.assertEqual((s["status"], s["OS-EXT-SRV-ATTR:host"]), ("ACTIVE", "hostB"))
        # Without a host: the scheduler's choice (the lab's --on host).
        b = self.body(name="mp-test-2")
        del b["server"]["host"]
        s = self.wait_status(self.create(b).body["server"]["id"])
        self.assertEqual(s["OS-EXT-SRV-ATTR:host"], "hostA")
        # A forced host the cloud does not have: the scheduler finds none.
        b = self.body(name="mp-test-3", availability_zone="nova:hostZ")
        del b["server"]["host"]
        s = self.wait_status(self.create(b, version="2.73").body["server"]["id"])
        self.assertEqual(s["status"], "ERROR")
        self.assertIn("No valid host was found", s["fault"]["message"])

    def test_refusals_name_what_was_asked(self):
        cases = [({"host": "hostZ"}, "Compute host hostZ could not be found."),
                 ({"imageRef": "nope"}, "Image nope could not be found."),
                 ({"flavorRef": "nope"}, "Flavor nope could not be found."),
                 ({"networks": [{"uuid": "nope"}]}, "Network nope could not be found."),
                 ({"security_groups": [{"name": "nope"}]}, "Security group nope not found"),
                 ({"name": ""}, "Invalid input for field/attribute name"),
                 ({"min_count": 2}, "one server a request"),
                 ({"metadata": {"migprobe_load": "x"}}, "expected MB,PAGES_PER_SECOND"),
                 ({"color": "red"}, "'color' was unexpected")]
        for change, message in cases:
            r = self.create(self.body(**change), expect=400)
            self.assertIn(message, r.body["badRequest"]["message"], change)
        b = self.body()
        for k in ("networks", "host", "tags"):
            del b["server"][k]
        r = self.create(b, version="2.37", expect=400)
        self.assertIn("'networks' is a required property", r.body["badRequest"]["message"])
        self.assertEqual(self.call("GET", SERVERS).body["servers"], [])

    def test_quota_and_boot_faults(self):
        self.faults.set({"quota": {"instances": 2},
                         "boots": [{"server": "mp-test-*", "nth": 1, "mode": "no-valid-host"},
                                   {"server": "mp-test-*", "nth": 2, "mode": "error"}]})
        first = self.create(self.body(name="mp-test-1")).body["server"]["id"]
        s = self.wait_status(first)
        self.assertEqual(s["status"], "ERROR")
        self.assertEqual(s["fault"]["message"],
                         "No valid host was found. There are not enough hosts available.")
        self.assertIsNone(s["OS-EXT-SRV-ATTR:host"])
        self.assertEqual(s["addresses"], {})
        second = self.create(self.body(name="mp-test-2")).body["server"]["id"]
        s = self.wait_status(second)
        self.assertEqual(s["status"], "ERROR")
        self.assertIn("injected fault", s["fault"]["message"])
        with open(os.path.join(self.state_dir, "lab.json")) as f:
            self.assertEqual(json.load(f)["guests"], {}, "a failed boot left its guest")
        # Servers in ERROR count against the quota, as in Nova.
        r = self.create(self.body(name="mp-test-3"), expect=403)
        self.assertEqual(r.body["forbidden"]["message"],
                         "Quota exceeded for instances: Requested 1, but already used 2 of 2 "
                         "instances")
        for sid in (first, second):
            self.assertEqual(self.call("DELETE", f"{SERVERS}/{sid}").status, 204)
            self.wait_gone(sid)
            self.made.remove(sid)
        s = self.wait_status(self.create(self.body(name="mp-test-3")).body["server"]["id"])
        self.assertEqual(s["status"], "ACTIVE")

    def test_delete_right_after_create(self):
        # Nova takes a delete while the server builds; the lab cloud waits for the boot.
        sid = self.create(self.body(name="mp-test-quick")).body["server"]["id"]
        self.assertEqual(self.call("DELETE", f"{SERVERS}/{sid}").status, 204)
        self.wait_gone(sid)
        self.made.remove(sid)
        with open(os.path.join(self.state_dir, "lab.json")) as f:
            self.assertEqual(json.load(f)["guests"], {})

    def test_a_security_group_in_use_stays(self):
        r = self.call("POST", f"{NET}/security-groups",
                      {"security_group": {"name": "mp-test-sg"}})
        gid = r.body["security_group"]["id"]
        sid = self.create(self.body(security_groups=[{"name": "mp-test-sg"}])).body["server"]["id"]
        s = self.wait_status(sid)
        self.assertEqual(s["security_groups"], [{"name": "mp-test-sg"}])
        r = self.call("DELETE", f"{NET}/security-groups/{gid}")
        self.assertEqual(r.status, 409, r.body)
        self.assertIn("in use", r.body["NeutronError"]["message"])
        self.call("DELETE", f"{SERVERS}/{sid}")
        self.wait_gone(sid)
        self.made.remove(sid)
        self.assertEqual(self.call("DELETE", f"{NET}/security-groups/{gid}").status, 204)


if __name__ == "__main__":
    unittest.main()
