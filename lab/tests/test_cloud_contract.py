"""Contract tests: every lab-cloud response the control process uses has the fields of
the matching OpenStack API sample (../shared/reference/openstack-api-samples), at each
microversion a sample exists for; plus the status codes, headers and error shapes."""

import glob
import os
import re
import time
import unittest

from cloudtest import REFERENCE, CloudTestCase, sample

MAX = (2, 96)


def versions_with(rel_dir, name):
    """[(version string, sample path)] for a sample file across microversion folders."""
    out = []
    base = os.path.join(REFERENCE, "nova", rel_dir)
    if os.path.exists(os.path.join(base, name)):
        out.append(("2.1", os.path.join("nova", rel_dir, name)))
    for d in glob.glob(os.path.join(base, "v2.*")):
        v = os.path.basename(d)[1:]
        if v == "2.69" and rel_dir == "servers":
            continue  # 2.69's samples show servers of a cell that is down (partial records)
        if tuple(map(int, v.split("."))) <= MAX and os.path.exists(os.path.join(d, name)):
            out.append((v, os.path.join("nova", rel_dir, os.path.basename(d), name)))
    return sorted(out, key=lambda x: tuple(map(int, x[0].split("."))))


@unittest.skipUnless(os.path.isdir(REFERENCE), "API samples not found")
class ContractTest(CloudTestCase):
    def check(self, path, rel, version, status=200):
        ref = sample(rel)
        if any(k.endswith("links") for k in ref) and "limit=" not in path:
            path += ("&" if "?" in path else "?") + "limit=1"
        r = self.call("GET", path, version=version)
        self.assertEqual(r.status, status, f"{path} @{version}: {r.body}")
        self.assertHasFields(r.body, ref, f"{path} @{version} vs {rel}")
        return r

    def test_versions(self):
        r = self.call("GET", "/compute", token=False)
        self.assertHasFields(r.body, sample("nova/versions/versions-get-resp.json"))
        r = self.call("GET", "/compute/v2.1", token=False)
        self.assertHasFields(r.body, sample("nova/versions/v21-version-get-resp.json"))
        self.assertEqual(r.body["version"]["min_version"], "2.1")

    def test_token(self):
        r = self.call("POST", "/identity/v3/auth/tokens", token=False, body={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": "migprobe-lab"}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        self.assertEqual(r.status, 201)
        self.assertTrue(r.headers["X-Subject-Token"])
        self.assertHasFields(r.body, sample("keystone/auth/responses/project-scoped-password.json"))
        compute = [s for s in r.body["token"]["catalog"] if s["type"] == "compute"][0]
        self.assertEqual({e["interface"] for e in compute["endpoints"]},
                         {"public", "internal", "admin"})
        self.assertTrue(all(e["url"] == f"{self.url}/compute/v2.1" for e in compute["endpoints"]))
        # Wrong password: 401 in Keystone's shape.
        r = self.call("POST", "/identity/v3/auth/tokens", token=False, body={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": "wrong"}}}}})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.body["error"]["code"], 401)
        # Validation of the test's own token.
        r = self.call("GET", "/identity/v3/auth/tokens", headers={"X-Subject-Token": self.token})
        self.assertEqual(r.status, 200)
        self.assertEqual(self.call("GET", "/identity/v3", token=False).body["version"]["id"][:2], "v3")

    def test_servers(self):
        for v, rel in versions_with("servers", "servers-details-resp.json"):
            self.check("/compute/v2.1/servers/detail", rel, v)
        for v, rel in versions_with("servers", "servers-list-resp.json"):
            self.check("/compute/v2.1/servers", rel, v)
        sid = self.server_id("vm1")
        for v, rel in versions_with("servers", "server-get-resp.json"):
            r = self.check(f"/compute/v2.1/servers/{sid}", rel, v)
            self.assertEqual(r.body["server"]["OS-EXT-SRV-ATTR:host"], "hostA")
            self.assertEqual(r.headers["OpenStack-API-Version"], f"compute {v}")
            self.assertEqual(r.headers["X-OpenStack-Nova-API-Version"], v)
        r = self.call("GET", "/compute/v2.1/servers?limit=2")
        self.assertEqual(len(r.body["servers"]), 2)
        self.assertEqual(r.body["servers_links"][0]["rel"], "next")
        nxt = r.body["servers_links"][0]["href"][len(self.url):]
        self.assertEqual([s["name"] for s in self.call("GET", nxt).body["servers"]], ["vm3"])

    def test_hypervisors(self):
        for name, path in (("hypervisors-list-resp.json", "/compute/v2.1/os-hypervisors"),
                           ("hypervisors-detail-resp.json", "/compute/v2.1/os-hypervisors/detail"),
                           ("hypervisors-with-servers-resp.json",
                            "/compute/v2.1/os-hypervisors?with_servers=true"),
                           ("hypervisors-detail-with-servers-resp.json",
                            "/compute/v2.1/os-hypervisors/detail?with_servers=true")):
            for v, rel in versions_with("os-hypervisors", name):
                if name == "hypervisors-with-servers-resp.json" and v < "2.53":
                    path_v = "/compute/v2.1/os-hypervisors/hostA/servers"
                else:
                    path_v = path
                if "with-servers" in name:
                    # Nova leaves "servers" out for a host without any: compare hostA only.
                    r = self.call("GET", path_v, version=v)
                    r.body["hypervisors"] = [h for h in r.body["hypervisors"] if h.get("servers")]
                    self.assertHasFields(r.body, sample(rel), f"{path_v} @{v}")
                else:
                    self.check(path_v, rel, v)
        r = self.call("GET", "/compute/v2.1/os-hypervisors/detail?with_servers=true", version="2.88")
        on_a = [h for h in r.body["hypervisors"] if h["hypervisor_hostname"] == "hostA"][0]
        self.assertEqual(sorted(s["name"] for s in on_a["servers"]), ["vm1", "vm2", "vm3"])
        hid = on_a["id"]
        for v, rel in versions_with("os-hypervisors", "hypervisors-show-with-servers-resp.json"):
            self.check(f"/compute/v2.1/os-hypervisors/{hid}?with_servers=true", rel, v)

    def test_diagnostics(self):
        sid = self.server_id("vm2")
        self.check(f"/compute/v2.1/servers/{sid}/diagnostics",
                   "nova/os-server-diagnostics/v2.48/server-diagnostics-get-resp.json", "2.48")

    def test_migration_lifecycle(self):
        """os-migrateLive with each sample body; progress while running; history after."""
        sid = self.server_id("vm3")
        bodies = [(v, rel) for v, rel in versions_with("os-migrate-server", "live-migrate-server.json")]
        self.assertTrue(bodies)
        host = "hostB"
        for v, rel in bodies:
            body = sample(rel)
            body["os-migrateLive"]["host"] = host
            r = self.call("POST", f"/compute/v2.1/servers/{sid}/action", body, version=v)
            self.assertEqual(r.status, 202, f"{rel}: {r.body}")
            self.assertIsNone(r.body)
            self.assertTrue(r.headers["x-openstack-request-id"].startswith("req-"))
            mig = self.wait_migration(sid)
            self.assertEqual(mig["status"], "completed", mig)
            self.assertEqual(self.call("GET", f"/compute/v2.1/servers/{sid}").body["server"]
                             ["OS-EXT-SRV-ATTR:host"], host)
            host = "hostA" if host == "hostB" else "hostB"

        # A long outage keeps the next migration in progress long enough to look at it.
        self.world.params["outage_ms"] = 2500.0
        try:
            r = self.call("POST", f"/compute/v2.1/servers/{sid}/action",
                          {"os-migrateLive": {"host": None, "block_migration": "auto"}}, version="2.80")
            self.assertEqual(r.status, 202)
            show = self.call("GET", f"/compute/v2.1/servers/{sid}", version="2.80").body["server"]
            self.assertEqual(show["status"], "MIGRATING")
            self.assertEqual(show["OS-EXT-STS:task_state"], "migrating")
            # A second request while migrating: 409 in Nova's shape.
            r = self.call("POST", f"/compute/v2.1/servers/{sid}/action",
                          {"os-migrateLive": {"host": None, "block_migration": "auto"}}, version="2.80")
            self.assertEqual(r.status, 409)
            self.assertEqual(r.body["conflictingRequest"]["code"], 409)
            deadline = time.monotonic() + 5
            while True:
                migs = self.call("GET", f"/compute/v2.1/servers/{sid}/migrations",
                                 version="2.80").body["migrations"]
                if migs and migs[0]["status"] == "running" or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(migs[0]["status"], "running")
            mid = migs[0]["id"]
            for v, rel in versions_with("server-migrations", "migrations-index.json"):
                self.check(f"/compute/v2.1/servers/{sid}/migrations", rel, v)
            for v, rel in versions_with("server-migrations", "migrations-get.json"):
                self.check(f"/compute/v2.1/servers/{sid}/migrations/{mid}", rel, v)
            r = self.check("/compute/v2.1/os-migrations",
                           "nova/os-migrations/v2.23/migrations-get.json", "2.23")
            self.assertIn("links", r.body["migrations"][0])  # in progress: a link to it
            r = self.call("POST", f"/compute/v2.1/servers/{sid}/migrations/{mid}/action",
                          sample("nova/server-migrations/v2.22/force_complete.json"), version="2.22")
            self.assertEqual(r.status, 202, r.body)
            r = self.call("DELETE", f"/compute/v2.1/servers/{sid}/migrations/{mid}", version="2.24")
            self.assertEqual(r.status, 202, r.body)
            mig = self.wait_migration(sid)
            self.assertEqual(mig["status"], "cancelled")
            r = self.call("GET", f"/compute/v2.1/servers/{sid}/migrations/{mid}", version="2.80")
            self.assertEqual(r.status, 404)
            self.assertIn("itemNotFound", r.body)
        finally:
            self.world.params["outage_ms"] = 30.0

        for name in ("migrations-get.json", "migrations-get-with-limit.json"):
            for v, rel in versions_with("os-migrations", name):
                self.check("/compute/v2.1/os-migrations", rel, v)
        for name in ("instance-actions-list-resp.json", "instance-actions-list-with-limit-resp.json"):
            for v, rel in versions_with("os-instance-actions", name):
                self.check(f"/compute/v2.1/servers/{sid}/os-instance-actions", rel, v)
        acts = self.call("GET", f"/compute/v2.1/servers/{sid}/os-instance-actions",
                         version="2.84").body["instanceActions"]
        self.assertEqual(acts[-1]["action"], "create")
        self.assertEqual(acts[0]["action"], "live-migration")
        rid = acts[0]["request_id"]
        for v, rel in versions_with("os-instance-actions", "instance-action-get-resp.json"):
            r = self.check(f"/compute/v2.1/servers/{sid}/os-instance-actions/{rid}", rel, v)
            self.assertTrue(r.body["instanceAction"]["events"])

    def test_errors_and_headers(self):
        r = self.call("GET", "/compute/v2.1/servers/nope")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.body, {"itemNotFound": {"code": 404,
                                                   "message": "Instance nope could not be found."}})
        self.assertTrue(re.match(r"req-[0-9a-f-]{36}$", r.headers["x-openstack-request-id"]))
        sid = self.server_id("vm1")
        r = self.call("POST", f"/compute/v2.1/servers/{sid}/action",
                      {"os-migrateLive": {"host": "hostZ", "block_migration": "auto"}}, version="2.30")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.body["badRequest"]["message"], "Compute host hostZ could not be found.")
        r = self.call("GET", "/compute/v2.1/servers", version="2.200")
        self.assertEqual(r.status, 406)
        self.assertIn("computeFault", r.body)
        r = self.call("GET", "/compute/v2.1/servers", headers={"X-OpenStack-Nova-API-Version": "latest"})
        self.assertEqual(r.headers["X-OpenStack-Nova-API-Version"], "2.96")
        r = self.call("GET", "/compute/v2.1/servers")
        self.assertEqual(r.headers["OpenStack-API-Version"], "compute 2.1")
        r = self.call("GET", "/compute/v2.1/servers", token="bogus")
        self.assertEqual(r.status, 401)
        self.assertIn("Keystone uri=", r.headers["WWW-Authenticate"])
        self.assertEqual(r.body["error"]["code"], 401)
        r = self.call("GET", f"/compute/v2.1/servers/{sid}/migrations", version="2.22")
        self.assertEqual(r.status, 404)  # before 2.23 the route does not exist
        for c in self.calls[-5:]:
            self.assertTrue(c["request_id"].startswith("req-"))


if __name__ == "__main__":
    unittest.main()
