"""Fault injection of the lab cloud: Nth-call errors, hangs and drops, migrations that
end in error (async from 2.34, a 400 before), tokens that expire early."""

import http.client
import socket
import time
import unittest

from cloudtest import CloudTestCase


class FaultTest(CloudTestCase):
    guests = 2

    def tearDown(self):
        self.assertEqual(self.call("DELETE", "/_lab/faults", token=False).status, 204)

    def plan(self, plan):
        r = self.call("PUT", "/_lab/faults", plan, token=False)
        self.assertEqual(r.status, 200, r.body)

    def test_nth_call_status(self):
        self.plan({"rules": [
            {"method": "GET", "path": "/compute/v2.1/servers/detail", "nth": 2, "action": "status",
             "status": 500},
            {"method": "POST", "path": r"/compute/v2\.1/servers/[^/]+/action", "nth": 1,
             "action": "status", "status": 409, "message": "busy"}]})
        path = "/compute/v2.1/servers/detail"
        self.assertEqual(self.call("GET", path).status, 200)
        r = self.call("GET", path)
        self.assertEqual(r.status, 500)
        self.assertEqual(r.body["computeFault"]["code"], 500)
        self.assertTrue(r.headers["x-openstack-request-id"].startswith("req-"))
        self.assertEqual(self.call("GET", path).status, 200)
        sid = self.server_id("vm1")
        r = self.call("POST", f"/compute/v2.1/servers/{sid}/action",
                      {"os-migrateLive": {"host": "hostB", "block_migration": "auto"}}, version="2.80")
        self.assertEqual((r.status, r.body), (409, {"conflictingRequest": {"code": 409,
                                                                           "message": "busy"}}))
        snap = self.call("GET", "/_lab/faults", token=False).body
        self.assertEqual(snap["rule_hits"], [3, 1])
        self.assertEqual(len(snap["fired"]), 2)

    def test_hang_and_drop(self):
        self.plan({"rules": [{"path": "/compute/v2.1/os-hypervisors", "nth": 1, "action": "hang",
                              "seconds": 2},
                             {"path": "/compute/v2.1/os-migrations", "nth": 1, "action": "drop"}]})
        t0 = time.monotonic()
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.call("GET", "/compute/v2.1/os-hypervisors", timeout=0.5)
        self.assertLess(time.monotonic() - t0, 1.5)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.call("GET", "/compute/v2.1/os-migrations")
        self.assertEqual(self.call("GET", "/compute/v2.1/os-migrations").status, 200)

    def test_migration_error(self):
        sid = self.server_id("vm2")
        self.plan({"migrations": [{"server": "vm2", "nth": 1, "mode": "error"},
                                  {"server": "vm2", "nth": 2, "mode": "error"},
                                  {"server": "*", "nth": 3, "mode": "dest-crash"}]})
        body = {"os-migrateLive": {"host": "hostB", "block_migration": "auto"}}
        # From 2.34 the pre-checks are asynchronous: 202, then a migration in "error".
        r = self.call("POST", f"/compute/v2.1/servers/{sid}/action", body, version="2.80")
        self.assertEqual(r.status, 202)
        mig = self.wait_migration(sid)
        self.assertEqual(mig["status"], "error")
        srv = self.call("GET", f"/compute/v2.1/servers/{sid}", version="2.80").body["server"]
        self.assertEqual((srv["status"], srv["OS-EXT-SRV-ATTR:host"]), ("ACTIVE", "hostA"))
        acts = self.call("GET", f"/compute/v2.1/servers/{sid}/os-instance-actions/"
                                f"{r.headers['x-openstack-request-id']}", version="2.84").body
        self.assertEqual(acts["instanceAction"]["message"], "Error")
        self.assertEqual(acts["instanceAction"]["events"][0]["result"], "Error")
        # Before 2.34 the same failure is a synchronous 400.
        body30 = {"os-migrateLive": {"host": "hostB", "block_migration": "auto", "force": False}}
        r = self.call("POST", f"/compute/v2.1/servers/{sid}/action", body30, version="2.30")
        self.assertEqual(r.status, 400)
        self.assertIn("badRequest", r.body)
        # A failure while running (namespace lab: reported as failed, guest stays).
        r = self.call("POST", f"/compute/v2.1/servers/{sid}/action", body, version="2.80")
        self.assertEqual(r.status, 202)
        self.assertEqual(self.wait_migration(sid)["status"], "error")
        self.assertEqual(self.status()["guests"]["vm2"]["host"], "hostA")
        # The next one goes through.
        r = self.call("POST", f"/compute/v2.1/servers/{sid}/action", body, version="2.80")
        self.assertEqual(self.wait_migration(sid)["status"], "completed")
        self.assertEqual(self.status()["guests"]["vm2"]["host"], "hostB")

    def test_token_expiry(self):
        self.plan({"token_ttl_s": 1})
        token = self.issue_token()
        self.assertEqual(self.call("GET", "/compute/v2.1/servers", token=token).status, 200)
        time.sleep(1.2)
        r = self.call("GET", "/compute/v2.1/servers", token=token)
        self.assertEqual(r.status, 401)
        self.assertIn("WWW-Authenticate", r.headers)
        # Tokens issued before the plan keep their lifetime.
        self.assertEqual(self.call("GET", "/compute/v2.1/servers").status, 200)

    def test_bad_plan(self):
        r = self.call("PUT", "/_lab/faults", {"rules": [{"path": "(", "action": "status"}]},
                      token=False)
        self.assertEqual(r.status, 400)
        self.assertIn("fault plan", r.body["error"]["message"])


if __name__ == "__main__":
    unittest.main()
