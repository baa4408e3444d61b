"""Contract tests of the lab cloud: every response the control process reads has the
fields of the project's own fixture for that call and microversion (tests/fixtures/openstack,
whose shapes tests/control/fixture_structure_test.cc checks against the published API
reference), and every request body of the fixtures is accepted; plus the status codes,
headers and error shapes (FixtureContractTest, always).

With MIGPROBE_API_SAMPLES naming a folder of the published OpenStack API samples,
PublishedContractTest runs the same checks against them, at every microversion a sample
exists for up to the lab's 2.96, and the calls the control process does not make (server
lists, hypervisor details); without it that class is skipped with a message."""

import glob
import os
import time
import unittest

from cloudtest import PUBLISHED, CloudTestCase, fixture, published

MAX = (2, 96)


def mv(version):
    """A microversion as a tuple: "2.53" -> (2, 53); None (no microversion) -> (0, 0)."""
    return tuple(map(int, version.split("."))) if version else (0, 0)


# The fixtures of each call, per microversion: what the control process sends and reads.
# Calls it does not make have none here (see PUBLISHED_CALLS).
FIXTURE_CALLS = {
    "versions": [(None, "nova/versions/root.json")],
    "version": [(None, "nova/versions/v2.1.json")],
    "token": [(None, "keystone/password-project-scoped-response.json")],
    "servers-detail": [("2.1", "nova/2.1/servers-detail.json"),
                       ("2.96", "nova/2.96/servers-detail.json")],
    "server-get": [("2.96", "nova/2.96/server.json")],
    "flavors-detail": [("2.1", "nova/2.1/flavors-detail.json")],
    # GET /os-hypervisors/{host}/servers (before 2.53), then ?with_servers=true.
    "hypervisor-servers": [("2.1", "nova/2.1/hypervisors-with-servers.json")],
    "hypervisors-with-servers": [("2.53", "nova/2.53/hypervisors-with-servers.json"),
                                 ("2.88", "nova/2.88/hypervisors-with-servers.json")],
    "diagnostics": [("2.48", "nova/2.48/server-diagnostics.json")],
    "live-migrate": [(v, f"nova/{v}/live-migrate.json")
                     for v in ("2.1", "2.24", "2.25", "2.30", "2.68")],
    "live-migrate-any-host": [("2.80", "nova/2.80/live-migrate-any-host.json")],
    "server-migrations": [("2.80", "nova/2.80/server-migrations.json")],
    "server-migration": [("2.23", "nova/2.23/server-migration.json"),
                         ("2.80", "nova/2.80/server-migration.json")],
    "migration-in-progress": [("2.80", "nova/2.80/os-migrations-marker.json")],
    "force-complete": [("2.22", "nova/2.22/force-complete.json")],
    "migrations": [("2.1", "nova/2.1/os-migrations.json"),
                   ("2.80", "nova/2.80/os-migrations-limit.json")],
    "instance-actions": [("2.84", "nova/2.84/instance-actions-limit.json"),
                         ("2.84", "nova/2.84/instance-actions-marker.json")],
    "instance-action": [("2.84", "nova/2.84/instance-action.json")],
}


def published_versions(rel_dir, name, below=None, from_=None):
    """[(version, path)] of a published sample across its microversion folders, up to MAX."""
    out = []
    base = os.path.join(PUBLISHED, "nova", rel_dir)
    if os.path.exists(os.path.join(base, name)):
        out.append(("2.1", os.path.join("nova", rel_dir, name)))
    for d in glob.glob(os.path.join(base, "v2.*")):
        v = os.path.basename(d)[1:]
        if v == "2.69" and rel_dir == "servers":
            continue  # 2.69's samples show servers of a cell that is down (partial records)
        if mv(v) <= MAX and os.path.exists(os.path.join(d, name)):
            out.append((v, os.path.join("nova", rel_dir, os.path.basename(d), name)))
    return sorted((x for x in out if (below is None or mv(x[0]) < mv(below)) and
                   (from_ is None or mv(x[0]) >= mv(from_))), key=lambda x: mv(x[0]))


