#!/usr/bin/python3
"""Integration test of migprobe-dp in network namespaces it creates itself.

migprobe-dp runs on net_af_packet over a veth into a lab bridge (namespace mpt-lab) with
four "VM" namespaces (kernel answers ICMP, migprobe-reflector answers UDP), all in
10.78.0.0/24. Outages of known length are injected per VM with nftables drop rules, added
and removed in-process through libnftables from a thread that lives in the VM's namespace;
both edges are timestamped before and after the call, so the truth is an interval. Checks:
  - every injected outage shows as one gap per flow, its estimate within one probe interval
    + 1 ms of the injected length (>= 20 outages, 5 ms .. 2 s);
  - a one-way outage (replies dropped) is reported as return loss on the UDP flow;
  - every outage of 100 ms or more raises an "outage in progress" event per flow while it
    lasts, before its gap closes;
  - replay: the capture fed back through net_pcap into migprobe-dp gives the same gaps, and
    so does migprobe-analyze when it is built.
With --skew-ppm N the probe's clock starts from a TSC rate N ppm off (--tsc-skew-ppm), and
vm1 first goes dark for 3 s from its first probes on, across the first clock refreshes
that slew the error out; the same checks must hold, and the run lasts --run-s seconds so
that its clock records show the residual drift, checked after the first 2 s.
Everything named mpt*, deleted on exit, also on failure. Needs root.

usage: namespace_test.py BUILD_DIR [WORK_DIR] [--skew-ppm N] [--run-s S]
"""

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PREFIX = "mpt"
NET = "10.78.0"
PROBE_IP = f"{NET}.1"
VMS = 4
INTERVAL_MS = 1.0
INTERVAL_NS = int(INTERVAL_MS * 1e6)
REPLY_TIMEOUT_MS = 200
# 24 outages, 5 ms to 2 s, spread over the VMs (6 each), injected in parallel per VM.
DURATIONS_MS = [5, 7, 10, 14, 20, 28, 40, 55, 75, 100, 140, 200,
                260, 330, 420, 520, 650, 800, 1000, 1200, 1400, 1600, 1800, 2000]
PAUSE_S = 0.4
ONE_WAY_MS = 300
# SCHED_FIFO priorities of the reflectors and of the outage injectors (the probe's cores: 10).
GUEST_RT = 20
INJECTOR_RT = 5
LEAD_MS = 3000
# The first clock refresh, after the clock's start. Under ASan the first probe has left up
# to about 280 ms after it (measured once here; 100 ms in another run; 160 ms in an earlier
# session; why it grew is not measured), and vm1's lead outage, 20 ms after that probe, must
# begin before the refresh (at 300 ms CI saw it begin 19 and 59 ms after). A gap's error is the skew times the time from the start to its
# beginning: 0.5% of ~320 ms, inside the 2 ms allowed.
FIRST_REFRESH_MS = 500
# After the start's slew (2 s) the mapping stays this close to CLOCK_REALTIME at a refresh.
SETTLED_DRIFT_NS = 50_000
CLONE_NEWNET = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)


