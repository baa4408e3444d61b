"""VM metrics on QEMU guests: vm1 dirties memory (the lab's load: 8 MB rewritten 300000 pages a
second, about half a vCPU under TCG here), vm2 is idle; both are evacuated there and back
with their diagnostics sampled every 500 ms. The report shows vm1's CPU during its
migrations well above vm2's (the mean over the legs, as a cell's row shows it; one leg alone
is a few samples, and once, at a lighter load, an idle guest's leg read 33% against the busy
one's 26%), and each one's memory transferred and transfer rate, as measured (not compared:
see below). A test that fails while
a guest kernel failed (a lab fault on some hosts, lab/README.md) runs again on a rebuilt lab."""

import os
import shutil
import sys
import unittest

import e2e


@unittest.skipUnless(shutil.which("qemu-system-x86_64"), "QEMU is not installed")
class VmMetrics(e2e.EvacuationTestCase):

    lab_args = ["--guests", "2", "--load", "8,300000", "--load-on", "vm1"]
    work_prefix = "migprobe-e2e-vm-metrics-"
    reply_timeout_ms = 1000

    @e2e.retry_on_lab_fault
    def test_a_dirtying_guest_against_an_idle_one(self):
        env = self.start_cloud()
        out = os.path.join(self.work, "run")
        cp = self.control(env, *self.evacuate_args(
            out, "icmp=20ms", "--reply-timeout", "1s", "--settle", "2s",
            "--vm-metrics-period", "500ms"))
        self.assertEqual(cp.returncode, 0, cp.stderr)
        report = e2e.load_report(out)
        per_vm = {}
        for t in report["targets"]:
            per_vm[t["name"]] = t["migrations"]
        self.assertEqual(sorted(per_vm), ["vm1", "vm2"])
        lines = []
        diffs = []
        for leg in range(2):
            busy = per_vm["vm1"][leg]
            idle = per_vm["vm2"][leg]
            for m in (busy, idle):
                self.assertIn("vm", m, m["migration"]["instance_name"])
                for phase in ("before", "during", "after"):
                    self.assertGreater(m["vm"][phase]["samples"], 0,
                                       f"{m['migration']['instance_name']} {phase}: {m['vm']}")
            lines.append(
                f"leg {leg + 1}: CPU before/during/after vm1 "
                f"{busy['vm']['before']['cpu_percent']:.0f}/"
                f"{busy['vm']['during']['cpu_percent']:.0f}/"
                f"{busy['vm']['after']['cpu_percent']:.0f}% vm2 "
                f"{idle['vm']['before']['cpu_percent']:.0f}/"
                f"{idle['vm']['during']['cpu_percent']:.0f}/"
                f"{idle['vm']['after']['cpu_percent']:.0f}%; memory vm1 "
                f"{int(busy['migration']['memory_processed_bytes']) / 1e6:.1f} MB at "
                f"{busy['vm']['memory_transfer_mb_s']:.1f} MB/s, vm2 "
                f"{int(idle['migration']['memory_processed_bytes']) / 1e6:.1f} MB at "
                f"{idle['vm']['memory_transfer_mb_s']:.1f} MB/s")
            # The dirtying loop keeps vm1's vCPU busy; vm2's idles. (Before the request the two
            # are not compared: vm2's 10 s before are vm1's migration, and the guests share
            # the core migprobe-dp's RX leaves them with everything else.)
            diffs.append(busy["vm"]["during"]["cpu_percent"] - idle["vm"]["during"]["cpu_percent"])
            # Nova's progress of each: what it had transferred at the last poll that showed the
            # migration in progress, and the rate. Not compared: under TCG on two cores the
            # migration thread competes with the busy vCPU, and vm1's rate (and even its
            # bytes, an 8 MB working set against polls 250 ms apart) came out above vm2's in
            # some legs and below in others; they are reported as measured.
            for m in (busy, idle):
                self.assertGreater(int(m["migration"]["memory_processed_bytes"]), 0, lines[-1])
                self.assertGreater(m["vm"]["memory_transfer_mb_s"], 0, lines[-1])
        print("\n" + "\n".join(lines), file=sys.stderr)
        # By a wide margin over both legs (measured here: 33 to 47 points a leg).
        self.assertGreater(sum(diffs) / len(diffs), 15, "\n".join(lines))
        with open(os.path.join(out, "report.txt")) as f:
            text = f.read()
        self.assertIn("vm during CPU", text)
        self.assertIn("memory transferred at", text)
        self.assertReplaysTheSame(out)


if __name__ == "__main__":
    unittest.main()