# The published samples of each call: a function, since the folder is read at run time.
PUBLISHED_CALLS = {
    "versions": lambda: [(None, "nova/versions/versions-get-resp.json")],
    "version": lambda: [(None, "nova/versions/v21-version-get-resp.json")],
    "token": lambda: [(None, "keystone/auth/responses/project-scoped-password.json"),
                      (None, "keystone/admin/auth-password-project-scoped-response.json")],
    "servers-detail": lambda: published_versions("servers", "servers-details-resp.json"),
    "servers-list": lambda: published_versions("servers", "servers-list-resp.json"),
    "server-get": lambda: published_versions("servers", "server-get-resp.json"),
    "flavors-detail": lambda: published_versions("flavors", "flavors-detail-resp.json"),
    "hypervisor-servers": lambda: published_versions(
        "os-hypervisors", "hypervisors-with-servers-resp.json", below="2.53"),
    "hypervisors-with-servers": lambda: published_versions(
        "os-hypervisors", "hypervisors-with-servers-resp.json", from_="2.53"),
    "hypervisors-detail-with-servers": lambda: published_versions(
        "os-hypervisors", "hypervisors-detail-with-servers-resp.json"),
    "hypervisors-list": lambda: published_versions("os-hypervisors", "hypervisors-list-resp.json"),
    "hypervisors-detail": lambda: published_versions("os-hypervisors",
                                                     "hypervisors-detail-resp.json"),
    "hypervisor-show-with-servers": lambda: published_versions(
        "os-hypervisors", "hypervisors-show-with-servers-resp.json"),
    "diagnostics": lambda: [("2.48",
                             "nova/os-server-diagnostics/v2.48/server-diagnostics-get-resp.json")],
    "live-migrate": lambda: published_versions("os-migrate-server", "live-migrate-server.json"),
    "live-migrate-any-host": lambda: [
        x for x in published_versions("server-migrations", "live-migrate-server.json")
        if mv(x[0]) >= (2, 65)],
    "server-migrations": lambda: published_versions("server-migrations", "migrations-index.json"),
    "server-migration": lambda: published_versions("server-migrations", "migrations-get.json"),
    "migration-in-progress": lambda: [("2.23", "nova/os-migrations/v2.23/migrations-get.json")],
    "force-complete": lambda: [("2.22", "nova/server-migrations/v2.22/force_complete.json")],
    "migrations": lambda: (published_versions("os-migrations", "migrations-get.json") +
                           published_versions("os-migrations", "migrations-get-with-limit.json")),
    "instance-actions": lambda: (
        published_versions("os-instance-actions", "instance-actions-list-resp.json") +
        published_versions("os-instance-actions", "instance-actions-list-with-limit-resp.json")),
    "instance-action": lambda: published_versions("os-instance-actions",
                                                  "instance-action-get-resp.json"),
}


