"""A campaign on the lab (issue 13): a spec of three cells over three QEMU guests, run end to
end by `migprobe-control campaign run` with migprobe-dp probing. Two cells evacuate hostA to
hostB and back, the second wrapped in before and after commands; the third's before command
fails, so it is skipped and says why. The campaign report has every cell with its figures
and the matrix table, every migration record carries its cell and labels, and `campaign
report` gives the same report again from the journals. `campaign validate` refuses a spec
naming a host, a server or a flavor the cloud does not have. `campaign compare` flags a slower
setting (the lab cloud's migrations held to 16 MiB/s) and not a second run alike."""

import json
import os
import re
import shutil
import time
import unittest

import e2e

SPEC = """name: lab-e2e
defaults:
  source_host: hostA
  dest_host: hostB
  iterations: 1
  # TCG guests answer late under a migration's load: a reply within 1 s is not lost.
  flows: "icmp=5ms/timeout=1s,udp=5ms/timeout=1s"
axes:
  - name: setting
    values:
      - {{value: plain}}
      - value: wrapped
        before: [sh, -c, "echo before > {work}/before-ran"]
        after: {{argv: [sh, -c, "echo restored; touch {work}/after-ran"], timeout: 30s}}
cells:
  - labels: {{setting: broken}}
    before: [sh, -c, "echo no such play >&2; exit 4"]
"""