def sh(*args, check=True, ns=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def cleanup():
    for i in range(1, VMS + 1):
        sh("ip", "netns", "del", f"{PREFIX}-vm{i}", check=False)
    sh("ip", "netns", "del", f"{PREFIX}-lab", check=False)
    sh("ip", "link", "del", f"{PREFIX}-dp", check=False)


def setup(reflector):
    cleanup()
    sh("ip", "netns", "add", f"{PREFIX}-lab")
    sh("ip", "link", "add", "mpt-br", "type", "bridge", ns=f"{PREFIX}-lab")
    sh("ip", "link", "set", "mpt-br", "up", ns=f"{PREFIX}-lab")
    sh("ip", "link", "add", f"{PREFIX}-dp", "type", "veth", "peer", "name", f"{PREFIX}-dpb")
    sh("sysctl", "-qw", f"net.ipv6.conf.{PREFIX}-dp.disable_ipv6=1", check=False)
    sh("ip", "link", "set", f"{PREFIX}-dpb", "netns", f"{PREFIX}-lab")
    sh("ip", "link", "set", f"{PREFIX}-dpb", "master", "mpt-br", "up", ns=f"{PREFIX}-lab")
    sh("ip", "link", "set", f"{PREFIX}-dp", "up")
    procs = []
    for i in range(1, VMS + 1):
        ns = f"{PREFIX}-vm{i}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", f"{PREFIX}-v{i}", "type", "veth", "peer", "name", f"{PREFIX}-v{i}b")
        sh("ip", "link", "set", f"{PREFIX}-v{i}b", "netns", f"{PREFIX}-lab")
        sh("ip", "link", "set", f"{PREFIX}-v{i}b", "master", "mpt-br", "up", ns=f"{PREFIX}-lab")
        sh("ip", "link", "set", f"{PREFIX}-v{i}", "netns", ns)
        sh("ip", "link", "set", f"{PREFIX}-v{i}", "name", "eth0", ns=ns)
        sh("ip", "addr", "add", f"{NET}.{10 + i}/24", "dev", "eth0", ns=ns)
        sh("ip", "link", "set", "eth0", "up", ns=ns)
        # A veth leaves UDP checksums to an offload that never happens: have the guest
        # kernel fill them, as a real NIC would, so the probe can verify them.
        sh("ethtool", "-K", "eth0", "tx", "off", ns=ns)
        sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("nft", "add table inet mpt; add chain inet mpt in { type filter hook input priority 0; };"
           " add chain inet mpt out { type filter hook output priority 0; }", ns=ns)
        # The "VMs" run above the probe's realtime cores (SCHED_FIFO 10), as guests on their
        # own CPUs would: with both cores taken by them at 1 ms probing, a normal reflector
        # got the CPU only in the kernel's realtime throttling slack and went quiet for up
        # to 0.5 s. It blocks on its socket, so it takes only what it needs.
        procs.append(subprocess.Popen(["ip", "netns", "exec", ns, "chrt", "-f", str(GUEST_RT),
                                       reflector, "--quiet"]))
    return procs


class Injector(threading.Thread):
    """Lives in one VM namespace and adds/removes drop rules through libnftables. With
    lead_ms, it first waits for the probe's first ICMP echo to reach the VM and then drops
    everything for lead_ms, 10 ms later (the flows have answered probes by then)."""

    def __init__(self, vm, outages, one_way_ms=None, lead_ms=None):
        super().__init__()
        self.vm, self.outages, self.one_way_ms, self.lead_ms = vm, outages, one_way_ms, lead_ms
        self.records = []
        self.error = None
        self.listening = threading.Event()

    def wait_first_probe(self):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        try:
            s.bind(("eth0", 0))
            s.settimeout(1.0)
            self.listening.set()
            probe = socket.inet_aton(PROBE_IP)
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    frame = s.recv(2048)
                except socket.timeout:
                    continue
                # IPv4 from the probe, ICMP echo request.
                if len(frame) > 34 and frame[23] == 1 and frame[26:30] == probe and frame[34] == 8:
                    return
            raise RuntimeError(f"vm{self.vm}: no probe arrived within 30 s")
        finally:
            s.close()

    def nft(self, ctx, lib, cmd):
        before = time.time_ns()
        rc = lib.nft_run_cmd_from_buffer(ctx, cmd.encode())
        after = time.time_ns()
        if rc != 0:
            raise RuntimeError(f"nft '{cmd}' failed in vm{self.vm}")
        return before, after

    def run(self):
        try:
            # Realtime, below the probe's cores: an outage must begin when planned (at
            # normal priority this thread woke up to 0.5 s late on a loaded machine), but
            # the reflectors must not wait for it (above them, its nft call delayed their
            # replies by 6 ms, announced as an outage in progress of its own).
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(INJECTOR_RT))
            fd = os.open(f"/var/run/netns/{PREFIX}-vm{self.vm}", os.O_RDONLY)
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            os.close(fd)
            lib = ctypes.CDLL("libnftables.so.1")
            lib.nft_ctx_new.restype = ctypes.c_void_p
            lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
            ctx = lib.nft_ctx_new(0)
            lib.nft_ctx_buffer_output(ctx)
            lib.nft_ctx_buffer_error(ctx)
            self.nft(ctx, lib, "list table inet mpt")  # warm the socket and caches
            plan = [("both", d) for d in self.outages]
            if self.one_way_ms:
                plan.append(("return", self.one_way_ms))
            if self.lead_ms:
                self.wait_first_probe()
                plan = [("lead", self.lead_ms)] + plan
            for kind, ms in plan:
                # The lead outage 20 ms after the first probe: under ASan the first probe
                # leaves 160 ms after the clock's start, and the outage must begin before the
                # first refresh (FIRST_REFRESH_MS).
                time.sleep(0.02 if kind == "lead" else PAUSE_S)
                if kind == "lead":
                    kind = "both"
                chain = "in" if kind == "both" else "out"
                rule = (f"add rule inet mpt {chain} drop" if kind == "both"
                        else f"add rule inet mpt out ip daddr {PROBE_IP} drop")
                s0, s1 = self.nft(ctx, lib, rule)
                time.sleep(ms / 1000.0)
                e0, e1 = self.nft(ctx, lib, f"flush chain inet mpt {chain}")
                self.records.append({"vm": self.vm, "kind": kind, "ms": ms,
                                     "start": (s0, s1), "end": (e0, e1)})
        except Exception as e:  # reported by the main thread
            self.error = e


