#!/usr/bin/python3
"""One capture, two detectors: migprobe-dp replaying it through net_pcap and migprobe-analyze
reading it must count every frame they do not use under the same drop reason (both call the
classifier of analysis/classify.h and share one table of reasons).

The capture is made here: a probe flow (ICMP echo requests and replies, run generation 3)
and frames that are not probes or do not belong: UDP without a trailer, TCP, GRE, an
LLDP frame, a bad IPv4 checksum, a reply of another run generation, a reply stamped after it
arrived, a UDP probe under the ICMP flow's id. Needs root (DPDK's EAL); skipped (77) otherwise.

usage: drops_agree_test.py BUILD_DIR [WORK_DIR]
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

PROBE_MAC = bytes.fromhex("020000770002")
VM_MAC = bytes.fromhex("525400770011")
PROBE_IP = bytes([10, 77, 0, 2])
VM_IP = bytes([10, 77, 0, 11])
OTHER_IP = bytes([10, 77, 0, 3])
T0 = 1_767_225_600_000_000_000


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, bad_checksum=False):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0, src, dst)
    c = csum(hdr) ^ (0xFFFF if bad_checksum else 0)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def eth(dst, src, ethertype, payload):
    frame = dst + src + struct.pack("!H", ethertype) + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def trailer(seq, tx_ns, generation=3, flow_id=1, magic=0x6D70):
    word = (1 << 28) | (generation << 20) | flow_id
    return struct.pack("!HIIQ", magic, word, seq, tx_ns)


def icmp_echo(src_mac, dst_mac, src, dst, reply, seq, payload):
    body = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, 1, seq & 0xFFFF) + payload
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    return eth(dst_mac, src_mac, 0x0800, ipv4(src, dst, 1, body))


def udp(src_mac, dst_mac, src, dst, sport, dport, payload):
    length = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, length)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = csum(pseudo + hdr + payload) or 0xFFFF
    return eth(dst_mac, src_mac, 0x0800, ipv4(src, dst, 17, hdr[:6] + struct.pack("!H", c) + payload))


def tcp(src, dst, options=b""):
    hdr = struct.pack("!HHIIBBHHH", 40000, 22, 1000, 0, (5 + len(options) // 4) << 4, 0x02,
                      65535, 0, 0) + options
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(hdr))
    hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
    return eth(VM_MAC, PROBE_MAC, 0x0800, ipv4(src, dst, 6, hdr))


def make_capture(path):
    frames = []  # (ts_ns, bytes)
    t = T0
    for seq in range(200):
        tx = T0 + seq * 1_000_000
        frames.append((tx, icmp_echo(PROBE_MAC, VM_MAC, PROBE_IP, VM_IP, False, seq, trailer(seq, tx))))
        frames.append((tx + 50_000, icmp_echo(VM_MAC, PROBE_MAC, VM_IP, PROBE_IP, True, seq, trailer(seq, tx))))
    t = T0 + 100_000_000 + 300_000
    want = {}

    def add(frame, reason, n=1):
        nonlocal t
        for _ in range(n):
            frames.append((t, frame))
            t += 10_000
        want[reason] = want.get(reason, 0) + n

    add(udp(VM_MAC, PROBE_MAC, OTHER_IP, VM_IP, 5353, 53, b"A" * 30), "NOT_PROBE", 3)
    # An MSS option three bytes long (it is four): untrusted live and offline alike.
    add(tcp(OTHER_IP, VM_IP, options=b"\x02\x03\x05\x00"), "BAD_TCP_OPTIONS", 2)
    # A valid TCP segment between two other hosts: not one of migprobe-dp's flows (NOT_PROBE
    # live), a TCP stream offline (checked apart: not a drop there).
    frames.append((t, tcp(OTHER_IP, VM_IP)))
    t += 10_000
    add(eth(VM_MAC, PROBE_MAC, 0x0800, ipv4(OTHER_IP, VM_IP, 47, b"\0" * 8)), "OTHER_PROTOCOL")
    add(eth(bytes.fromhex("0180c200000e"), VM_MAC, 0x88CC, b"\x02\x07" + b"\0" * 20), "OTHER_PROTOCOL")
    add(eth(VM_MAC, PROBE_MAC, 0x0800, ipv4(OTHER_IP, VM_IP, 17, b"\0" * 12, bad_checksum=True)),
        "BAD_IP_CHECKSUM")
    tx = T0 + 100_000_000
    add(icmp_echo(VM_MAC, PROBE_MAC, VM_IP, PROBE_IP, True, 100, trailer(100, tx, generation=4)),
        "STALE_GENERATION")
    add(icmp_echo(VM_MAC, PROBE_MAC, VM_IP, PROBE_IP, True, 101, trailer(101, t + 5_000_000_000)),
        "TIMESTAMP_AHEAD")
    add(udp(VM_MAC, PROBE_MAC, VM_IP, PROBE_IP, 7077, 40001, trailer(102, tx, magic=0x6D72) + b"\0" * 4),
        "WRONG_KIND")
    frames.sort(key=lambda f: f[0])
    with open(path, "wb") as f:
        # pcap, nanosecond timestamps, Ethernet
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
        for ts, frame in frames:
            f.write(struct.pack("<IIII", ts // 1_000_000_000, ts % 1_000_000_000, len(frame), len(frame)))
            f.write(frame)
    return want


def main():
    build = os.path.abspath(sys.argv[1])
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="mpdrops-")
    os.makedirs(work, exist_ok=True)
    capture = os.path.join(work, "foreign.pcap")
    want = make_capture(capture)
    stats_path = os.path.join(work, "replay-stats.json")
    subprocess.run([f"{build}/dataplane/migprobe-dp", "--no-huge", "-m", "256", "--no-pci",
                    "--lcores", "0@0,1@1,2@0", "--file-prefix", f"mpdrops{os.getpid()}",
                    "--log-level", "warning", "--vdev", f"net_pcap0,rx_pcap={capture}", "--",
                    "--port", "net_pcap0", "--probe-ip", "10.77.0.2", "--replay",
                    "--rx-timestamp", "port", "--exit-after-idle", "500ms",
                    "--stats", stats_path, "--quiet"], check=True, timeout=120)
    with open(stats_path) as f:
        live = {d["name"]: int(d["value"]) for d in json.load(f)["drops"] if int(d["value"])}
    report_path = os.path.join(work, "analyze.json")
    subprocess.run([f"{build}/analysis/migprobe-analyze", capture, "--json", report_path],
                   check=True, stdout=subprocess.DEVNULL)
    with open(report_path) as f:
        report = json.load(f)
    offline = {d["reason"]: int(d["count"]) for d in report.get("drops", [])}
    streams = report.get("tcp_streams", [])
    print(f"  wanted          {dict(sorted(want.items()))}")
    print(f"  migprobe-dp     {dict(sorted(live.items()))}")
    print(f"  migprobe-analyze {dict(sorted(offline.items()))}")
    failures = []
    want_live = dict(want)
    want_live["NOT_PROBE"] = want_live.get("NOT_PROBE", 0) + 1
    if live != want_live:
        failures.append(f"migprobe-dp counted {live}, not {want_live}")
    if offline != want:
        failures.append(f"migprobe-analyze counted {offline}, not {want}")
    if len(streams) != 1 or streams[0].get("from_opener", {}).get("segments") != "1":
        failures.append(f"migprobe-analyze reported TCP streams {streams}, not the one SYN")
    for f in failures:
        print("FAIL", f)
    print("PASS" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root (DPDK's EAL)")
        sys.exit(77)
    sys.exit(main())
