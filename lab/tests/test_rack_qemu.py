"""The rack with real QEMU guests: one command up and down (twice), an interrupted
bring-up leaves nothing behind, live migrations with ground truth, a failed migration
leaves the guest running on its source."""

import json
import os
import signal
import subprocess
import time
import unittest

from labtest import CLI, PYTHON, LabTestCase, qemu_available
from migprobe_lab import rack


@unittest.skipUnless(qemu_available(), "qemu-system-x86_64 not installed")
class QemuRackTest(LabTestCase):
    def test_1_up_down_up(self):
        t0 = time.monotonic()
        self.lab("up", "--mode", "qemu", "--guests", "3", "--kernel-probe")
        boot_s = time.monotonic() - t0
        st = self.status()
        self.assertEqual(st["mode"], "qemu")
        self.assertTrue(st["healthy"])
        self.assertEqual({g["host"] for g in st["guests"].values()}, {"hostA"})
        for g in st["guests"].values():
            self.assertTrue(g["running"], g)
            self.assertGreater(self.ping(g["ip"], 0.3)["received"], 250, g["name"])
        # ICMP, TCP echo (7) and discard (9) answer.
        cp = subprocess.run(["ip", "netns", "exec", "mp-kprobe", "busybox", "nc", "-w", "3",
                             "10.77.0.13", "7"], input="hello-guest\n", capture_output=True, text=True)
        self.assertIn("hello-guest", cp.stdout)
        cp = subprocess.run(["ip", "netns", "exec", "mp-kprobe", "busybox", "nc", "-w", "1",
                             "10.77.0.13", "9"], input="dropped\n", capture_output=True, text=True)
        self.assertEqual(cp.stdout, "")
        self.lab("up", "--mode", "qemu", "--guests", "3", "--kernel-probe")  # no-op
        self.lab("down")
        self.assertNothingLeft()
        # A second run on the same machine works.
        self.lab("up", "--mode", "qemu", "--guests", "3", "--kernel-probe")
        self.assertTrue(self.status()["healthy"])
        print(f"\n  first bring-up of 3 guests took {boot_s:.1f}s", end=" ")

    def test_2_migrate_and_fail(self):
        if not self.status().get("healthy"):
            self.lab("up", "--mode", "qemu", "--guests", "3", "--kernel-probe")
        rec = json.loads(self.lab("migrate", "vm1", "--to", "hostB", "--downtime-limit-ms", "20").stdout)
        self.assertEqual(rec["status"], "completed", rec)
        self.assertEqual(rec["kind"], "qemu")
        self.assertGreater(rec["downtime_ms"], 0)
        self.assertGreater(rec["total_time_ms"], 0)
        self.assertLess(rec["requested_ns"], rec["stop_ns"])
        self.assertLess(rec["stop_ns"], rec["resume_ns"])
        self.assertLessEqual(rec["resume_ns"] - rec["stop_ns"], 10**9)
        st = self.status()
        self.assertEqual(st["guests"]["vm1"]["host"], "hostB")
        self.assertTrue(rack.link_exists("mpB1") and not rack.link_exists("mpA1"))
        self.assertGreater(self.ping("10.77.0.11", 0.3)["received"], 250)

        # A real failure: the destination QEMU dies mid-migration.
        cp = self.lab("migrate", "vm1", "--to", "hostA", "--inject-failure", "dest-crash", check=False)
        self.assertEqual(cp.returncode, 1)
        rec = json.loads(cp.stdout)
        self.assertEqual(rec["status"], "failed")
        self.assertTrue(rec["error"])
        st = self.status()
        self.assertEqual(st["guests"]["vm1"]["host"], "hostB")
        self.assertTrue(st["guests"]["vm1"]["running"])
        self.assertFalse(rack.link_exists("mpA1"))
        self.assertGreater(self.ping("10.77.0.11", 0.3)["received"], 250)

        cp = self.lab("migrate", "vm1", "--to", "hostA", "--inject-failure", "dest-start", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("destination did not start", json.loads(cp.stdout)["error"])
        self.assertFalse(rack.link_exists("mpA1"))

        # Parameters reach QEMU and are recorded.
        rec = json.loads(self.lab("migrate", "vm2", "--to", "hostB", "--bandwidth", "200",
                                  "--auto-converge", "--downtime-limit-ms", "50").stdout)
        self.assertEqual(rec["status"], "completed")
        self.assertEqual((rec["parameters"]["bandwidth_mibps"], rec["parameters"]["auto_converge"],
                          rec["parameters"]["downtime_limit_ms"]), (200.0, True, 50))
        q = rec["qemu_parameters"]
        self.assertEqual((q["downtime_limit_ms"], q["max_bandwidth_bytes_per_s"]), (50, 200 * 2**20))
        self.assertIn("auto-converge", q["capabilities"])
        self.assertIn("events", q["capabilities"])

        truth = [json.loads(l) for l in self.lab("truth").stdout.splitlines()]
        self.assertEqual([r["status"] for r in truth][-4:],
                         ["completed", "failed", "failed", "completed"])
        self.lab("down")
        self.assertNothingLeft()

    def test_3_interrupted_up_leaves_nothing(self):
        self.lab("down")
        p = subprocess.Popen([PYTHON, CLI, "up", "--mode", "qemu", "--guests", "3"],
                             env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Interrupt once the first QEMU is running, in the middle of the bring-up.
        pidfile = os.path.join(self.state_dir, "guests", "vm1", "hostA.pid")
        deadline = time.monotonic() + 60
        while not os.path.exists(pidfile) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(pidfile), "bring-up never started a guest")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("interrupted", err)
        self.assertNothingLeft()


if __name__ == "__main__":
    unittest.main()
