"""The rack with namespace guests (the fallback): up/down, idempotence, an outage
migration with its ground truth, seen by a 1 ms ping."""

import json
import subprocess
import threading
import time
import unittest

from labtest import CLI, PYTHON, LabTestCase


class NetnsRackTest(LabTestCase):
    def tearDown(self):
        self.lab("down")
        self.assertNothingLeft()

    def test_up_twice_migrate_down(self):
        self.lab("up", "--mode", "netns", "--guests", "3", "--kernel-probe")
        self.lab("up", "--mode", "netns", "--guests", "3", "--kernel-probe")  # idempotent
        st = self.status()
        self.assertEqual(st["mode"], "netns")
        self.assertEqual(sorted(st["guests"]), ["vm1", "vm2", "vm3"])
        self.assertTrue(all(g["host"] == "hostA" and g["running"] for g in st["guests"].values()))
        self.assertEqual(st["guests"]["vm3"]["ip"], "10.77.0.13")
        self.assertEqual(st["guests"]["vm3"]["mac"], "52:54:00:77:00:13")

        # Different settings on a running lab: refused with a clear message.
        cp = self.lab("up", "--mode", "netns", "--guests", "2", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("migprobe-lab down", cp.stderr)

        result = {}
        t = threading.Thread(target=lambda: result.update(self.ping("10.77.0.12", 2.0, 20.0)))
        t.start()
        time.sleep(0.6)
        rec = json.loads(self.lab("migrate", "vm2", "--to", "hostB", "--outage-ms", "250").stdout)
        t.join()
        self.assertEqual(rec["status"], "completed")
        self.assertEqual(rec["format_version"], 1)
        self.assertEqual((rec["source_host"], rec["dest_host"]), ("hostA", "hostB"))
        self.assertEqual(len(rec["announce_ns"]), 5)
        edges = rec["outage_edges_ns"]
        self.assertGreaterEqual(edges["up_before"] - edges["down_after"], 250e6)
        self.assertLess(rec["stop_ns"], rec["resume_ns"])
        gaps = [g for g in result["gaps"]
                if g["from_ns"] <= edges["up_after"] and g["to_ns"] >= edges["down_before"]]
        self.assertEqual(len(gaps), 1, result)
        self.assertGreaterEqual(gaps[0]["ms"], 250)
        self.assertLess(gaps[0]["ms"], 400)
        self.assertEqual(self.status()["guests"]["vm2"]["host"], "hostB")

        truth = [json.loads(l) for l in self.lab("truth").stdout.splitlines()]
        self.assertEqual([r["instance"] for r in truth], ["vm2"])

        # Errors: unknown host, unknown guest, already there.
        for args, msg in ((["vm2", "--to", "hostZ"], "unknown host"),
                          (["vm9", "--to", "hostB"], "no guest named"),
                          (["vm2", "--to", "hostB"], "already on hostB")):
            cp = self.lab("migrate", *args, check=False)
            self.assertEqual(cp.returncode, 1)
            self.assertIn(msg, cp.stderr)
        # TCP echo on the guest answers from its new place.
        cp = subprocess.run(["ip", "netns", "exec", "mp-kprobe", "busybox", "nc", "-w", "2",
                             "10.77.0.12", "7"], input="echo-me\n", capture_output=True, text=True)
        self.assertIn("echo-me", cp.stdout)

    def test_auto_falls_back_when_qemu_cannot_run(self):
        for qemu in ("/nonexistent/qemu-system-x86_64", "/bin/false"):
            with self.subTest(qemu=qemu):
                env = dict(self.env, MIGPROBE_LAB_QEMU=qemu)
                cp = subprocess.run([PYTHON, CLI, "up", "--guests", "2"], env=env,
                                    capture_output=True, text=True, timeout=120)
                self.assertEqual(cp.returncode, 0, cp.stderr)
                self.assertIn("namespace guests", cp.stderr)
                self.assertEqual(self.status()["mode"], "netns")
                self.lab("down")
                self.assertNothingLeft()


if __name__ == "__main__":
    unittest.main()