def wait_for_start(dp, events, timeout_s=60):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if dp.poll() is not None:
            raise RuntimeError("migprobe-dp exited early")
        if os.path.exists(events):
            with open(events) as f:
                if any('"clock"' in line for line in f):
                    return
        time.sleep(0.05)
    raise RuntimeError(f"migprobe-dp did not start probing within {timeout_s} s")


def vm_mac(i):
    out = sh("ip", "-j", "link", "show", "eth0", ns=f"{PREFIX}-vm{i}").stdout
    return json.loads(out)[0]["address"]


def dp_cmd(build, extra_eal, app):
    # --no-pci: only the virtual device (EAL would otherwise probe this VM's virtio NIC).
    return ([f"{build}/dataplane/migprobe-dp", "--no-huge", "-m", "256", "--no-pci",
             "--lcores", "0@0,1@1,2@0", "--file-prefix", f"{PREFIX}{os.getpid()}",
             "--log-level", "warning"] + extra_eal + ["--"] + app)


def read_events(path, kind, int_fields=()):
    """The events of one kind from migprobe-dp's JSON lines, with the 64-bit figures (JSON
    strings in protobuf's mapping) and the named fields as ints."""
    events = []
    with open(path) as f:
        for line in f:
            ev = json.loads(line).get(kind)
            if ev is None:
                continue
            for k in list(ev):
                if k.endswith("_ns") or k in int_fields:
                    ev[k] = int(ev[k])
            events.append(ev)
    return events


def read_in_progress(path):
    events = read_events(path, "outage_in_progress")
    for e in events:
        e.setdefault("since_tx_ns", 0)
    return events


