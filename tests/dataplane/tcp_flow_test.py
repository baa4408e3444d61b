#!/usr/bin/python3
"""Integration test of migprobe-dp's TCP flows in network namespaces it creates itself.

The lab of namespace_test.py (migprobe-dp on net_af_packet over a veth into a bridge, four
"VM" namespaces running migprobe-reflector, whose TCP echo listens on 7077):
  - vm1, an echo flow and an ICMP flow: outages of known length, both directions dropped by
    nftables. Each is one loss episode of the probe's data whose stall is at least the
    outage and at most the outage plus the retransmission wait in force when it ended plus
    1 ms; no reset, every byte acknowledged and echoed intact ("recovered", nothing lost);
    the ICMP flow's gap of the same outage is reported.
  - vm2, a flow to a port with no service: refused, never established; and a discard flow
    to a netcat that is stopped (SIGSTOP) for a while: time at zero window, no false loss.
  - vm3, its echo service stopped then killed mid-run: the connection is reset, the bytes
    lost (taken and never echoed) counted.
  - vm4, a "reject with tcp reset" rule added mid-run: reset, the bytes lost counted.
  - tcp-syn flows: to vm1's echo port (SYN-ACK, reset by the probe: no half-open
    connection stays in the guest) and to vm2's port with no service (reset): answered,
    and each of vm1's outages is one gap of its SYN flow, as long as the ICMP flow's.
  - the run's capture replayed through net_pcap into migprobe-dp, and read by
    migprobe-analyze, gives the same TCP figures as the live run, and the same tcp-syn
    gaps (the SYNs found by their headers: no SYN flow shows up as a TCP stream).
Everything named mpt*, deleted on exit, also on failure. Needs root.

usage: tcp_flow_test.py BUILD_DIR [WORK_DIR]
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import namespace_test as nt  # noqa: E402  (the lab: namespaces, bridge, reflectors)

OUTAGES_MS = [300, 1000]
RTO_MIN_MS = 200
ZERO_WINDOW_S = 2.0
DETAILS = []


def say(line):
    DETAILS.append(line)


def vm_ip(i):
    return f"{nt.NET}.{10 + i}"


def nft(vm, cmd):
    before = time.time_ns()
    nt.sh("nft", cmd, ns=f"{nt.PREFIX}-vm{vm}")
    return before, time.time_ns()


def inject(records, errors):
    """vm1's outages (both directions), then the faults of vm2..vm4, in one thread."""
    try:
        for ms in OUTAGES_MS:
            time.sleep(1.0)
            s = nft(1, "add rule inet mpt in drop; add rule inet mpt out drop")
            time.sleep(ms / 1000.0)
            e = nft(1, "flush chain inet mpt in; flush chain inet mpt out")
            records.append({"ms": ms, "start": s, "end": e})
    except Exception as e:  # reported by the main thread
        errors.append(e)


def stream_of(streams, flow_id):
    return next((s for s in streams if int(s["flow_id"]) == flow_id), None)


def ints(d):
    return {k: int(v) if isinstance(v, str) and v.lstrip("-").isdigit() else v
            for k, v in d.items()}