@unittest.skipUnless(shutil.which("qemu-system-x86_64"), "QEMU is not installed")
class Campaign(e2e.EvacuationTestCase):

    work_prefix = "migprobe-e2e-campaign-"
    reply_timeout_ms = 1000

    def write_spec(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_validate_refuses_what_the_cloud_lacks(self):
        env = self.start_cloud()
        good = self.write_spec("good.yaml", SPEC.format(work=self.work))
        cp = self.control(env, "campaign", "validate", good)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("3 cells", cp.stdout)
        bad = self.write_spec("bad.yaml", """name: bad
cells:
  - {labels: {c: one}, source_host: hostA, dest_host: hostC}
  - {labels: {c: two}, source_host: hostA, dest_host: hostB, servers: [vm1, vm9]}
  - {labels: {c: three}, source_host: hostA, dest_host: hostB, flavor: m1.large}
  - {labels: {c: four}, source_host: hostA, dest_host: hostB, flavor: lab.tiny}
""")
        cp = self.control(env, "campaign", "validate", bad)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("cell 1 (c=one): no hypervisor hostC", cp.stderr)
        self.assertIn("cell 2 (c=two): server 'vm9' is not on host hostA", cp.stderr)
        self.assertIn("cell 3 (c=three): no flavor 'm1.large' in Nova (it has: lab.tiny)",
                      cp.stderr)
        # The lab guests' own flavor is fine.
        self.assertNotIn("cell 4", cp.stderr)
        # And run refuses it before migrating anything.
        out = os.path.join(self.work, "bad-run")
        cp = self.control(env, "campaign", "run", bad, "--out-dir", out)
        self.assertEqual(cp.returncode, 2, cp.stderr)
        self.assertIn("nothing was migrated", cp.stderr)
        self.assertFalse(os.path.exists(os.path.join(out, "campaign.mpj")))

    @e2e.retry_on_lab_fault
    def test_three_cells(self):
        env = self.start_cloud()
        spec = self.write_spec("spec.yaml", SPEC.format(work=self.work))
        out = os.path.join(self.work, "campaign")
        cp = self.control(env, "campaign", "run", spec, "--out-dir", out, "--dataplane-socket",
                          self.dp_socket, "--hypervisor-figures",
                          os.path.join(self.state_dir, "ground-truth.jsonl"), timeout=900)
        context = f"\n--- stdout\n{cp.stdout[-4000:]}\n--- stderr\n{cp.stderr[-6000:]}"
        # 1: a cell was skipped (its before command failed).
        self.assertEqual(cp.returncode, 1, context)
        self.assertIn("cell 3/3 setting=broken: skipped: before command exit 4", cp.stderr)
        with open(os.path.join(out, "campaign-report.json")) as f:
            report = json.load(f)
        self.assertEqual(report["name"], "lab-e2e")
        self.assertEqual(report["labels"], ["setting"])
        cells = report["cells"]
        self.assertEqual([c["cell"]["labels"]["setting"] for c in cells],
                         ["plain", "wrapped", "broken"])
        self.assertEqual([c["state"] for c in cells], ["finished", "finished", "skipped"])
        for c in cells[:2]:
            name = "setting=" + c["cell"]["labels"]["setting"]
            self.assertEqual(c["migrations"], 6, name + context)
            self.assertEqual(c["completed"], 6, name + context)
            for kind in ("downtime", "icmp", "udp"):
                self.assertEqual(c[kind]["count"], 6, f"{name} {kind}")
                self.assertGreater(int(c[kind]["median_ns"]), 0, f"{name} {kind}")
                self.assertGreaterEqual(int(c[kind]["p99_ns"]), int(c[kind]["p95_ns"]))
            self.assertEqual(c["tcp"]["count"], 0, "no TCP flow, no TCP figures")
            self.assertEqual(len(c["downtimes_ns"]), 6)
            # Each gap falls in the window of the migration that caused it (a neighbour's
            # counts: two TCG guests share two cores with the migrating QEMUs).
            self.assertEqual(c["unattributed_gaps"], 0, name + context)
            directions = {(d["source_host"], d["dest_host"]): d for d in c["evacuation_time"]}
            self.assertEqual(set(directions), {("hostA", "hostB"), ("hostB", "hostA")})
            # Every migration record of the cell's run carries the cell and its labels.
            run = e2e.load_report(os.path.join(out, c["dir"]))
            self.assertEqual(len(run["migrations"]), 6)
            for m in run["migrations"]:
                self.assertEqual(m["cell"], name)
                self.assertEqual(m["labels"], c["cell"]["labels"])
                self.assertEqual(m["campaign"], "lab-e2e")
        # The defaults the spec left unsaid are written out.
        self.assertEqual(cells[0]["cell"]["settings"]["policy"], "wait")
        self.assertEqual(cells[0]["cell"]["settings"]["parallel"], 1)
        # The commands ran, journaled with their output; the skipped cell's did not go on.
        self.assertTrue(os.path.exists(os.path.join(self.work, "before-ran")))
        self.assertTrue(os.path.exists(os.path.join(self.work, "after-ran")))
        self.assertEqual(cells[1]["after"]["exit_status"], 0)
        self.assertEqual(cells[1]["after"]["output"], "restored\n")
        self.assertEqual(cells[2]["before"]["exit_status"], 4)
        self.assertEqual(cells[2]["before"]["output"], "no such play\n")
        self.assertEqual(cells[2]["migrations"], 0)
        # The matrix table, printed and written.
        with open(os.path.join(out, "campaign-report.txt")) as f:
            text = f.read()
        self.assertIn(text, cp.stdout)
        self.assertRegex(text, r"# setting +state +migr +ok +mean")
        self.assertRegex(text, r"\n +1 plain +finished +6 +6 ")
        self.assertRegex(text, r"\n +3 broken +skipped +0 +0 ")
        with open(os.path.join(out, "campaign-report.csv")) as f:
            csv_lines = f.read().splitlines()
        self.assertEqual(len(csv_lines), 4)
        self.assertTrue(csv_lines[1].startswith("1,plain,finished,6,6,0,"), csv_lines[1])
        # The same report again from the journals alone.
        before = {}
        for n in ("campaign-report.txt", "campaign-report.json", "campaign-report.csv"):
            with open(os.path.join(out, n)) as f:
                before[n] = f.read()
        again = self.control(env, "campaign", "report", out, "--quiet")
        self.assertEqual(again.returncode, 0, again.stderr)
        for n, body in before.items():
            with open(os.path.join(out, n)) as f:
                self.assertEqual(f.read(), body, n)
        # A second run into the same directory is refused.
        cp = self.control(env, "campaign", "run", spec, "--out-dir", out)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("already holds a campaign", cp.stderr)


COMPARE_SPEC = """name: {name}
cells:
  - labels: {{slice: two-vms}}
    source_host: hostA
    dest_host: hostB
    servers: [vm1, vm2]
    iterations: 2
    flows: "icmp=5ms/timeout=1s,udp=5ms/timeout=1s"
"""


@unittest.skipUnless(shutil.which("qemu-system-x86_64"), "QEMU is not installed")
class Compare(e2e.EvacuationTestCase):
    """Three campaigns of the same cell (two VMs, 8 migrations): two on the lab cloud as it
    is, one with its migrations held to 16 MiB/s (128 MiB guests: about 8 s each instead of
    2). compare flags the slower one and --fail-if exits 1; the two alike are not flagged.
    The significance level is 0.001: 8 against 8 migrations wholly apart give p = 0.00016
    (exact), and two runs alike fail a condition by chance less than once in a thousand."""

    work_prefix = "migprobe-e2e-compare-"
    reply_timeout_ms = 1000

    def campaign(self, env, name):
        spec = os.path.join(self.work, f"{name}.yaml")
        with open(spec, "w") as f:
            f.write(COMPARE_SPEC.format(name=name))
        out = os.path.join(self.work, name)
        cp = self.control(env, "campaign", "run", spec, "--out-dir", out, "--quiet",
                          "--dataplane-socket", self.dp_socket, timeout=900)
        self.assertEqual(cp.returncode, 0, cp.stderr[-4000:])
        return out

    def compare(self, a, b, *extra):
        return self.control(self.env, "campaign", "compare", a, b, "--alpha", "0.001",
                            "--fail-if", "p95 > +10%", "--fail-if", "duration.p95 > +10%",
                            *extra)

    @e2e.retry_on_lab_fault
    def test_a_slower_setting_is_flagged(self):
        env = self.start_cloud()
        base = self.campaign(env, "base")
        again = self.campaign(env, "again")
        env = self.start_cloud("--bandwidth", "16")
        capped = self.campaign(env, "capped")
        self.start_cloud()

        cp = self.compare(base, again)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("1 cells matched", cp.stdout)
        self.assertRegex(cp.stdout, r"slice=two-vms +downtime +8/8 .* same\n")
        self.assertRegex(cp.stdout, r"slice=two-vms +duration +8/8 .* same\n")
        self.assertNotIn("FAIL", cp.stdout)

        cp = self.compare(base, capped)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertRegex(cp.stdout, r"slice=two-vms +duration +8/8 .*DIFFERS \(B slower\)")
        self.assertIn("FAIL slice=two-vms: duration.p95 > +10%", cp.stdout)
        result = json.loads(self.compare(base, capped, "--json").stdout)
        cell = result["cells"][0]
        self.assertTrue(cell["duration"]["exact"])
        self.assertLess(cell["duration"]["p"], 0.001)
        self.assertGreater(cell["duration"]["median"]["change_percent"], 100)

        # Without a condition the slower campaign is reported, not failed.
        cp = self.control(self.env, "campaign", "compare", base, capped)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        cp = self.control(self.env, "campaign", "compare", base, capped, "--fail-if", "p95 > 10%")
        self.assertEqual(cp.returncode, 2)
        self.assertIn("--fail-if 'p95 > 10%': the change needs its sign", cp.stderr)


RESUME_SPEC = """name: resumed
cells:
  - labels: {slice: two-vms}
    source_host: hostA
    dest_host: hostB
    servers: [vm1, vm2]
    iterations: 1
    settle: 3s
    flows: "icmp=5ms/timeout=1s,udp=5ms/timeout=1s"
"""


@unittest.skipUnless(shutil.which("qemu-system-x86_64"), "QEMU is not installed")
class Resume(e2e.EvacuationTestCase):
    """kill -9 of migprobe-control at three moments of a campaign (vm1's first migration
    running, the first leg just done, the settle time after vm1's way back) and `campaign
    resume` after each: the four migrations are each done exactly once (the lab's own record
    of the QEMU migrations says so too), all complete, and the report is a whole run's with
    the three times the control process was away as coverage gaps."""

    work_prefix = "migprobe-e2e-resume-"
    reply_timeout_ms = 1000

    def until_then_kill(self, env, args, pattern, delay=0.0):
        """Runs migprobe-control until a progress line matches pattern, waits delay, then
        kills it with SIGKILL; returns the lines it printed."""
        p = self.control_bg(env, *args)
        lines = []
        try:
            for line in p.stderr:
                lines.append(line)
                if re.search(pattern, line):
                    time.sleep(delay)
                    break
            else:
                self.fail(f"never saw {pattern!r}:\n{''.join(lines[-40:])}")
        finally:
            p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()
        return lines

    def truth_count(self):
        path = os.path.join(self.state_dir, "ground-truth.jsonl")
        if not os.path.exists(path):
            return {}
        counts = {}
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("migration_id"):
                    counts[rec["instance"]] = counts.get(rec["instance"], 0) + 1
        return counts

    @e2e.retry_on_lab_fault
    def test_kill_and_resume_three_times(self):
        env = self.start_cloud()
        spec = os.path.join(self.work, "resume.yaml")
        with open(spec, "w") as f:
            f.write(RESUME_SPEC)
        out = os.path.join(self.work, "resumed")
        truth_before = self.truth_count()
        common = ["--dataplane-socket", self.dp_socket]
        # 1: during vm1's first migration.
        self.until_then_kill(env, ["campaign", "run", spec, "--out-dir", out, *common],
                             r"hostA -> hostB · vm1: running")
        # 2: between the legs.
        lines = self.until_then_kill(env, ["campaign", "resume", out],
                                     r"iteration 1/1 hostA -> hostB: done in")
        text = "".join(lines)
        self.assertIn("cell 1/1 slice=two-vms: resumed", text)
        self.assertRegex(text, r"vm1 hostA -> hostB: completed \(Nova's migration list\)")
        # 3: in the settle time after vm1's way back.
        lines = self.until_then_kill(env, ["campaign", "resume", out],
                                     r"hostB -> hostA · vm1: completed", delay=1.0)
        self.assertNotIn("hostA -> hostB · vm", "".join(lines),
                         "the finished leg was run again")
        # 4: to the end.
        cp = self.control(env, "campaign", "resume", out, timeout=600)
        self.assertEqual(cp.returncode, 0, cp.stderr[-4000:])
        self.assertIn("hostB -> hostA · vm1: done before the run was resumed", cp.stderr)

        with open(os.path.join(out, "campaign-report.json")) as f:
            cell = json.load(f)["cells"][0]
        self.assertEqual(cell["state"], "finished")
        self.assertEqual((cell["migrations"], cell["completed"]), (4, 4), cell)
        run = e2e.load_report(os.path.join(out, cell["dir"]))
        done = sorted((m["instance_name"], m["source_host"], m["dest_host"], m["outcome"])
                      for m in run["migrations"])
        self.assertEqual(done, [("vm1", "hostA", "hostB", "MIGRATION_OUTCOME_COMPLETED"),
                                ("vm1", "hostB", "hostA", "MIGRATION_OUTCOME_COMPLETED"),
                                ("vm2", "hostA", "hostB", "MIGRATION_OUTCOME_COMPLETED"),
                                ("vm2", "hostB", "hostA", "MIGRATION_OUTCOME_COMPLETED")])
        # QEMU migrated each guest twice: nothing repeated, nothing skipped.
        after = self.truth_count()
        self.assertEqual({g: after.get(g, 0) - truth_before.get(g, 0) for g in ("vm1", "vm2")},
                         {"vm1": 2, "vm2": 2})
        gaps = [g for g in run["coverage_gaps"] if "resumed" in g["reason"]]
        self.assertEqual(len(gaps), 3, run["coverage_gaps"])
        for g in gaps:
            self.assertGreater(int(g["to_ns"]), int(g["from_ns"]))
        # Each migration's downtime was measured, unless the control process was away during
        # it (the dataplane's events then went to no one): the report says so.
        measured = 0
        for t in run["targets"]:
            for m in t["migrations"]:
                if int(m["union_ns"]) > 0:
                    measured += 1
                else:
                    self.assertTrue(m["coverage_lost"], m)
        self.assertGreaterEqual(measured, 2)


if __name__ == "__main__":
    unittest.main()
