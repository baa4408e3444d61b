"""The run's policy for a migration that does not converge, and parallel evacuation, on QEMU
guests: with the lab cloud's migrations held to 8 MiB/s (128 MiB guests, ~16 s each),
force-complete pauses the guest and the migration completes; abort cancels it and the VM
stays on its source (and is not moved back); --parallel 2 has two migrations in flight.
A test that fails while a guest kernel failed (a lab fault on some hosts, lab/README.md)
runs again on a rebuilt lab."""

import json
import os
import shutil
import unittest

import e2e


@unittest.skipUnless(shutil.which("qemu-system-x86_64"), "QEMU is not installed")
class Policies(e2e.EvacuationTestCase):

    lab_args = ["--guests", "2"]
    work_prefix = "migprobe-e2e-policies-"
    reply_timeout_ms = 1000

    def evacuate(self, env, out, *extra):
        return self.control(env, *self.evacuate_args(
            out, "icmp=5ms,udp=5ms", "--reply-timeout", "1s", "--settle", "1s",
            "--hypervisor-figures", os.path.join(self.state_dir, "ground-truth.jsonl"), *extra))

    @e2e.retry_on_lab_fault
    def test_force_complete(self):
        env = self.start_cloud("--bandwidth", "8")
        out = os.path.join(self.work, "run")
        cp = self.evacuate(env, out, "--servers", "vm1", "--policy", "force-complete",
                           "--converge-timeout", "3s")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("force complete requested", cp.stderr)
        report = e2e.load_report(out)
        self.assertEqual([m["outcome"] for m in report["migrations"]],
                         ["MIGRATION_OUTCOME_COMPLETED"] * 2)
        for m in report["migrations"]:
            # Forced: the guest was paused for the rest of the transfer (seconds, not ms).
            pause_ms = (int(m["hypervisor_resume_ns"]) - int(m["hypervisor_stop_ns"])) / 1e6
            self.assertGreater(pause_ms, 1000, m)
        self.assertReplaysTheSame(out)

    @e2e.retry_on_lab_fault
    def test_abort(self):
        env = self.start_cloud("--bandwidth", "8")
        out = os.path.join(self.work, "run")
        cp = self.evacuate(env, out, "--servers", "vm1", "--policy", "abort",
                           "--converge-timeout", "2s")
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertIn("abort requested", cp.stderr)
        report = e2e.load_report(out)
        # Aborted there, so not moved back.
        self.assertEqual([m["outcome"] for m in report["migrations"]],
                         ["MIGRATION_OUTCOME_ABORTED"], cp.stderr)
        self.assertIn("stayed on hostA", report["migrations"][0]["error"])
        status = json.loads(self.lab("status", "--json").stdout)
        self.assertEqual(status["guests"]["vm1"]["host"], "hostA")
        self.assertReplaysTheSame(out)

    @e2e.retry_on_lab_fault
    def test_parallel(self):
        env = self.start_cloud()
        out = os.path.join(self.work, "run")
        cp = self.evacuate(env, out, "--parallel", "2")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        report = e2e.load_report(out)
        migrations = report["migrations"]
        self.assertEqual(len(migrations), 4)
        # Both VMs of a direction were in flight at once.
        for leg in (migrations[0:2], migrations[2:4]):
            a, b = sorted(leg, key=lambda m: int(m["requested_ns"]))
            self.assertLess(int(b["requested_ns"]), int(a["completed_ns"]),
                            "the second migration started only after the first ended")
        self.assertEqual(report["unattributed_gaps"], [])
        self.assertReplaysTheSame(out)


if __name__ == "__main__":
    unittest.main()
