"""A 1 ms ICMP echo probe for tests (SIGINT stops it early and still prints results): the kernel-probe namespace's view of a guest.

Not the product's probe (that is migprobe-dp on DPDK); it lets lab tests check that each
migration's pause is visible on the wire. Output (JSON): counts, and every gap between
consecutive replies longer than gap_ms, with CLOCK_REALTIME edges in ns.
"""

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

from . import config


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def _echo(ident, seq):
    payload = struct.pack("!Q", time.time_ns()).ljust(16, b"\0")
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, _checksum(hdr + payload), ident, seq) + payload


def ping(ip, seconds, interval_ms, gap_ms):
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.settimeout(0.2)
    ident = os.getpid() & 0xFFFF
    replies = []  # (recv_ns, seq)
    stop = threading.Event()

    def receive():
        while not stop.is_set():
            try:
                pkt = sock.recv(2048)
            except socket.timeout:
                continue
            t = time.time_ns()
            ihl = (pkt[0] & 0x0F) * 4
            typ, _, _, rid, seq = struct.unpack_from("!BBHHH", pkt, ihl)
            if typ == 0 and rid == ident:
                replies.append((t, seq))

    rx = threading.Thread(target=receive, daemon=True)
    rx.start()
    start_ns = time.time_ns()
    t0 = time.monotonic()
    n = int(seconds * 1000 / interval_ms)
    sent = 0
    try:
        for i in range(n):
            delay = t0 + i * interval_ms / 1000 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                sock.sendto(_echo(ident, i & 0xFFFF), (ip, 0))
            except OSError:
                pass
            sent += 1
    except KeyboardInterrupt:
        pass  # SIGINT ends the run early; the results so far are still printed
    end_ns = time.time_ns()
    time.sleep(0.3)
    stop.set()
    rx.join()
    gaps = []
    prev = None
    for t, seq in replies:
        if prev is not None and (t - prev) / 1e6 > gap_ms:
            gaps.append({"from_ns": prev, "to_ns": t, "ms": (t - prev) / 1e6})
        prev = t
    return {"ip": ip, "sent": sent, "received": len(replies), "interval_ms": interval_ms,
            "start_ns": start_ns, "end_ns": end_ns, "gap_ms": gap_ms, "gaps": gaps}


def main_in_netns(args):
    """`migprobe-lab ping`: runs this module inside the kernel-probe namespace."""
    argv = ["ip", "netns", "exec", config.KPROBE_NS, "/usr/bin/python3", "-m",
            "migprobe_lab.pinger", args.ip, "--seconds", str(args.seconds),
            "--interval-ms", str(args.interval_ms), "--gap-ms", str(args.gap_ms)]
    env = dict(os.environ, PYTHONPATH=config.lab_dir())
    return subprocess.call(argv, env=env)


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="migprobe_lab.pinger")
    p.add_argument("ip")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--interval-ms", type=float, default=1.0)
    p.add_argument("--gap-ms", type=float, default=40.0)
    a = p.parse_args()
    print(json.dumps(ping(a.ip, a.seconds, a.interval_ms, a.gap_ms)))
    sys.exit(0)
