"""Fault tests of an evacuation run against the lab (namespace guests: fast, no QEMU needed):
the lab cloud answers 500, 409 and hangs mid-run, a migration ends in error, the token
expires mid-run, the dataplane is killed (and restarted, or not), the operator presses
Ctrl-C. Each is reported clearly, the run goes on or stops as its policy says, and the
journal replays to the same report."""

import json
import os
import resource
import signal
import time
import unittest

import e2e


def errors_text(report):
    return "\n".join(e["message"] for e in report.get("errors", []))


class Faults(e2e.EvacuationTestCase):

    lab_args = ["--guests", "3", "--mode", "netns"]
    work_prefix = "migprobe-e2e-faults-"

    def setUp(self):
        super().setUp()
        # Every test starts with the guests on hostA.
        self.assertEqual(self.lab("status", "--json").returncode, 0)

    def evacuate(self, env, out, *extra, background=False, settle="500ms", preexec_fn=None):
        args = self.evacuate_args(out, "icmp=2ms,udp=2ms", "--settle", settle, "--api-timeout",
                                  "3s", *extra)
        if background:
            return self.control_bg(env, *args)
        return self.control(env, *args, preexec_fn=preexec_fn)

    def evacuate_while(self, env, out, after_s, action, *extra, settle="500ms"):
        """Runs an evacuation in the background, calls action(run) after after_s seconds,
        and waits for the run to end; returns (exit status, stderr)."""
        run = self.evacuate(env, out, *extra, background=True, settle=settle)
        try:
            time.sleep(after_s)
            action(run)
            _, stderr = run.communicate(timeout=300)
        finally:
            if run.poll() is None:
                run.kill()
        return run.returncode, stderr

    def fault_plan(self, plan):
        path = os.path.join(self.work, "faults.json")
        with open(path, "w") as f:
            json.dump(plan, f)
        return path

    def test_api_errors_mid_run(self):
        """500s beyond the retries, a 409 on one os-migrateLive and a hung call: the failed
        migration is recorded with Nova's message, the errors are reported, the run goes on."""
        plan = self.fault_plan({"rules": [
            {"method": "GET", "path": "/compute/v2.1/servers/[^/]+/migrations", "nth": 2,
             "times": 6, "action": "status", "status": 500},
            {"method": "POST", "path": "/compute/v2.1/servers/[^/]+/action", "nth": 2,
             "action": "status", "status": 409},
            {"method": "GET", "path": "/compute/v2.1/servers/[^/]+/migrations", "nth": 12,
             "times": 6, "action": "hang", "seconds": 5},
        ]})
        env = self.start_cloud("--faults", plan, "--outage-ms", "100")
        out = os.path.join(self.work, "run")
        cp = self.evacuate(env, out)
        self.assertEqual(cp.returncode, 1, f"one migration failed: exit 1\n{cp.stderr}")
        report = e2e.load_report(out)
        outcomes = [(m["instance_name"], m["outcome"]) for m in report["migrations"]]
        failed = [m for m in report["migrations"] if m["outcome"] == "MIGRATION_OUTCOME_FAILED"]
        self.assertEqual(len(failed), 1, outcomes)
        self.assertIn("409", failed[0]["error"])
        # The VM that stayed on hostA is not moved back; the others are.
        self.assertEqual(len(report["migrations"]), 5, outcomes)
        text = errors_text(report)
        self.assertIn("500", text)
        self.assertRegex(text, "(?i)timed? ?out|timeout")
        self.assertReplaysTheSame(out)

    def test_migration_error_and_token_expiry(self):
        """A migration that ends in error (pre-check failure from 2.34) is recorded with
        Nova's own message; tokens living 4 s expire many times mid-run without a failure."""
        plan = self.fault_plan({"token_ttl_s": 4,
                                "migrations": [{"server": "vm2", "nth": 1, "mode": "error"}]})
        env = self.start_cloud("--faults", plan, "--outage-ms", "100")
        out = os.path.join(self.work, "run")
        started = time.monotonic()
        cp = self.evacuate(env, out, "--iterations", "2", settle="1s")
        run_s = time.monotonic() - started
        self.assertEqual(cp.returncode, 1, cp.stderr)
        report = e2e.load_report(out)
        failed = [m for m in report["migrations"] if m["outcome"] != "MIGRATION_OUTCOME_COMPLETED"]
        self.assertEqual([m["instance_name"] for m in failed], ["vm2"], cp.stderr)
        self.assertIn("pre-check", failed[0]["error"])
        # vm2 stays on hostA the first time (not moved back), then moves in iteration 2:
        # 2 + 2 + 3 + 3 completed.
        moves = [(m["instance_name"], m["iteration"]) for m in report["migrations"]]
        self.assertEqual(len(report["migrations"]), 11, moves)
        completed = [m for m in report["migrations"] if m["outcome"] == "MIGRATION_OUTCOME_COMPLETED"]
        self.assertEqual(len(completed), 10, moves)
        calls = json.loads(self.lab_call(env, "/_lab/calls"))["calls"]
        tokens = [c for c in calls if c.get("method") == "POST" and "auth/tokens" in c.get("path", "")]
        self.assertGreater(len(tokens), 2, "the token was never renewed")
        # Renewed a quarter of its life before it expires (every 3 s), not before every call
        # (a fixed 120 s margin did that with tokens this short); the journal counts them.
        self.assertLessEqual(len(tokens), run_s / 3 + 3,
                             f"{len(tokens)} authentications in {run_s:.0f} s")
        self.assertEqual(report.get("authentications"), len(tokens))
        self.assertReplaysTheSame(out)

    def lab_call(self, env, path):
        import urllib.request
        base = env["OS_AUTH_URL"].split("/identity")[0]
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.read().decode()

    def test_dataplane_killed_and_restarted(self):
        """The dataplane dies mid-run and comes back: reported at once, probing resumes on the
        new process, the blind time is a coverage gap, every migration still completes."""
        env = self.start_cloud("--outage-ms", "100")
        out = os.path.join(self.work, "run")
        def kill_and_restart(_run):
            self.dp.kill()
            self.dp.wait()
            time.sleep(1.5)
            self.start_dataplane(self.work)

        rc, stderr = self.evacuate_while(env, out, 6, kill_and_restart, "--iterations", "2",
                                         settle="1s")
        self.assertEqual(rc, 0, stderr)
        self.assertIn("dataplane lost", stderr)
        self.assertIn("restarted", stderr)
        report = e2e.load_report(out)
        self.assertEqual(len(report["coverage_gaps"]), 1, report.get("coverage_gaps"))
        gap = report["coverage_gaps"][0]
        self.assertGreaterEqual(int(gap["to_ns"]) - int(gap["from_ns"]), 1_000_000_000)
        self.assertTrue(all(m["outcome"] == "MIGRATION_OUTCOME_COMPLETED"
                            for m in report["migrations"]))
        # Migrations after the restart were measured by the new process.
        last = report["migrations"][-1]
        measured = [mr for t in report["targets"] for mr in t["migrations"]
                    if int(mr["number"]) == len(report["migrations"])]
        self.assertTrue(measured and int(measured[0]["gaps"]) > 0, (last, measured))
        self.assertReplaysTheSame(out)

    def test_dataplane_lost_for_good_stops_the_run(self):
        env = self.start_cloud("--outage-ms", "100")
        out = os.path.join(self.work, "run")
        rc, stderr = self.evacuate_while(env, out, 5,
                                         lambda _run: self.stop_dataplane(signal.SIGKILL),
                                         "--iterations", "3", "--dataplane-grace", "2s")
        self.assertEqual(rc, 4, stderr)
        self.assertIn("did not come back", stderr)
        report = e2e.load_report(out)
        self.assertLess(len(report["migrations"]), 18)
        self.assertEqual(len(report["coverage_gaps"]), 1)
        self.assertReplaysTheSame(out)

    def test_ctrl_c_stops_cleanly(self):
        env = self.start_cloud("--outage-ms", "100")
        out = os.path.join(self.work, "run")
        rc, stderr = self.evacuate_while(env, out, 5,
                                         lambda run: run.send_signal(signal.SIGINT),
                                         "--iterations", "3")
        self.assertEqual(rc, 3, stderr)
        self.assertIn("stopping after the migrations in flight", stderr)
        report = e2e.load_report(out)
        self.assertGreater(len(report["migrations"]), 0)
        self.assertLess(len(report["migrations"]), 18)
        # Nothing is left half-way: every recorded migration has an outcome.
        self.assertTrue(all(m["outcome"] != "MIGRATION_OUTCOME_IN_PROGRESS"
                            for m in report["migrations"]))
        self.assertReplaysTheSame(out)
        # A second run into the same directory is refused, the first run's journal kept.
        with open(os.path.join(out, "journal.mpj"), "rb") as f:
            before = f.read()
        again = self.evacuate(env, out)
        self.assertEqual(again.returncode, 2, again.stderr)
        self.assertIn("already holds a run", again.stderr)
        with open(os.path.join(out, "journal.mpj"), "rb") as f:
            self.assertEqual(f.read(), before)

    def test_ctrl_c_while_the_last_replies_drain_keeps_the_run_finished(self):
        """Every migration done, Ctrl-C while the probe drains its last replies: the run
        finished (exit 0), it was not interrupted."""
        env = self.start_cloud("--outage-ms", "100")
        out = os.path.join(self.work, "run")
        run = self.evacuate(env, out, "--iterations", "1", background=True)
        try:
            signalled = False
            for line in run.stderr:
                if "iteration 1/1 hostB -> hostA: done in" in line:
                    run.send_signal(signal.SIGINT)
                    signalled = True
                    break
            _, rest = run.communicate(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
        self.assertTrue(signalled, rest)
        self.assertEqual(run.returncode, 0, rest)
        self.assertIn("run finished: 6 completed, 0 failed", rest)
        self.assertReplaysTheSame(out)

    def test_journal_write_error_is_reported_and_fails_the_run(self):
        """The journal hits a file-size limit mid-run: the run says which file and why on
        stderr even with --quiet and exits 5; what was written before stays readable."""
        env = self.start_cloud("--outage-ms", "100")
        out = os.path.join(self.work, "run")
        limit = 3000
        cp = self.evacuate(env, out, "--iterations", "1", "--quiet",
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                                 (limit, limit)))
        self.assertEqual(cp.returncode, 5, cp.stderr)
        journal = os.path.join(out, "journal.mpj")
        self.assertRegex(cp.stderr, f"journal: cannot (append to|flush) journal {journal}: "
                                    "File too large: some records are missing")
        # Every report is whole or absent (a file-size limit cuts a report, never leaves half).
        for name in ("report.txt", "report.json", "report.csv"):
            path = os.path.join(out, name)
            self.assertFalse(os.path.exists(path + ".tmp"), name)
            if os.path.exists(path):
                self.assertLess(os.path.getsize(path), limit, name)
            else:
                self.assertIn(f"cannot write {path}: File too large", cp.stderr)
        self.assertEqual(os.path.getsize(journal), limit)
        again = self.replay(out)
        with open(os.path.join(again, "report.json")) as f:
            report = json.load(f)
        self.assertIn("cut short or corrupt", report["source"]["error"])
        self.assertGreater(int(report["source"]["journal_records"]), 1)


if __name__ == "__main__":
    unittest.main()
