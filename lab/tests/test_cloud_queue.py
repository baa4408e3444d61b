"""The lab cloud queues live migrations as a Nova compute host does: beyond
max_concurrent_live_migrations per source host they wait in status "queued", start one by one
as others end, and a queued one is cancelled by DELETE at microversion 2.65+ (400 before)."""

import time
import unittest

from cloudtest import CloudTestCase


class QueueTest(CloudTestCase):
    guests = 3

    def setUp(self):
        # Every guest on hostA first, with no limit and short outages.
        for name in ("vm1", "vm2", "vm3"):
            sid = self.server_id(name)
            if self.host_of(sid) != "hostA":
                self.migrate(sid, "hostA")
                self.assertEqual(self.wait_migration(sid, timeout=30)["status"], "completed")
        self.world.max_concurrent = 1
        self.world.params["outage_ms"] = 1500.0

    def tearDown(self):
        self.world.max_concurrent = 0
        self.world.params["outage_ms"] = 30.0
        # Whatever a test left in flight ends before the next one starts.
        for name in ("vm1", "vm2", "vm3"):
            sid = self.server_id(name)
            migs = self.call("GET", f"/compute/v2.1/os-migrations?instance_uuid={sid}",
                             version="2.80").body["migrations"]
            if migs:
                self.wait_migration(sid, timeout=30)

    def migrate(self, sid, host):
        r = self.call("POST", f"/compute/v2.1/servers/{sid}/action",
                      {"os-migrateLive": {"host": host, "block_migration": "auto"}}, version="2.80")
        self.assertEqual(r.status, 202, r.body)

    def in_progress(self, sid):
        migs = self.call("GET", f"/compute/v2.1/servers/{sid}/migrations",
                         version="2.80").body["migrations"]
        return migs[0] if migs else None

    def wait_status(self, sid, status, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mig = self.in_progress(sid)
            if mig is not None and mig["status"] == status:
                return mig
            time.sleep(0.05)
        self.fail(f"{sid}: no in-progress migration in status {status} after {timeout}s "
                  f"(now {self.in_progress(sid)})")

    def host_of(self, sid):
        return self.call("GET", f"/compute/v2.1/servers/{sid}").body["server"][
            "OS-EXT-SRV-ATTR:host"]

    def test_one_at_a_time_from_a_source_host(self):
        ids = [self.server_id(n) for n in ("vm1", "vm2", "vm3")]
        dest = "hostB"
        for sid in ids:
            self.migrate(sid, dest)
        self.wait_status(ids[0], "running")
        # The other two wait, listed with Nova's in-progress fields.
        for sid in ids[1:]:
            mig = self.wait_status(sid, "queued")
            self.assertEqual(mig["dest_compute"], dest)
            self.assertEqual(mig["memory_processed_bytes"], 0)
        # Never two running at once; each starts after the one before it ended.
        seen_running = set()
        deadline = time.monotonic() + 30
        while len(seen_running) < 3 and time.monotonic() < deadline:
            # One list call: the statuses of all three at one moment (three calls in a row
            # could see the first still running and, an instant later, the next started).
            migs = self.call("GET", "/compute/v2.1/os-migrations",
                             version="2.80").body["migrations"]
            running = [m["instance_uuid"] for m in migs
                       if m["instance_uuid"] in ids and m["status"] in ("preparing", "running")]
            self.assertLessEqual(len(running), 1, running)
            seen_running.update(running)
            time.sleep(0.05)
        self.assertEqual(seen_running, set(ids))
        for sid in ids:
            self.assertEqual(self.wait_migration(sid, timeout=30)["status"], "completed")
            self.assertEqual(self.host_of(sid), dest)

    def test_a_queued_migration_is_cancelled_at_2_65(self):
        ids = [self.server_id(n) for n in ("vm1", "vm2")]
        source, dest = "hostA", "hostB"
        self.migrate(ids[0], dest)
        self.wait_status(ids[0], "running")
        self.migrate(ids[1], dest)
        mid = self.wait_status(ids[1], "queued")["id"]
        # Before 2.65 only a running migration can be aborted.
        r = self.call("DELETE", f"/compute/v2.1/servers/{ids[1]}/migrations/{mid}", version="2.64")
        self.assertEqual(r.status, 400, r.body)
        self.assertIn("queued", r.body["badRequest"]["message"])
        r = self.call("DELETE", f"/compute/v2.1/servers/{ids[1]}/migrations/{mid}", version="2.65")
        self.assertEqual(r.status, 202, r.body)
        mig = self.wait_migration(ids[1], timeout=10)
        self.assertEqual(mig["status"], "cancelled")
        self.assertEqual(self.host_of(ids[1]), source)
        server = self.call("GET", f"/compute/v2.1/servers/{ids[1]}", version="2.80").body["server"]
        self.assertIsNone(server["OS-EXT-STS:task_state"])
        # The first went on undisturbed.
        self.assertEqual(self.wait_migration(ids[0], timeout=30)["status"], "completed")
        self.assertEqual(self.host_of(ids[0]), dest)


if __name__ == "__main__":
    unittest.main()
