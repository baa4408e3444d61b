"""With QEMU: 10 back-and-forth live migrations of a guest under a memory-dirtying load
all complete, each with its ground-truth record, and a ping every 1 ms from the
kernel-probe namespace sees each pause.

The migrations alternate post-copy (to hostB) and pre-copy with a downtime limit that
stops the guest after the first pass (to hostA). On these machines (QEMU 7.2, TCG), a
pre-copy migration that iterates while the guest dirties memory at a high rate corrupts
the guest (it oopses shortly after arrival; see lab/README.md), so the test uses the two
modes that stay correct.
"""

import json
import os
import signal
import subprocess
import time
import unittest

from labtest import LAB_DIR, PYTHON, LabTestCase, qemu_available

LOAD = "32,2000"  # MB, pages dirtied per second
ROUNDS = 10


@unittest.skipUnless(qemu_available(), "qemu-system-x86_64 not installed")
class LoadedMigrationTest(LabTestCase):
    def test_ten_migrations_under_load(self):
        self.lab("up", "--mode", "qemu", "--guests", "1", "--kernel-probe", "--load", LOAD)
        env = dict(self.env, PYTHONPATH=LAB_DIR)
        pinger = subprocess.Popen(
            ["ip", "netns", "exec", "mp-kprobe", PYTHON, "-m", "migprobe_lab.pinger",
             "10.77.0.11", "--seconds", "120", "--gap-ms", "3"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        records = []
        try:
            time.sleep(1.0)
            for i in range(ROUNDS):
                if i % 2 == 0:
                    args = ["--to", "hostB", "--postcopy"]
                else:
                    args = ["--to", "hostA", "--downtime-limit-ms", "5000"]
                rec = json.loads(self.lab("migrate", "vm1", *args).stdout)
                records.append(rec)
                time.sleep(0.5)
            time.sleep(1.0)
        finally:
            pinger.send_signal(signal.SIGINT)
            out, err = pinger.communicate(timeout=30)
        ping = json.loads(out)
        self.assertGreater(ping["received"], ping["sent"] * 0.8, "the guest stopped answering")

        truth = [json.loads(l) for l in self.lab("truth").stdout.splitlines()]
        self.assertEqual(len(truth), ROUNDS)
        for i, (rec, tr) in enumerate(zip(records, truth)):
            with self.subTest(migration=i):
                self.assertEqual(rec, tr)
                self.assertEqual(rec["status"], "completed", rec)
                self.assertEqual(rec["dest_host"], "hostB" if i % 2 == 0 else "hostA")
                self.assertGreater(rec["total_time_ms"], 0)
                self.assertIsNotNone(rec["downtime_ms"])
                self.assertGreater(rec["ram"]["transferred_bytes"], 32 * 2**20)
                stop, resume = rec["stop_ns"], rec["resume_ns"]
                self.assertLess(rec["requested_ns"], stop)
                self.assertLess(stop, resume)
                pause_ms = (resume - stop) / 1e6
                covering = [g for g in ping["gaps"]
                            if g["from_ns"] <= resume and g["to_ns"] >= stop]
                self.assertTrue(covering, f"no reply gap around the pause of migration {i} "
                                          f"({pause_ms:.1f} ms)")
                longest = max(g["ms"] for g in covering)
                self.assertGreaterEqual(longest, pause_ms)
                self.assertLess(longest, 3000)
        st = self.status()
        self.assertEqual(st["guests"]["vm1"]["host"], "hostA")
        self.assertTrue(st["guests"]["vm1"]["running"])
        serial = os.path.join(self.state_dir, "guests", "vm1", "hostA.serial")
        with open(serial, errors="replace") as f:
            self.assertNotIn("Oops", f.read())
        self.lab("down")
        self.assertNothingLeft()


if __name__ == "__main__":
    unittest.main()
