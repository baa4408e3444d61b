"""A campaign on the lab (issue 13): a spec of three cells over three QEMU guests, run end to
end by `migprobe-control campaign run` with migprobe-dp probing. Two cells evacuate hostA to
hostB and back, the second wrapped in before and after commands; the third's before command
fails, so it is skipped and says why. The campaign report has every cell with its figures
and the matrix table, every migration record carries its cell and labels, and `campaign
report` gives the same report again from the journals. `campaign validate` refuses a spec
naming a host or a server the cloud does not have."""

import json
import os
import shutil
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
""")
        cp = self.control(env, "campaign", "validate", bad)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("cell 1 (c=one): no hypervisor hostC", cp.stderr)
        self.assertIn("cell 2 (c=two): server 'vm9' is not on host hostA", cp.stderr)
        self.assertNotIn("vm1'", cp.stderr)
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


if __name__ == "__main__":
    unittest.main()