def check_outages(records, stream, echo, gaps, failures):
    episodes = [ints(e) for e in stream["from_opener"].get("episodes", [])]
    for r in records:
        start, end = r["start"][1], r["end"][0]  # the outage surely held in between
        outage = end - start
        hits = [e for e in episodes if e["start_ns"] < r["end"][1] and e["end_ns"] > r["start"][0]]
        label = f"outage {r['ms']} ms"
        if len(hits) != 1:
            failures.append(f"{label}: {len(hits)} loss episodes of vm1's TCP flow (want 1)")
            continue
        e = hits[0]
        stall = e["stall_ns"]
        # The stall ends with the first retransmission after the outage: the wait before it
        # (the RTO then, doubled from the floor) is at most (stall + floor) / 2.
        wait = (stall + RTO_MIN_MS * 1_000_000) // 2
        say(f"{label}: stall {stall / 1e6:.1f} ms, retransmits {e['timeout_retransmits']} "
            f"timeout {e['fast_retransmits']} fast, last wait <= {wait / 1e6:.0f} ms")
        if stall < outage - 1_000_000:
            failures.append(f"{label}: stall {stall / 1e6:.1f} ms shorter than the outage")
        if stall > (r["end"][1] - r["start"][0]) + wait + 1_000_000:
            failures.append(f"{label}: stall {stall / 1e6:.1f} ms longer than the outage + the "
                            f"wait in force + 1 ms")
        if e["reset"] or e["open"]:
            failures.append(f"{label}: episode ended by a reset or still open: {e}")
        icmp = [g for g in gaps if g["target"] == "vm1" and g["flow_kind"] == "FLOW_KIND_ICMP_ECHO"
                and g["tx_before_ns"] < r["end"][1] and g["tx_after_ns"] > r["start"][0]]
        if len(icmp) != 1:
            failures.append(f"{label}: {len(icmp)} ICMP gaps of vm1 (want 1)")
        else:
            say(f"{label}: ICMP gap {icmp[0]['estimate_ns'] / 1e6:.1f} ms beside the TCP stall")
            if stall < icmp[0]["estimate_ns"] - 2_000_000:
                failures.append(f"{label}: TCP stall shorter than the ICMP gap")
    fo = ints(stream["from_opener"])
    if stream.get("resets"):
        failures.append(f"vm1: resets {stream['resets']}")
    if fo["bytes_acked"] != fo["bytes_sent"] or fo["bytes_sent"] < 3_000_000:
        failures.append(f"vm1: {fo['bytes_acked']} of {fo['bytes_sent']} bytes acknowledged")
    e = ints(echo)
    if e["bytes_echoed"] != fo["bytes_sent"] or e["bytes_mismatched"] != 0:
        failures.append(f"vm1: echoed {e['bytes_echoed']} of {fo['bytes_sent']}, "
                        f"{e['bytes_mismatched']} mismatched")
    say(f"vm1: {fo['bytes_sent']} bytes sent, acknowledged and echoed intact; RTT "
        f"{fo['rtt_min_ns'] / 1e3:.0f}/{fo['rtt_mean_ns'] / 1e3:.0f}/{fo['rtt_max_ns'] / 1e3:.0f} us")


def check_reset(vm, stream, connections, failures):
    label = f"vm{vm}"
    if stream is None:
        failures.append(f"{label}: no TCP figures")
        return
    resets = [ints(r) for r in stream.get("resets", []) if r.get("established")]
    changes = [c for c in connections if c["target"] == label]
    lost = [ints(c) for c in changes if c["change"] in ("TCP_CONNECTION_RESET",
                                                         "TCP_CONNECTION_PEER_CLOSED")]
    if not resets:
        failures.append(f"{label}: no reset of an established connection in {stream.get('resets')}")
    if not lost:
        failures.append(f"{label}: no reset event ({[c['change'] for c in changes]})")
        return
    first = lost[0]
    gone = first["unacked_bytes"] + first["unechoed_bytes"]
    say(f"{label}: {first['change']} by {'guest' if first['by_peer'] else 'probe'}, "
        f"{first['unacked_bytes']} bytes never acknowledged, {first['unechoed_bytes']} "
        f"never echoed; resets seen {len(resets)}")
    if resets and resets[0]["unacked_opener_bytes"] != first["unacked_bytes"] and \
            first["change"] == "TCP_CONNECTION_RESET":
        failures.append(f"{label}: the reset's unacknowledged bytes differ: meter "
                        f"{resets[0]['unacked_opener_bytes']}, endpoint {first['unacked_bytes']}")
    if gone == 0:
        if vm == 3:
            failures.append(f"{label}: the echo died with bytes it never echoed, none counted")
        say(f"{label}: (nothing was in flight when it died)")


def replayed_streams(build, work, capture):
    """The TCP figures and the tcp-syn gaps migprobe-dp gives when the capture is replayed
    through net_pcap."""
    events = f"{work}/replay-events.jsonl"
    if os.path.exists(events):
        os.remove(events)
    subprocess.run(nt.dp_cmd(build, ["--vdev", f"net_pcap0,rx_pcap={capture}"],
                             ["--port", "net_pcap0", "--probe-ip", nt.PROBE_IP, "--replay",
                              "--rx-timestamp", "port", "--exit-after-idle", "500ms",
                              "--events", events, "--quiet"]), check=True, timeout=120)
    # (A replay learns its flows from the capture: its events give no flow kinds.)
    return [ev["stream"] for ev in nt.read_events(events, "tcp_stream")], nt.read_gaps(events)


