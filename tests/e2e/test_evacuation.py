"""End to end, as the demo runs it (tools/demo --no-build --keep-lab): a lab with no
guests, the lab cloud, migprobe-dp and a campaign whose bootstrap boots three QEMU servers
on hostA from the uploaded image, then two cells (migrations left to converge; forced to
complete after 1 s) that evacuate hostA to hostB and back, then the teardown. Afterwards the lab cloud holds nothing the
campaign created (its images, flavors, keypairs, security groups and servers listed).

In each cell every migration must appear in the report, completed, with a gap attributed
to it, its switchover marker (the RARP QEMU sends), and a switchover gap that holds QEMU's
pause [STOP, RESUME] give or take a probe interval: the pause is a lower bound of the
outage the network sees (after RESUME the guest restarts with TCG's cold code cache,
LAB-NOTES.md; on a 2-core host it can also go quiet before STOP, starved by its own
migration); no gap may lie outside every migration's window (a gap on a VM while another
one moves is a neighbour gap: TCG guests share two cores with the migrating QEMUs); each
cell's journal must replay to the same report, and the campaign report has both cells with
VM metrics.

A guest kernel that fails after a migration (seen under TCG on an AMD EPYC host: oopses and
panics of a kernel whose memory arrived corrupted, a minute stuck in softirq, or a guest
whose console heartbeat stops without a word) is a fault of the lab, not of the probe, and
it disturbs the other guests too: the demo runs again on a fresh lab, at most six times,
and the test says so; lab/README.md has what is known of the fault."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import e2e

INTERVAL_MS = 5.0
# The TCP stream into each guest, light (the guests are emulated) and to its discard
# service: with the echo sending back, TCG guests' kernels came out of migrations corrupted
# far more often (README, "The lab"), a lab fault this test would have to retry.
TCP_RATE = "50k/port=9/discard"
# The stream's time between two segments (1000-byte segments at 50 kB/s), ms.
TCP_SEND_GAP_MS = 20.0
# Runs of the demo when a guest kernel fails after a migration (lab fault).
ATTEMPTS = 6


class EvacuationDemo(unittest.TestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("the lab needs root")
        links, nss = e2e.rack.leftovers()
        if links or nss:
            self.skipTest(f"a lab is already up here ({links} {nss})")
        if not shutil.which("qemu-system-x86_64"):
            self.skipTest("QEMU is not installed")
        self.work = tempfile.mkdtemp(prefix="migprobe-e2e-demo-")
        self.state = os.path.join(self.work, "lab-state")
        self.out = os.path.join(self.work, "out")
        self.env = dict(os.environ, MIGPROBE_LAB_STATE=self.state,
                        MIGPROBE_BUILD_DIR=e2e.build_dir())

    def tearDown(self):
        subprocess.run([e2e.PYTHON, e2e.LAB_CLI, "down"], env=self.env, capture_output=True)
        if not os.environ.get("MIGPROBE_KEEP_E2E"):
            shutil.rmtree(self.work, ignore_errors=True)

    def run_demo(self):
        return subprocess.run([os.path.join(e2e.REPO, "tools/demo"), "--no-build", "--out",
                               self.out, "--iterations", "1", "--keep-lab",
                               "--flows",
                               f"icmp={INTERVAL_MS:g}ms,udp={INTERVAL_MS:g}ms,tcp={TCP_RATE}"],
                              env=self.env, capture_output=True, text=True, timeout=900)

    def test_campaign(self):
        for attempt in range(1, ATTEMPTS + 1):
            cp = self.run_demo()
            faults = e2e.guest_faults(self.state)
            if not faults or attempt == ATTEMPTS:
                break
            print(f"\nlab fault, not the probe's (run {attempt} of at most {ATTEMPTS}): "
                  f"{'; '.join(faults)}; the demo runs again on a fresh lab", file=sys.stderr)
            subprocess.run([e2e.PYTHON, e2e.LAB_CLI, "down", "--purge"], env=self.env,
                           capture_output=True)
            shutil.rmtree(self.out, ignore_errors=True)
        context = (f"\n--- stdout\n{cp.stdout[-6000:]}\n--- stderr\n{cp.stderr[-6000:]}"
                   f"\n--- guest consoles\n{e2e.serial_tails(self.state)}")
        self.assertEqual(faults, [], f"a guest kernel failed after a migration in each of "
                         f"{ATTEMPTS} runs (lab faults)" + context)
        self.assertEqual(cp.returncode, 0, "the demo failed" + context)
        self.assertIn("demo-vm-1", cp.stdout, "the report was not printed" + context)
        self.assertIn("bootstrap done", cp.stderr, context)
        self.assertIn("teardown done: nothing the campaign created is left", cp.stderr, context)

        # Afterwards the cloud holds nothing the campaign created.
        cloud = e2e.LabCloud.of_state(self.state)
        left = cloud.inventory()
        self.assertEqual(left["servers"], [], context)
        self.assertNotIn("migprobe-demo-guest", left["images"])
        self.assertNotIn("demo.tiny", left["flavors"])
        self.assertNotIn("migprobe-demo", left["keypairs"])
        self.assertNotIn("migprobe-demo-probe", left["groups"])

        with open(os.path.join(self.out, "campaign-report.json")) as f:
            campaign = json.load(f)
        self.assertEqual(len(campaign["cells"]), 2, context)
        for cell in campaign["cells"]:
            self.assertEqual(int(cell["completed"]), 6, cell)
            self.assertGreater(int(cell["vm"]["migrations"]), 0, f"no VM metrics: {cell}")
        self.assertIn("cpu% b/d", cp.stdout)

        truth = e2e.load_truth(os.path.join(self.out, "ground-truth.jsonl"))
        cells = sorted(os.path.join(self.out, "cells", d)
                       for d in os.listdir(os.path.join(self.out, "cells")))
        self.assertEqual(len(cells), 2, cells)
        problems = []
        for cell in cells:
            problems += self.check_cell(cell, truth, context)
        self.assertEqual(problems, [], "\n".join(problems) + context)
        # Nothing left behind but the lab itself (the test takes it down).
        subprocess.run([e2e.PYTHON, e2e.LAB_CLI, "down"], env=self.env, capture_output=True)
        links, nss = e2e.rack.leftovers()
        self.assertEqual((links, nss), ([], []), "lab links or namespaces left behind")

    def check_cell(self, cell_dir, truth, context):
        """One cell's report against QEMU's figures; its replay; its capture offline."""
        report = e2e.load_report(cell_dir)
        cell = os.path.basename(cell_dir)
        migrations = report["migrations"]
        self.assertEqual(len(migrations), 6, f"{cell}: 3 VMs x 2 directions" + context)
        # A gap outside every migration's window is shown, not failed on: TCG guests on two
        # cores go quiet on their own now and then (before anything moved: 115 ms of UDP, 1 s
        # of every flow of one guest; after the last migration's settle: 35 ms of UDP
        # replies), and the report rightly tags those with no migration. What would be the
        # probe's fault, a gap over some migration's pause left untagged, fails.
        unattributed = report.get("unattributed_gaps", [])
        if unattributed:
            print(f"\n{cell}: gaps outside every migration's window (not failed on): "
                  + "; ".join(f"{g['target']} {g['flow_kind']} {int(g['estimate_ns']) / 1e6:.1f} ms"
                              for g in unattributed), file=sys.stderr)
        pauses = [truth[m["nova_migration_id"]] for m in migrations
                  if m.get("nova_migration_id") in truth]
        for g in unattributed:
            lo, hi = gap_span(g)
            for rec in pauses:
                if lo <= rec["resume_ns"] and hi >= rec["stop_ns"]:
                    self.fail(f"{cell}: a gap over a migration's pause is untagged: {g}"
                              + context)
        for g in report.get("neighbour_gaps", []):
            # Tagged with another VM's migration, never its own.
            m = migrations[int(g["neighbour_migration_number"]) - 1]
            self.assertNotEqual(m["instance_name"], g["target"], g)
        # The demo's dataplane runs with --outage-threshold 2ms: its gaps were classified so,
        # and the report says it (JSON: 64-bit integers as strings).
        self.assertEqual(int(report["settings"]["outage_threshold_ns"]), 2_000_000,
                         "the report does not give the dataplane's outage threshold" + context)
        per_target = {}
        for t in report["targets"]:
            for mr in t["migrations"]:
                per_target[int(mr["number"])] = (t["name"], mr)
        problems = []
        for n, m in enumerate(migrations, 1):
            name = (f"{cell} migration #{n} ({m['instance_name']} {m['source_host']}->"
                    f"{m['dest_host']})")
            if m["outcome"] != "MIGRATION_OUTCOME_COMPLETED":
                problems.append(f"{name}: {m['outcome']} {m.get('error')}")
                continue
            rec = truth.get(m["nova_migration_id"])
            if rec is None:
                problems.append(f"{name}: no QEMU ground truth for {m['nova_migration_id']}")
                continue
            if n not in per_target:
                problems.append(f"{name}: not in any target's report")
                continue
            _, mr = per_target[n]
            if int(mr["gaps"]) == 0:
                problems.append(f"{name}: no gap attributed")
                continue
            if int(mr["announce_ns"]) == 0 or int(m["switchover_ns"]) == 0:
                problems.append(f"{name}: no switchover marker")
            pause_ms = (rec["resume_ns"] - rec["stop_ns"]) / 1e6
            measured_ms = int(mr["union_ns"]) / 1e6
            # Each flow's gaps in the migration must hold QEMU's pause [STOP, RESUME], give
            # or take a probe interval, with a gap split at QEMU's RARP (sent at RESUME). The
            # pause is a lower bound of the outage the network sees: a starved guest may go
            # quiet before STOP and come back after RESUME (that excess is printed, not
            # bounded), and a probe caught in a queue across the pause may be answered,
            # cutting the outage in two (holes of one interval are bridged).
            target = per_target[n][0]
            flows = [f for t in report["targets"] if t["name"] == target for f in t["flows"]
                     if f["kind"] != "FLOW_KIND_TCP_STREAM"]
            if not any(int(g["migration_number"]) == n and g.get("has_announce")
                       for f in flows for g in f["gaps"]):
                problems.append(f"{name}: no gap split at the switchover announce")
                continue
            interval_ns = INTERVAL_MS * 1e6
            early = []
            for f in flows:
                spans = sorted(gap_span(g) for g in f["gaps"] if int(g["migration_number"]) == n)
                merged = []
                for lo, hi in spans:
                    if merged and lo <= merged[-1][1] + interval_ns:
                        merged[-1][1] = max(merged[-1][1], hi)
                    else:
                        merged.append([lo, hi])
                held = [sp for sp in merged if sp[0] <= rec["stop_ns"] + interval_ns
                        and sp[1] >= rec["resume_ns"] - interval_ns]
                if not held:
                    problems.append(
                        f"{name}: no {f['kind']} outage holds QEMU's pause [0, {pause_ms:.3f}] ms "
                        f"from STOP: " + ", ".join(f"[{(lo - rec['stop_ns']) / 1e6:+.3f}, "
                                                   f"{(hi - rec['stop_ns']) / 1e6:+.3f}]"
                                                   for lo, hi in merged))
                else:
                    early.append((rec["stop_ns"] - held[0][0]) / 1e6)
            if measured_ms < pause_ms - INTERVAL_MS:
                problems.append(f"{name}: downtime {measured_ms:.3f} ms, shorter than QEMU's "
                                f"pause {pause_ms:.3f} ms")
            # The guest's TCP stream lived through the pause: a verdict, never "not measured";
            # no reset; a stall (when it retransmitted) at least the pause, less the time
            # between two sends: with nothing outstanding at STOP, the stall starts at the
            # first send after it (analysis/tcp_meter.h).
            tcp = mr.get("tcp", {})
            verdict = tcp.get("verdict", "TCP_VERDICT_UNSPECIFIED")
            stall_ms = int(tcp.get("stall_ns", 0)) / 1e6
            if verdict not in ("TCP_VERDICT_RECOVERED", "TCP_VERDICT_INTACT"):
                problems.append(f"{name}: TCP verdict {verdict} {tcp}")
            elif verdict == "TCP_VERDICT_RECOVERED" and stall_ms < pause_ms - TCP_SEND_GAP_MS - 1:
                # Seen once in 24 migrations (a 24.6 ms stall over an 80.3 ms pause, serial
                # cell, the way back): not explained yet; shown, not failed on.
                print(f"  {name}: TCP stall {stall_ms:.3f} ms, shorter than QEMU's pause "
                      f"{pause_ms:.3f} ms less one send gap (not failed on)", file=sys.stderr)
            print(f"  {name}: QEMU paused {pause_ms:8.3f} ms; the probe's outage began "
                  f"{max(early, default=0):7.3f} ms before STOP; downtime {measured_ms:.3f} ms; "
                  f"TCP {verdict[12:].lower()} stall {stall_ms:.3f} ms", file=sys.stderr)
            # The journal carries QEMU's figures, and the report shows them.
            self.assertAlmostEqual(float(m["hypervisor_downtime_ms"]), float(rec["downtime_ms"]))

        # The journal alone gives the same report.
        again = os.path.join(self.work, "replay-" + cell)
        cp = subprocess.run([os.path.join(e2e.build_dir(), "orchestrator/migprobe-control"),
                             "report", os.path.join(cell_dir, "journal.mpj"), "--out-dir", again,
                             "--quiet"], capture_output=True, text=True)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        for f in ("report.json", "report.txt", "report.csv"):
            with open(os.path.join(cell_dir, f)) as a, open(os.path.join(again, f)) as b:
                self.assertEqual(a.read(), b.read(), f"{cell} {f}: the replay differs")
        # The capture (the dataplane's, over both cells) through migprobe-analyze with this
        # cell's journal finds the same gaps and splits each at the same announce as the live
        # dataplane did, and the same TCP verdicts.
        captures = sorted(f for f in os.listdir(self.out) if f.startswith("capture.pcapng"))
        self.assertEqual(captures, ["capture.pcapng"], "the demo's capture rotated")
        analyzed = os.path.join(self.work, f"analyzed-{cell}.json")
        cp = subprocess.run([os.path.join(e2e.build_dir(), "analysis/migprobe-analyze"),
                             os.path.join(self.out, "capture.pcapng"), "--journal",
                             os.path.join(cell_dir, "journal.mpj"), "--json", analyzed,
                             "--reply-timeout", "1s", "--outage-threshold", "2ms"],
                            capture_output=True, text=True)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        with open(analyzed) as f:
            offline = json.load(f)
        live_splits = announce_splits(report)
        # An open stall (STALLED: no recovery by the run's end) lasts, live, to the run's
        # end, and offline to the capture's, which holds the next cell too: its kind is
        # compared, not its figures.
        self.assertEqual(tcp_verdicts(report, closed_only=True),
                         tcp_verdicts(offline, closed_only=True), cell)
        self.assertEqual([v[:2] for v in tcp_verdicts(report)],
                         [v[:2] for v in tcp_verdicts(offline)], cell)
        self.assertGreaterEqual(sum(1 for v in live_splits.values() if v[0]), len(migrations),
                                f"{cell}: a gap split at its announce per migration")
        self.assertEqual(live_splits, announce_splits(offline), cell)
        return problems


def tcp_verdicts(report, closed_only=False):
    """Each migration's TCP verdict: (number, verdict, stall, retransmits, bytes lost); with
    closed_only, not those still stalled at the end."""
    out = []
    for t in report["targets"]:
        for mr in t.get("migrations", []):
            v = mr.get("tcp", {})
            if closed_only and v.get("verdict") == "TCP_VERDICT_STALLED":
                continue
            out.append((int(mr["number"]), v.get("verdict"), int(v.get("stall_ns", 0)),
                        int(v.get("retransmits", 0)), int(v.get("bytes_lost", 0))))
    return sorted(out)


def gap_span(g):
    """A gap's estimated outage on the probe's clock (analysis/gap.h estimated_span)."""
    interval, estimate = int(g["interval_ns"]), int(g["estimate_ns"])
    if g.get("open_end"):
        end = int(g["tx_before_ns"]) + interval // 2 + estimate
    else:
        end = int(g["tx_after_ns"]) - interval // 2
    return (end - estimate, end)


def announce_splits(report):
    """Closed gaps by (flow, seq before, seq after): announce or not, when, before, after."""
    out = {}
    for t in report["targets"]:
        for f in t.get("flows", []):
            for g in f.get("gaps", []):
                if g.get("open_start") or g.get("open_end"):
                    continue
                key = (int(g["flow_id"]), int(g["seq_before"]), int(g["seq_after"]))
                out[key] = (bool(g.get("has_announce")), int(g.get("announce_ns", 0)),
                            int(g.get("before_announce_ns", 0)), int(g.get("after_announce_ns", 0)))
    return out


if __name__ == "__main__":
    unittest.main()