class ContractChecks:
    """The checks, against the reference documents refs(call) gives (a mixin: the test
    classes below choose the source)."""

    def refs(self, call):
        """[(microversion or None, reference document, its path)] for call."""
        raise NotImplementedError

    def check(self, path, ref, version, rel, status=200):
        if any(k.endswith("links") for k in ref) and "limit=" not in path:
            path += ("&" if "?" in path else "?") + "limit=1"
        r = self.call("GET", path, version=version)
        self.assertEqual(r.status, status, f"{path} @{version}: {r.body}")
        self.assertHasFields(r.body, ref, f"{path} @{version} vs {rel}")
        return r

    def test_versions(self):
        for _, ref, rel in self.refs("versions"):
            r = self.call("GET", "/compute", token=False)
            self.assertHasFields(r.body, ref, f"/compute vs {rel}")
        for _, ref, rel in self.refs("version"):
            r = self.call("GET", "/compute/v2.1", token=False)
            self.assertHasFields(r.body, ref, f"/compute/v2.1 vs {rel}")
            self.assertEqual(r.body["version"]["min_version"], "2.1")

    def test_token(self):
        r = self.call("POST", "/identity/v3/auth/tokens", token=False, body={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": "migprobe-lab"}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        self.assertEqual(r.status, 201)
        self.assertTrue(r.headers["X-Subject-Token"])
        refs = self.refs("token")
        self.assertTrue(refs)
        for _, ref, rel in refs:
            self.assertHasFields(r.body, ref, f"token vs {rel}")
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
        refs = self.refs("servers-detail")
        self.assertTrue(refs)
        for v, ref, rel in refs:
            self.check("/compute/v2.1/servers/detail", ref, v, rel)
        for v, ref, rel in self.refs("servers-list"):
            self.check("/compute/v2.1/servers", ref, v, rel)
        sid = self.server_id("vm1")
        for v, ref, rel in self.refs("server-get"):
            r = self.check(f"/compute/v2.1/servers/{sid}", ref, v, rel)
            self.assertEqual(r.body["server"]["OS-EXT-SRV-ATTR:host"], "hostA")
            self.assertEqual(r.headers["OpenStack-API-Version"], f"compute {v}")
            self.assertEqual(r.headers["X-OpenStack-Nova-API-Version"], v)
        r = self.call("GET", "/compute/v2.1/servers?limit=2")
        self.assertEqual(len(r.body["servers"]), 2)
        self.assertEqual(r.body["servers_links"][0]["rel"], "next")
        nxt = r.body["servers_links"][0]["href"][len(self.url):]
        self.assertEqual([s["name"] for s in self.call("GET", nxt).body["servers"]], ["vm3"])

    def check_with_servers(self, path, ref, v, rel):
        """Nova leaves "servers" out for a hypervisor without any: hosts with servers only,
        on both sides, so that "servers" is checked."""
        r = self.call("GET", path, version=v)
        self.assertEqual(r.status, 200, f"{path} @{v}: {r.body}")
        r.body["hypervisors"] = [h for h in r.body["hypervisors"] if h.get("servers")]
        self.assertTrue(r.body["hypervisors"], f"{path} @{v}: no hypervisor with servers")
        ref = dict(ref, hypervisors=[h for h in ref["hypervisors"] if h.get("servers")])
        self.assertHasFields(r.body, ref, f"{path} @{v} vs {rel}")

    def test_flavors(self):
        refs = self.refs("flavors-detail")
        self.assertTrue(refs)
        for v, ref, rel in refs:
            self.check("/compute/v2.1/flavors/detail?is_public=None", ref, v, rel)

    def test_hypervisors(self):
        refs = self.refs("hypervisor-servers") + self.refs("hypervisors-with-servers")
        self.assertTrue(refs)
        for v, ref, rel in self.refs("hypervisor-servers"):
            self.check_with_servers("/compute/v2.1/os-hypervisors/hostA/servers", ref, v, rel)
        for v, ref, rel in self.refs("hypervisors-with-servers"):
            self.check_with_servers("/compute/v2.1/os-hypervisors?with_servers=true", ref, v, rel)
        for v, ref, rel in self.refs("hypervisors-detail-with-servers"):
            self.check_with_servers("/compute/v2.1/os-hypervisors/detail?with_servers=true",
                                    ref, v, rel)
        for v, ref, rel in self.refs("hypervisors-list"):
            self.check("/compute/v2.1/os-hypervisors", ref, v, rel)
        for v, ref, rel in self.refs("hypervisors-detail"):
            self.check("/compute/v2.1/os-hypervisors/detail", ref, v, rel)
        r = self.call("GET", "/compute/v2.1/os-hypervisors?with_servers=true", version="2.88")
        on_a = [h for h in r.body["hypervisors"] if h["hypervisor_hostname"] == "hostA"][0]
        self.assertEqual(sorted(s["name"] for s in on_a["servers"]), ["vm1", "vm2", "vm3"])
        hid = on_a["id"]
        for v, ref, rel in self.refs("hypervisor-show-with-servers"):
            self.check(f"/compute/v2.1/os-hypervisors/{hid}?with_servers=true", ref, v, rel)

    def test_diagnostics(self):
        sid = self.server_id("vm2")
        refs = self.refs("diagnostics")
        self.assertTrue(refs)
        for v, ref, rel in refs:
            self.check(f"/compute/v2.1/servers/{sid}/diagnostics", ref, v, rel)

    def test_migration_lifecycle(self):
        """os-migrateLive with each reference body; progress while running; history after."""
        sid = self.server_id("vm3")
        bodies = self.refs("live-migrate")
        self.assertTrue(bodies)
        host = "hostB"
        for v, body, rel in bodies:
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
            any_host = self.refs("live-migrate-any-host")
            self.assertTrue(any_host)
            v, body, rel = any_host[-1]
            r = self.call("POST", f"/compute/v2.1/servers/{sid}/action", body, version=v)
            self.assertEqual(r.status, 202, f"{rel}: {r.body}")
            show = self.call("GET", f"/compute/v2.1/servers/{sid}", version="2.80").body["server"]
            self.assertEqual(show["status"], "MIGRATING")
            self.assertEqual(show["OS-EXT-STS:task_state"], "migrating")
            # A second request while migrating: 409 in Nova's shape.
            r = self.call("POST", f"/compute/v2.1/servers/{sid}/action", body, version=v)
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
            for v, ref, rel in self.refs("server-migrations"):
                self.check(f"/compute/v2.1/servers/{sid}/migrations", ref, v, rel)
            for v, ref, rel in self.refs("server-migration"):
                self.check(f"/compute/v2.1/servers/{sid}/migrations/{mid}", ref, v, rel)
            for v, ref, rel in self.refs("migration-in-progress"):
                # The newest first: the one in progress, with a link to it.
                r = self.call("GET", "/compute/v2.1/os-migrations", version=v)
                self.assertEqual(r.status, 200, r.body)
                first = r.body["migrations"][0]
                self.assertIn("links", first)
                self.assertHasFields(first, ref["migrations"][0], f"os-migrations @{v} vs {rel}")
            for v, body, rel in self.refs("force-complete"):
                r = self.call("POST", f"/compute/v2.1/servers/{sid}/migrations/{mid}/action",
                              body, version=v)
                self.assertEqual(r.status, 202, f"{rel}: {r.body}")
            r = self.call("DELETE", f"/compute/v2.1/servers/{sid}/migrations/{mid}", version="2.24")
            self.assertEqual(r.status, 202, r.body)
            mig = self.wait_migration(sid)
            self.assertEqual(mig["status"], "cancelled")
            r = self.call("GET", f"/compute/v2.1/servers/{sid}/migrations/{mid}", version="2.80")
            self.assertEqual(r.status, 404)
            self.assertIn("itemNotFound", r.body)
        finally:
            self.world.params["outage_ms"] = 30.0

        for v, ref, rel in self.refs("migrations"):
            self.check("/compute/v2.1/os-migrations", ref, v, rel)
        for v, ref, rel in self.refs("instance-actions"):
            self.check(f"/compute/v2.1/servers/{sid}/os-instance-actions", ref, v, rel)
        acts = self.call("GET", f"/compute/v2.1/servers/{sid}/os-instance-actions",
                         version="2.84").body["instanceActions"]
        self.assertEqual(acts[-1]["action"], "create")
        self.assertEqual(acts[0]["action"], "live-migration")
        rid = acts[0]["request_id"]
        for v, ref, rel in self.refs("instance-action"):
            r = self.check(f"/compute/v2.1/servers/{sid}/os-instance-actions/{rid}", ref, v, rel)
            self.assertTrue(r.body["instanceAction"]["events"])


class FixtureContractTest(ContractChecks, CloudTestCase):
    """The lab cloud against the project's own fixtures."""

    def refs(self, call):
        return [(v, fixture(rel), rel) for v, rel in FIXTURE_CALLS.get(call, [])]

    def test_errors_and_headers(self):
        r = self.call("GET", "/compute/v2.1/servers/nope")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.body, {"itemNotFound": {"code": 404,
                                                   "message": "Instance nope could not be found."}})
        self.assertRegex(r.headers["x-openstack-request-id"], r"^req-[0-9a-f-]{36}$")
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


@unittest.skipUnless(PUBLISHED, "MIGPROBE_API_SAMPLES is not set: the lab cloud is not compared "
                     "with the published OpenStack API samples (set it to a folder holding "
                     "them to run this extra)")
class PublishedContractTest(ContractChecks, CloudTestCase):
    """The lab cloud against the published samples, at every microversion they show."""

    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(os.path.join(PUBLISHED, "nova")):
            raise AssertionError(f"MIGPROBE_API_SAMPLES={PUBLISHED} holds no nova/ folder")
        super().setUpClass()

    def refs(self, call):
        source = PUBLISHED_CALLS.get(call)
        return [(v, published(rel), rel) for v, rel in source()] if source else []


if __name__ == "__main__":
    unittest.main()
