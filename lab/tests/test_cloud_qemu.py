"""The lab cloud driving real QEMU migrations: memory progress while running, force
complete (the guest is paused so the copy converges, then resumed on the destination),
abort (the guest stays on its source). The guest answers pings after each."""

import time
import unittest

from cloudtest import CloudTestCase
from labtest import qemu_available


@unittest.skipUnless(qemu_available(), "qemu-system-x86_64 not installed")
class CloudQemuTest(CloudTestCase):
    guests = 1
    up_args = ("--mode", "qemu", "--kernel-probe")
    # Slow enough (about 4 s for the guest's memory) to look at a running migration.
    migration_params = {"bandwidth_mibps": 16.0, "downtime_limit_ms": 20}

    def start_and_wait_running(self, sid, host):
        r = self.call("POST", f"/compute/v2.1/servers/{sid}/action",
                      {"os-migrateLive": {"host": host, "block_migration": "auto"}}, version="2.80")
        self.assertEqual(r.status, 202, r.body)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            migs = self.call("GET", f"/compute/v2.1/servers/{sid}/migrations",
                             version="2.80").body["migrations"]
            if migs and migs[0]["status"] == "running" and migs[0]["memory_processed_bytes"] > 0:
                return migs[0]
            time.sleep(0.1)
        self.fail("the migration never showed progress")

    def test_progress_force_complete_abort(self):
        sid = self.server_id("vm1")
        mig = self.start_and_wait_running(sid, "hostB")
        self.assertGreater(mig["memory_total_bytes"], 100 * 2**20)
        # libvirt's memProcessed is QEMU's "transferred": zero pages count little.
        self.assertLess(mig["memory_remaining_bytes"], mig["memory_total_bytes"])
        self.assertLess(mig["memory_processed_bytes"],
                        mig["memory_total_bytes"] - mig["memory_remaining_bytes"])
        # Diagnostics are answered while the server migrates (from its source QEMU): the
        # time of its vCPU thread, the counters of its tap.
        d = self.call("GET", f"/compute/v2.1/servers/{sid}/diagnostics", version="2.48")
        self.assertEqual(d.status, 200, d.body)
        self.assertGreater(d.body["cpu_details"][0]["time"], 0)
        self.assertGreater(d.body["uptime"], 0)
        self.assertEqual(d.body["nic_details"][0]["mac_address"], "52:54:00:77:00:11")
        time.sleep(0.5)
        later = self.call("GET", f"/compute/v2.1/servers/{sid}/migrations/{mig['id']}",
                          version="2.80").body["migration"]
        self.assertGreater(later["memory_processed_bytes"], mig["memory_processed_bytes"])
        r = self.call("POST", f"/compute/v2.1/servers/{sid}/migrations/{mig['id']}/action",
                      {"force_complete": None}, version="2.22")
        self.assertEqual(r.status, 202, r.body)
        done = self.wait_migration(sid)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(self.status()["guests"]["vm1"]["host"], "hostB")
        self.assertGreater(self.ping("10.77.0.11", 0.3)["received"], 250)
        truth = self.world.migrations[-1]["truth"]
        self.assertEqual(truth["migration_id"], done["uuid"])
        self.assertIsNotNone(truth["resume_ns"])

        mig = self.start_and_wait_running(sid, "hostA")
        r = self.call("DELETE", f"/compute/v2.1/servers/{sid}/migrations/{mig['id']}",
                      version="2.24")
        self.assertEqual(r.status, 202, r.body)
        self.assertEqual(self.wait_migration(sid)["status"], "cancelled")
        srv = self.call("GET", f"/compute/v2.1/servers/{sid}", version="2.80").body["server"]
        self.assertEqual((srv["status"], srv["OS-EXT-SRV-ATTR:host"]), ("ACTIVE", "hostB"))
        self.assertGreater(self.ping("10.77.0.11", 0.3)["received"], 250)


if __name__ == "__main__":
    unittest.main()