def analyzed_streams(build, work, capture):
    """The TCP figures and the tcp-syn gaps of migprobe-analyze on the capture."""
    tool = shutil.which("migprobe-analyze") or f"{build}/analysis/migprobe-analyze"
    if not os.path.exists(tool):
        return None
    out = f"{work}/analyze.json"
    subprocess.run([tool, capture, "--json", out], check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        report = json.load(f)
    gaps = [dict(ints(g), flow_id=int(fl["flow_id"]))
            for t in report.get("targets", []) for fl in t.get("flows", [])
            for g in fl.get("gaps", [])]
    return report.get("tcp_streams", []), gaps


def compare_syn_gaps(what, offline, live, syn_flows, failures, tolerance_ns):
    """The tcp-syn flows' gaps from the capture against the live ones: the same probes lost,
    between probes sent at the same times (to within tolerance_ns; the estimates also hang on
    the interval, which a capture without its journal measures)."""
    key = lambda g: (int(g["flow_id"]), int(g["seq_before"]))
    got = {key(g): g for g in offline if int(g["flow_id"]) in syn_flows}
    want = {key(g): g for g in live if int(g["flow_id"]) in syn_flows}
    if not want:
        failures.append(f"{what}: no live tcp-syn gap to compare")
    if sorted(got) != sorted(want):
        failures.append(f"{what}: tcp-syn gaps at (flow, seq) {sorted(got)}, live {sorted(want)}")
    for k in sorted(set(got) & set(want)):
        a, b = ints(want[k]), ints(got[k])
        if a["lost"] != b["lost"] or any(abs(a[t] - b[t]) > tolerance_ns
                                         for t in ("tx_before_ns", "tx_after_ns")):
            failures.append(f"{what}: tcp-syn gap {k}: live {a['lost']} lost between "
                            f"{a['tx_before_ns']} and {a['tx_after_ns']}; capture {b['lost']} "
                            f"lost between {b['tx_before_ns']} and {b['tx_after_ns']}")
    say(f"{what}: {len(got)} tcp-syn gaps, as live")


def check_syn(records, gaps, stats, half_open, failures):
    syn = [ints(f) for f in stats["flows"] if f.get("kind") == "FLOW_KIND_TCP_SYN"]
    for f in syn:
        say(f"{f['target']} tcp-syn: sent {f['sent']}, answered {f['answered']}, lost "
            f"{f['lost']}, rtt mean {f['rtt_mean_ns'] / 1e3:.0f} us")
        if f["answered"] < f["sent"] * 0.5:
            failures.append(f"{f['target']} tcp-syn: {f['answered']} of {f['sent']} answered")
    if len(syn) != 2:
        failures.append(f"{len(syn)} tcp-syn flows in the stats (want 2)")
    if half_open.strip():
        failures.append(f"vm1 keeps half-open connections: {half_open.strip()[:200]}")
    for r in records:
        by_kind = {}
        for g in gaps:
            if g["target"] == "vm1" and g["tx_before_ns"] < r["end"][1] and \
                    g["tx_after_ns"] > r["start"][0]:
                by_kind.setdefault(g["flow_kind"], []).append(g)
        got = by_kind.get("FLOW_KIND_TCP_SYN", [])
        icmp = by_kind.get("FLOW_KIND_ICMP_ECHO", [])
        if len(got) != 1 or len(icmp) != 1:
            failures.append(f"outage {r['ms']} ms: {len(got)} tcp-syn gaps and {len(icmp)} ICMP "
                            f"gaps of vm1 (want 1 each)")
            continue
        say(f"outage {r['ms']} ms: tcp-syn gap {got[0]['estimate_ns'] / 1e6:.1f} ms, ICMP "
            f"{icmp[0]['estimate_ns'] / 1e6:.1f} ms")
        # Both see the same outage, each to within its own interval (5 ms, 1 ms).
        if abs(got[0]["estimate_ns"] - icmp[0]["estimate_ns"]) > 7_000_000:
            failures.append(f"outage {r['ms']} ms: tcp-syn gap {got[0]['estimate_ns']} vs ICMP "
                            f"{icmp[0]['estimate_ns']}")


def compare_offline(what, offline, live, failures, stall_tolerance_ns=0):
    for s in live:
        got = next((o for o in offline if o.get("opener") == s["opener"]
                    and o.get("peer") == s["peer"]), None)
        if got is None:
            failures.append(f"migprobe-analyze: no stream {s['opener']} -> {s['peer']}")
            continue
        for side in ("from_opener", "from_peer"):
            a, b = ints(s[side]), ints(got[side])
            for k in ("segments", "bytes_sent", "bytes_acked", "retransmitted_segments",
                      "timeout_retransmits", "fast_retransmits", "resets"):
                if a.get(k, 0) != b.get(k, 0):
                    failures.append(f"{what} {s['peer']} {side}.{k}: live {a.get(k, 0)}"
                                    f", capture {b.get(k, 0)}")
            if abs(a.get("longest_stall_ns", 0) - b.get("longest_stall_ns", 0)) > stall_tolerance_ns:
                failures.append(f"{what} {s['peer']} {side} longest stall: live "
                                f"{a.get('longest_stall_ns', 0)}, capture "
                                f"{b.get('longest_stall_ns', 0)}")
        for k in ("connections", "established"):
            if int(s.get(k, 0)) != int(got.get(k, 0)):
                failures.append(f"{what} {s['peer']} {k}: live {s.get(k, 0)}, capture "
                                f"{got.get(k, 0)}")
        if len(s.get("resets", [])) != len(got.get("resets", [])):
            failures.append(f"{what} {s['peer']} resets: live {len(s.get('resets', []))}, "
                            f"capture {len(got.get('resets', []))}")
    # The tcp-syn probes are flows, not TCP streams.
    if len(offline) != len(live):
        failures.append(f"{what}: {len(offline)} TCP streams in the capture, {len(live)} live")
    say(f"{what}: {len(offline)} TCP streams in the capture, {len(live)} compared")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    build = os.path.abspath(sys.argv[1])
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="mpt-tcp-")
    os.makedirs(work, exist_ok=True)
    failures = []
    dp = None
    refl = []
    netcat = None
    t_start = time.time()
    try:
        refl = nt.setup(f"{build}/dataplane/migprobe-reflector")
        # vm2's netcat gets a small receive buffer, so that the window closes soon after
        # it stops reading (autotuning would take megabytes first).
        nt.sh("sysctl", "-qw", "net.ipv4.tcp_rmem=4096 16384 65536", ns=f"{nt.PREFIX}-vm2")
        netcat = subprocess.Popen(["ip", "netns", "exec", f"{nt.PREFIX}-vm2", "nc", "-l", "-k",
                                   "9"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        events = f"{work}/events.jsonl"
        capture = f"{work}/tcp.pcapng"
        for p in (events, capture):
            if os.path.exists(p):
                os.remove(p)
        targets = ["--target", f"name=vm1,{vm_ip(1)},icmp=1ms,tcp=1M,tcp-syn=5ms",
                   "--target", f"name=vm2,{vm_ip(2)},tcp=100k/port=9999,tcp=1M/port=9/discard,"
                               f"tcp-syn=5ms/port=9999",
                   "--target", f"name=vm3,{vm_ip(3)},tcp=1M",
                   "--target", f"name=vm4,{vm_ip(4)},tcp=1M"]
        dp = subprocess.Popen(nt.dp_cmd(build, ["--vdev", f"net_af_packet0,iface={nt.PREFIX}-dp"],
                                        ["--port", "net_af_packet0", "--probe-ip", nt.PROBE_IP,
                                         "--reply-timeout", "200ms", "--outage-threshold", "2ms",
                                         "--realtime", "10",
                                         "--events", events, "--stats", f"{work}/stats.json",
                                         "--capture", capture, "--quiet"] + targets))
        nt.wait_for_start(dp, events)
        time.sleep(1.5)
        records, errors = [], []
        injector = threading.Thread(target=inject, args=(records, errors))
        injector.start()
        # Meanwhile: vm2's netcat stops reading, vm3's echo dies, vm4 rejects.
        os.kill(netcat.pid, 0)
        stop_nc = subprocess.run(["pkill", "-STOP", "-f", "^nc -l -k 9"], check=False)
        time.sleep(ZERO_WINDOW_S)
        subprocess.run(["pkill", "-CONT", "-f", "^nc -l -k 9"], check=False)
        say(f"vm2 netcat stopped for {ZERO_WINDOW_S} s (pkill rc {stop_nc.returncode})")
        # vm3's echo dies with bytes it took and never echoed: stopped first, its socket
        # fills, and the kernel resets a connection closed with unread data (killed while
        # idle, between two of the flow's segments, it would close with a FIN instead: seen
        # once in CI).
        refl[2].send_signal(signal.SIGSTOP)
        time.sleep(0.3)
        refl[2].send_signal(signal.SIGKILL)
        nft(4, "add rule inet mpt in tcp dport 7077 reject with tcp reset")
        injector.join()
        if errors:
            raise RuntimeError(f"injector: {errors[0]}")
        # Long enough for the last outage's recovery: the retransmission after it may wait
        # the RTO doubled to 1.6 s (nft in a namespace can take a few hundred ms to lift it).
        time.sleep(2.0)
        # A half-open connection the probe failed to reset stays (the guest retries its
        # SYN-ACK for a minute); one whose reset is on its way (the tcp-syn flow still runs)
        # is gone an instant later, each SYN from a new port: those seen twice, 0.5 s apart.
        def syn_recv():
            out = nt.sh("ss", "-Htn", "state", "syn-recv", ns=f"{nt.PREFIX}-vm1").stdout
            return {line.strip() for line in out.splitlines() if line.strip()}
        first = syn_recv()
        time.sleep(0.5)
        half_open = "\n".join(sorted(first & syn_recv()))
        dp.send_signal(signal.SIGINT)
        dp.wait(timeout=30)

        streams, echoes = [], {}
        for ev in nt.read_events(events, "tcp_stream"):
            streams.append(dict(ev["stream"], flow_id=ev["flow_id"], target=ev["target"]))
            echoes[int(ev["flow_id"])] = ev["echo"]
        connections = nt.read_events(events, "tcp_connection")
        gaps = nt.read_gaps(events)
        by_target = {}
        for s in streams:
            by_target.setdefault(s["target"], []).append(s)
        if len(streams) != 5:
            failures.append(f"{len(streams)} TCP flows reported their figures (want 5)")
        vm1 = by_target.get("vm1", [None])[0]
        if vm1 is None:
            failures.append("vm1: no TCP figures")
        else:
            check_outages(records, vm1, echoes[int(vm1["flow_id"])], gaps, failures)
        for s in by_target.get("vm2", []):
            fo = ints(s["from_opener"])
            if s["peer"].endswith(":9999"):
                changes = {c["change"] for c in connections if int(c["flow_id"]) == int(s["flow_id"])}
                say(f"vm2 no service: {s.get('connections', 0)} attempts, established "
                    f"{s.get('established', 0)}, events {sorted(changes)}")
                if int(s.get("established", 0)) != 0 or changes != {"TCP_CONNECTION_REFUSED"}:
                    failures.append(f"vm2:9999 should be refused, never established: {changes}")
                if fo["bytes_sent"] != 0:
                    failures.append(f"vm2:9999 sent {fo['bytes_sent']} bytes")
            else:
                zw = int(s["from_opener"].get("zero_window_ns", 0))
                say(f"vm2 discard: zero window {zw / 1e6:.0f} ms in {s['from_opener'].get('zero_windows', 0)} "
                    f"closings, {fo['bytes_acked']} of {fo['bytes_sent']} bytes acknowledged")
                if zw < 500_000_000:
                    failures.append(f"vm2 discard: zero window {zw / 1e6:.0f} ms (want most of "
                                    f"the {ZERO_WINDOW_S} s netcat was stopped)")
                if s.get("resets") or fo["bytes_acked"] != fo["bytes_sent"]:
                    failures.append(f"vm2 discard: false loss (resets {s.get('resets')}, "
                                    f"{fo['bytes_acked']} of {fo['bytes_sent']} acknowledged)")
        for vm in (3, 4):
            check_reset(vm, by_target.get(f"vm{vm}", [None])[0], connections, failures)
        with open(f"{work}/stats.json") as f:
            stats = json.load(f)
        check_syn(records, gaps, stats, half_open, failures)
        drops = {c["name"]: int(c["value"]) for c in stats["drops"] if int(c["value"])}
        say(f"drops: {drops}")
        # DPDK's net_pcap reads the capture's times in microseconds: the stalls to 1 us.
        syn_flows = {int(f["flow_id"]) for f in stats["flows"]
                      if f.get("kind") == "FLOW_KIND_TCP_SYN"}
        replayed, replayed_gaps = replayed_streams(build, work, capture)
        compare_offline("replay through net_pcap", replayed, streams, failures,
                        stall_tolerance_ns=1000)
        # net_pcap reads microseconds.
        compare_syn_gaps("replay through net_pcap", replayed_gaps, gaps, syn_flows, failures,
                         tolerance_ns=1000)
        analyzed = analyzed_streams(build, work, capture)
        if analyzed is None:
            say("SKIP migprobe-analyze comparison: not built")
        else:
            compare_offline("migprobe-analyze", analyzed[0], streams, failures)
            compare_syn_gaps("migprobe-analyze", analyzed[1], gaps, syn_flows, failures,
                             tolerance_ns=0)
    except Exception as e:
        failures.append(f"error: {e}")
    finally:
        if dp and dp.poll() is None:
            dp.kill()
        if netcat:
            subprocess.run(["pkill", "-CONT", "-f", "^nc -l -k 9"], check=False)
            netcat.kill()
        for p in refl:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in refl:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        nt.cleanup()
    for f in failures:
        print("FAIL", f)
    print("\n".join(DETAILS))
    print(f"TCP flow test: {time.time() - t_start:.1f} s, {len(failures)} failures")
    if failures:
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        sys.exit(77)
    sys.exit(main())
