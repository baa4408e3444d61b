#!/usr/bin/python3
"""A plain TCP stream of the Linux kernel, captured by tcpdump, read by migprobe-analyze.

Two network namespaces joined by a veth (10.79.0.1 and .2, all named mptc*). In the second,
`nc -l` discards what it is sent; in the first, `nc` streams to it at about 1 MB/s for
5 s. From 1.5 s the second namespace drops the stream's segments for OUTAGE_S (nftables),
then lets them through again. tcpdump captures the first namespace's side with nanosecond
timestamps. migprobe-analyze must report one stream, opened by the first namespace,
established, closed by FIN (not reset), with:
  - at least one retransmission, by timeout, in one recovered loss episode;
  - a longest stall of at least the outage and at most the outage plus the RTO in force when
    it ended (the last wait between two retransmissions of the same bytes) plus 50 ms;
  - every byte sent acknowledged, none unacknowledged at the end.
Everything it creates is removed on exit, also on failure. Needs root, nc and tcpdump.

usage: tcp_capture_test.py BUILD_DIR [WORK_DIR]
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

NS_A = f"mptca{os.getpid()}"
NS_B = f"mptcb{os.getpid()}"
IP_A = "10.79.0.1"
IP_B = "10.79.0.2"
PORT = 7009
RATE_BPS = 1_000_000
RUN_S = 5.0
OUTAGE_AT_S = 1.5
OUTAGE_S = 1.0


def run(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def ns(name, *cmd, check=True):
    return run("ip", "netns", "exec", name, *cmd, check=check)


def setup():
    # Namespaces of a run killed before its cleanup (a timeout) go first.
    for line in run("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(("mptca", "mptcb")):
            run("ip", "netns", "del", name, check=False)
    run("ip", "netns", "add", NS_A)
    run("ip", "netns", "add", NS_B)
    run("ip", "link", "add", "mptcva", "netns", NS_A, "type", "veth", "peer", "name", "mptcvb",
        "netns", NS_B)
    for name, dev, ip in ((NS_A, "mptcva", IP_A), (NS_B, "mptcvb", IP_B)):
        ns(name, "ip", "addr", "add", f"{ip}/24", "dev", dev)
        ns(name, "ip", "link", "set", dev, "up")
        ns(name, "ip", "link", "set", "lo", "up")
        # Segments as the application wrote them, checksums filled in before the capture sees
        # them: no offload on either side.
        ns(name, "ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off", "gro", "off",
           check=False)


def cleanup(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for name in (NS_A, NS_B):
        run("ip", "netns", "del", name, check=False)


def outage(on):
    if on:
        ns(NS_B, "nft", "add", "table", "inet", "mptc")
        ns(NS_B, "nft", "add", "chain", "inet", "mptc", "in",
           "{ type filter hook input priority -10; }")
        ns(NS_B, "nft", "add", "rule", "inet", "mptc", "in", "tcp", "dport", str(PORT), "drop")
    else:
        ns(NS_B, "nft", "delete", "table", "inet", "mptc")


def check(report):
    failures = []
    streams = report.get("tcp_streams", [])
    if len(streams) != 1:
        return [f"{len(streams)} TCP streams reported, not 1: {streams}"]
    s = streams[0]
    d = s.get("from_opener", {})
    num = lambda m, k: int(m.get(k, 0))
    print(f"  stream {s.get('opener')} -> {s.get('peer')}: established {s.get('established')}, "
          f"sent {num(d, 'bytes_sent')} acked {num(d, 'bytes_acked')}, retransmitted "
          f"{num(d, 'retransmitted_segments')} ({num(d, 'timeout_retransmits')} timeout, "
          f"{num(d, 'fast_retransmits')} fast), longest stall "
          f"{num(d, 'longest_stall_ns') / 1e6:.1f} ms")
    for e in d.get("episodes", []):
        print(f"    episode stall {num(e, 'stall_ns') / 1e6:.1f} ms, "
              f"{num(e, 'timeout_retransmits')} timeout, {num(e, 'fast_retransmits')} fast, "
              f"reset {e.get('reset', False)}, open {e.get('open', False)}")
    if not s.get("opener", "").startswith(IP_A + ":") or s.get("peer") != f"{IP_B}:{PORT}":
        failures.append(f"ends {s.get('opener')} -> {s.get('peer')}")
    if num(s, "established") != 1 or s.get("mid_stream"):
        failures.append("not one established connection")
    if s.get("resets"):
        failures.append(f"resets reported: {s['resets']}")
    if num(d, "timeout_retransmits") < 1:
        failures.append("no timeout retransmission across the outage")
    episodes = [e for e in d.get("episodes", []) if num(e, "timeout_retransmits") > 0]
    if not episodes or any(e.get("reset") or e.get("open") for e in episodes):
        failures.append("no recovered loss episode with timeouts")
    stall = num(d, "longest_stall_ns")
    # The RTO in force when the path came back, the last wait between two retransmissions:
    # Linux doubles it at every expiry from at least 200 ms, so over a stall of first RTO
    # times (2^k - 1) the last wait is (stall + first RTO) / 2 at most.
    rto_bound = (stall + 200_000_000) // 2
    outage_ns = int(OUTAGE_S * 1e9)
    if stall < outage_ns:
        failures.append(f"stall {stall / 1e6:.1f} ms shorter than the {OUTAGE_S * 1e3:.0f} ms outage")
    if stall > outage_ns + rto_bound + 50_000_000:
        failures.append(f"stall {stall / 1e6:.1f} ms beyond outage + RTO ({rto_bound / 1e6:.0f} ms)")
    if num(d, "bytes_acked") != num(d, "bytes_sent") or num(d, "bytes_sent") < RATE_BPS:
        failures.append(f"sent {num(d, 'bytes_sent')}, acknowledged {num(d, 'bytes_acked')}")
    if num(d, "unacked_bytes") != 0:
        failures.append(f"{num(d, 'unacked_bytes')} bytes never acknowledged")
    return failures


def main():
    build = os.path.abspath(sys.argv[1])
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="mptcp-")
    os.makedirs(work, exist_ok=True)
    capture = os.path.join(work, "nc.pcap")
    procs = []
    try:
        setup()
        server = subprocess.Popen(["ip", "netns", "exec", NS_B, "nc", "-l", "-d", IP_B, str(PORT)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(server)
        dump = subprocess.Popen(["ip", "netns", "exec", NS_A, "tcpdump", "-i", "mptcva", "-w",
                                 capture, "-s", "128", "--time-stamp-precision=nano", "-U",
                                 "tcp", "port", str(PORT)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(dump)
        time.sleep(1.0)  # tcpdump listening, nc listening
        client = subprocess.Popen(["ip", "netns", "exec", NS_A, "nc", "-N", IP_B, str(PORT)],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        procs.append(client)
        chunk = b"migprobe" * 1250  # 10,000 bytes every 10 ms
        # The outage on its own timers: a write blocks while the stream cannot drain.
        timers = [threading.Timer(OUTAGE_AT_S, outage, (True,)),
                  threading.Timer(OUTAGE_AT_S + OUTAGE_S, outage, (False,))]
        for t in timers:
            t.start()
        start = time.monotonic()
        while time.monotonic() - start < RUN_S:
            client.stdin.write(chunk)
            client.stdin.flush()
            time.sleep(0.01)
        for t in timers:
            t.join()
        client.stdin.close()
        client.wait(timeout=30)
        server.wait(timeout=10)
        time.sleep(0.5)
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)
        report_path = os.path.join(work, "report.json")
        subprocess.run([f"{build}/analysis/migprobe-analyze", capture, "--json", report_path,
                        "--text", os.path.join(work, "report.txt")], check=True,
                       stdout=subprocess.DEVNULL)
        with open(report_path) as f:
            failures = check(json.load(f))
    finally:
        cleanup(procs)
    for f in failures:
        print("FAIL", f)
    print("PASS" if not failures else "FAILED")
    if not failures and len(sys.argv) <= 2:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        sys.exit(77)
    for tool in ("nc", "tcpdump", "nft"):
        if shutil.which(tool) is None:
            print(f"SKIP: {tool} missing (tools/install-deps)")
            sys.exit(77)
    sys.exit(main())