def read_gaps(path):
    return read_events(path, "gap", ("lost", "forward_lost", "return_lost", "seq_before",
                                     "seq_after", "flow_id"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("work", nargs="?")
    ap.add_argument("--skew-ppm", type=float, default=0,
                    help="start the probe's clock this far off (--tsc-skew-ppm)")
    ap.add_argument("--run-s", type=float, default=0, help="keep probing until this long")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    work = args.work or tempfile.mkdtemp(prefix="mpt-")
    os.makedirs(work, exist_ok=True)
    reflector = f"{build}/dataplane/migprobe-reflector"
    failures = []
    dp = None
    refl = []
    t_start = time.time()
    try:
        refl = setup(reflector)
        targets = []
        for i in range(1, VMS + 1):
            # With a skewed clock the first probes must leave at once: no ARP round (its
            # retry can take 200 ms), so that vm1's outage can begin before the first refresh.
            mac = f",mac={vm_mac(i)}" if args.skew_ppm else ""
            targets += ["--target", f"name=vm{i},{NET}.{10 + i}{mac},icmp={INTERVAL_MS}ms,"
                                    f"udp={INTERVAL_MS}ms"]
        events = f"{work}/live-events.jsonl"
        capture = f"{work}/live.pcapng"
        for p in (events, capture):
            if os.path.exists(p):
                os.remove(p)
        per_vm = [DURATIONS_MS[i::VMS] for i in range(VMS)]
        injectors = [Injector(i + 1, per_vm[i], ONE_WAY_MS if i == VMS - 1 else None,
                              LEAD_MS if args.skew_ppm and i == 0 else None)
                     for i in range(VMS)]
        skew = []
        if args.skew_ppm:
            # The first refresh FIRST_REFRESH_MS after start: late enough for vm1's outage
            # to begin before it (20 ms after the first probe; CI saw a normal-priority
            # injector begin it 360 ms after a refresh at 150 ms). A gap's error is the skew
            # times the time from the start to the gap's beginning (by its end the error is
            # slewed out): 0.5% of ~120 ms for the lead outage.
            skew = ["--tsc-skew-ppm", str(args.skew_ppm), "--calibration-first",
                    f"{FIRST_REFRESH_MS}ms"]
            injectors[0].start()  # it waits for the first probe
            if not injectors[0].listening.wait(10):
                raise RuntimeError(f"vm1 injector not listening: {injectors[0].error}")
        dp_started = time.time()
        dp = subprocess.Popen(dp_cmd(build, ["--vdev", f"net_af_packet0,iface={PREFIX}-dp"],
                                     ["--port", "net_af_packet0", "--probe-ip", PROBE_IP,
                                      "--reply-timeout", f"{REPLY_TIMEOUT_MS}ms",
                                      "--outage-threshold", "2ms", "--realtime", "10",
                                      "--events", events, "--stats", f"{work}/live-stats.json",
                                      "--capture", capture, "--quiet"] + skew + targets))
        # The EAL's start takes 0.5 to 4 s here: wait for the probe's start clock record
        # (written when it begins to probe), then for ARP and the first replies.
        wait_for_start(dp, events)
        time.sleep(1.0)
        if dp.poll() is not None:
            raise RuntimeError("migprobe-dp exited early")
        for t in injectors:
            if t.ident is None:  # not started yet (vm1's lead injector is)
                t.start()
        for t in injectors:
            t.join()
            if t.error:
                raise RuntimeError(f"injector vm{t.vm}: {t.error}")
        time.sleep(1.0)
        time.sleep(max(0.0, dp_started + args.run_s - time.time()))
        dp.send_signal(signal.SIGINT)
        dp.wait(timeout=30)
        print_tx_timing(f"{work}/live-stats.json")
        records = [r for t in injectors for r in t.records]
        gaps = read_gaps(events)
        check_live(records, gaps, failures)
        check_in_progress(records, read_in_progress(events), failures)
        check_clock(records, read_events(events, "clock", ("refresh", "tsc_hz", "eal_tsc_hz")),
                    args.skew_ppm, failures)
        replay_gaps = replay(build, work, capture)
        check_same(gaps, replay_gaps, "replay through net_pcap", failures)
        analyze = analyze_gaps(build, work, capture)
        if analyze is None:
            say("SKIP migprobe-analyze comparison: migprobe-analyze not built")
        else:
            check_same(gaps, analyze, "migprobe-analyze", failures, strict_fields=False)
    except Exception as e:
        failures.append(f"error: {e}")
    finally:
        if dp and dp.poll() is None:
            dp.kill()
        for p in refl:
            p.send_signal(signal.SIGTERM)
        for p in refl:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        cleanup()
    # Failures first, then what was measured: a CI log that keeps only the head of a long
    # output still shows why the test failed.
    for f in failures:
        print("FAIL", f)
    print("\n".join(DETAILS))
    with open(os.path.join(work, "details.txt"), "w") as f:
        f.write("\n".join(DETAILS) + "\n")
    print(f"namespace test: {time.time() - t_start:.1f} s, {len(failures)} failures")
    if failures:
        return 1
    print("PASS")
    return 0


DETAILS = []


def say(line):
    """A line of the measurements, printed after the failures."""
    DETAILS.append(line)


def print_tx_timing(path):
    """The probe's own timing error: a probe sent late widens the gap it bounds."""
    with open(path) as f:
        tx = {c["name"]: int(c["value"]) for c in json.load(f)["tx"]}
    slots = tx["probes_sent"] + tx["skipped_slots"] + tx["unresolved_slots"]
    say(f"  TX: {tx['probes_sent']} probes, {tx['skipped_slots']} slots skipped "
          f"({100 * tx['skipped_slots'] / max(slots, 1):.2f}%), {tx['late_sends']} sent 100 us "
          f"or more late, the latest {tx['max_late_ns'] / 1e6:.3f} ms after its deadline")


def check_clock(records, clocks, skew_ppm, failures):
    """The clock records: the start's rate, the drift found at each refresh (the mapping
    minus CLOCK_REALTIME), and with a skewed start, that the skew was real and that the
    lead outage spanned the first refresh."""
    if not clocks or clocks[0]["refresh"] != 0:
        failures.append("no start clock record")
        return
    start = clocks[0]
    say(f"  clock: TSC {start['tsc_hz'] / 1e6:.6f} MHz, {start['rate_source']}")
    t0 = start["taken_ns"]
    worst = 0
    for c in clocks[1:]:
        t = (c["taken_ns"] - t0) / 1e9
        say(f"  clock refresh {c['refresh']:3d} at {t:7.3f} s: drift {c['drift_ns'] / 1e3:10.3f} us,"
              f" slew {c.get('slew_ppm', 0):10.3f} ppm, TSC {c['tsc_hz'] / 1e6:.6f} MHz"
              + (f", CLOCK_REALTIME stepped {c['realtime_step_ns'] / 1e9:+.6f} s"
                 if c.get("realtime_step_ns") else ""))
        if t >= 2.0:
            worst = max(worst, abs(c["drift_ns"]))
    settled = [c for c in clocks[1:] if (c["taken_ns"] - t0) / 1e9 >= 2.0]
    say(f"  clock: worst drift at a refresh after 2 s: {worst / 1e3:.3f} us over {len(settled)}"
          f" refreshes (allowed {SETTLED_DRIFT_NS / 1e3:.0f} us)")
    if len(clocks) < 3:
        failures.append(f"only {len(clocks) - 1} clock refreshes")
    if worst > SETTLED_DRIFT_NS:
        failures.append(f"clock drift {worst / 1e3:.3f} us at a refresh after the first 2 s")
    if not skew_ppm:
        return
    if "tsc-skew-ppm" not in start["rate_source"]:
        failures.append(f"the start clock record does not say it was skewed: {start['rate_source']}")
    first = clocks[1]
    # The skew over the time before the first refresh: the error was real, then slewed out.
    if abs(first["drift_ns"]) < abs(skew_ppm) * 1e-6 * FIRST_REFRESH_MS * 1e6 / 2:
        failures.append(f"first refresh found a drift of only {first['drift_ns']} ns: was the "
                        f"start skewed by {skew_ppm} ppm?")
    lead = [r for r in records if r["vm"] == 1 and r["ms"] == LEAD_MS]
    if not lead:
        failures.append("no lead outage on vm1")
    elif not lead[0]["start"][1] < first["taken_ns"] < lead[0]["end"][0]:
        failures.append(f"the {LEAD_MS} ms outage did not span the first clock refresh "
                        f"(began {(lead[0]['start'][1] - first['taken_ns']) / 1e6:+.1f} ms from it)")
    else:
        say(f"  the {LEAD_MS} ms outage began {(first['taken_ns'] - lead[0]['start'][1]) / 1e6:.1f} ms"
              " before the first clock refresh")


def check_in_progress(records, events, failures):
    """Outages of 100 ms or more must be announced live, once per flow, while they last."""
    kinds = ["FLOW_KIND_ICMP_ECHO", "FLOW_KIND_UDP_REFLECT"]
    seen = 0
    for r in records:
        if r["kind"] != "both" or r["ms"] < 100:
            continue
        for kind in kinds:
            label = f"vm{r['vm']} {kind} {r['ms']} ms"
            hits = [e for e in events if e.get("target") == f"vm{r['vm']}"
                    and e.get("flow_kind") == kind
                    and r["start"][0] <= e["detected_ns"] <= r["end"][1] + 5_000_000]
            if len(hits) != 1:
                failures.append(f"{label}: {len(hits)} outage-in-progress events (want 1)")
                continue
            e = hits[0]
            if e["since_tx_ns"] > r["start"][1]:
                failures.append(f"{label}: in progress since {e['since_tx_ns']}, after the "
                                f"outage began at {r['start'][1]}")
            seen += 1
            say(f"  {label:45s} in progress after {(e['detected_ns'] - r['start'][1]) / 1e6:8.3f} ms")
    say(f"  {seen} outages announced while in progress")


def check_live(records, gaps, failures):
    tol = INTERVAL_NS + 1_000_000
    both = [r for r in records if r["kind"] == "both"]
    if len(both) < 20:
        failures.append(f"only {len(both)} outages injected")
    worst = 0
    for r in records:
        truth_lo = r["end"][0] - r["start"][1]
        truth_hi = r["end"][1] - r["start"][0]
        target = f"vm{r['vm']}"
        kinds = ["FLOW_KIND_ICMP_ECHO", "FLOW_KIND_UDP_REFLECT"]
        for kind in kinds:
            matched = [g for g in gaps if g["target"] == target and g["flow_kind"] == kind
                       and not g["open_end"] and g["tx_before_ns"] < r["end"][1]
                       and g["tx_after_ns"] > r["start"][0] and g["lost"] > 0]
            label = f"{target} {kind} {r['kind']} {r['ms']} ms"
            if len(matched) != 1:
                failures.append(f"{label}: {len(matched)} gaps (want 1): "
                                f"{[(g['seq_before'], g['seq_after'], g['estimate_ns']) for g in matched]}")
                continue
            g = matched[0]
            est = g["estimate_ns"]
            err = 0 if truth_lo <= est <= truth_hi else min(abs(est - truth_lo), abs(est - truth_hi))
            worst = max(worst, err)
            say(f"  {label:45s} truth [{truth_lo / 1e6:9.3f}, {truth_hi / 1e6:9.3f}] ms"
                  f"  estimate {est / 1e6:9.3f} ms  lost {g['lost']}"
                  + (f"  fwd/ret {g['forward_lost']}/{g['return_lost']}" if g["has_direction"] else ""))
            if err > tol:
                failures.append(f"{label}: estimate {est / 1e6:.3f} ms outside truth "
                                f"[{truth_lo / 1e6:.3f}, {truth_hi / 1e6:.3f}] +- {tol / 1e6:.3f} ms")
            if r["kind"] == "return" and kind == "FLOW_KIND_UDP_REFLECT":
                if not g["has_direction"] or g["return_lost"] < g["lost"] - 1 or g["forward_lost"] > 1:
                    failures.append(f"{label}: not reported as return loss: {g}")
            if r["kind"] == "both" and kind == "FLOW_KIND_UDP_REFLECT" and g["has_direction"]:
                if g["forward_lost"] < g["lost"] - 1:
                    failures.append(f"{label}: not reported as forward loss: {g}")
    say(f"  worst error beyond the truth interval: {worst / 1e6:.3f} ms (allowed {tol / 1e6:.3f})")
    matched_ids = set()
    for g in gaps:
        if g["lost"] > 0 and not any(g["tx_before_ns"] < r["end"][1] and g["tx_after_ns"] > r["start"][0]
                                     for r in records):
            say(f"  note: gap not from an injected outage: {g['target']} {g['flow_kind']} "
                  f"lost {g['lost']} estimate {g['estimate_ns'] / 1e6:.3f} ms")
        matched_ids.add(g["flow_id"])


def replay(build, work, capture):
    events = f"{work}/replay-events.jsonl"
    if os.path.exists(events):
        os.remove(events)
    subprocess.run(dp_cmd(build, ["--vdev", f"net_pcap0,rx_pcap={capture}"],
                          ["--port", "net_pcap0", "--probe-ip", PROBE_IP, "--replay",
                           "--rx-timestamp", "port", "--reply-timeout", f"{REPLY_TIMEOUT_MS}ms",
                           "--outage-threshold", "2ms", "--exit-after-idle", "500ms",
                           "--events", events, "--stats", f"{work}/replay-stats.json",
                           "--quiet"]), check=True, timeout=120)
    return read_gaps(events)


def analyze_gaps(build, work, capture):
    tool = shutil.which("migprobe-analyze") or f"{build}/analysis/migprobe-analyze"
    if not os.path.exists(tool):
        return None
    out = f"{work}/analyze.json"
    subprocess.run([tool, capture, "--json", out, "--reply-timeout", f"{REPLY_TIMEOUT_MS}ms",
                    "--outage-threshold", "2ms"], check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        report = json.load(f)
    gaps = []

    def walk(x):
        if isinstance(x, dict):
            if "seq_before" in x and "seq_after" in x and "flow_id" in x:
                gaps.append({k: (int(v) if isinstance(v, str) and v.isdigit() else v)
                             for k, v in x.items()})
            else:
                for v in x.values():
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(report)
    return gaps


def closed_keys(gaps):
    return {(int(g["flow_id"]), int(g["seq_before"]), int(g["seq_after"]), int(g["lost"]))
            for g in gaps if not g.get("open_start") and not g.get("open_end")}


def check_same(live, other, what, failures, strict_fields=True):
    a, b = closed_keys(live), closed_keys(other)
    if a != b:
        failures.append(f"{what}: gaps differ: only live {sorted(a - b)[:10]}, "
                        f"only {what} {sorted(b - a)[:10]}")
    else:
        say(f"  {what}: same {len(a)} gaps")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        sys.exit(77)
    sys.exit(main())
