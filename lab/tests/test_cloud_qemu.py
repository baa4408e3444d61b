"""The lab cloud driving real QEMU migrations: memory progress while running, force
complete (the guest is paused so the copy converges, then resumed on the destination),
abort (the guest stays on its source). The guest answers pings after each. A server booted
from an image uploaded to Glance (the lab's guest image: `migprobe-lab image`) on a chosen
host answers pings and has diagnostics, and is gone after its delete; a server whose image
is not a guest image goes to ERROR with the guest's own words."""

import os
import time
import unittest

from cloudtest import CloudTestCase, fixture
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


@unittest.skipUnless(qemu_available(), "qemu-system-x86_64 not installed")
class CloudQemuBootTest(CloudTestCase):
    guests = 0
    up_args = ("--mode", "qemu", "--kernel-probe")

    def image(self, name, data):
        r = self.call("POST", "/image/v2/images", {"name": name, "disk_format": "raw",
                                                   "container_format": "bare"})
        self.assertEqual(r.status, 201, r.body)
        iid = r.body["id"]
        self.addCleanup(self.call, "DELETE", f"/image/v2/images/{iid}")
        status, body = self.upload(iid, data)
        self.assertEqual(status, 204, body)
        return iid

    def boot(self, iid, name):
        b = fixture("nova/2.74/server-create-request.json")
        b["server"].pop("key_name")
        b["server"].update(name=name, imageRef=iid)
        r = self.call("POST", "/compute/v2.1/servers", b, version="2.74")
        self.assertEqual(r.status, 202, r.body)
        sid = r.body["server"]["id"]
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            s = self.call("GET", f"/compute/v2.1/servers/{sid}", version="2.96").body["server"]
            if s["status"] != "BUILD":
                return s
            time.sleep(0.2)
        self.fail(f"{name} still building after 150 s")

    def delete(self, sid):
        self.assertEqual(self.call("DELETE", f"/compute/v2.1/servers/{sid}").status, 204)
        deadline = time.monotonic() + 30
        while self.call("GET", f"/compute/v2.1/servers/{sid}").status != 404:
            self.assertLess(time.monotonic(), deadline, "server still there after its delete")
            time.sleep(0.1)

    def test_boot_from_an_uploaded_image_and_delete(self):
        with open(self.status()["image"]["initrd"], "rb") as f:
            iid = self.image("mp-test-guest", f.read())
        s = self.boot(iid, "mp-test-1")
        self.assertEqual(s["status"], "ACTIVE", s.get("fault"))
        self.assertEqual(s["OS-EXT-SRV-ATTR:host"], "hostB")
        ip = s["addresses"]["lab-net"][0]["addr"]
        self.assertGreater(self.ping(ip, 0.3)["received"], 250)
        d = self.call("GET", f"/compute/v2.1/servers/{s['id']}/diagnostics", version="2.48")
        self.assertEqual(d.status, 200, d.body)
        self.assertGreater(d.body["cpu_details"][0]["time"], 0)
        pidfile = os.path.join(self.state_dir, "guests", "vm1", "hostB.pid")
        self.assertTrue(os.path.exists(pidfile))
        self.delete(s["id"])
        self.assertFalse(os.path.exists(pidfile), "the server's QEMU was left running")
        self.assertEqual(self.status()["guests"], {})

    def test_an_image_that_is_not_a_guest_goes_to_error(self):
        iid = self.image("mp-test-junk", b"not an initramfs" * 4096)
        s = self.boot(iid, "mp-test-junk")
        self.assertEqual(s["status"], "ERROR")
        self.assertIn("stopped while it booted", s["fault"]["message"])
        self.assertEqual(self.status()["guests"], {})
        self.delete(s["id"])
