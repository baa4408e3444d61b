#!/usr/bin/python3
"""The probe's TCP endpoint against the Linux kernel's TCP, through an injected outage.

Two network namespaces joined by a veth (all named mpte*): in "vm", 10.80.0.2 and
migprobe-reflector's TCP echo on 7077; in "probe", the other end without any address, where
tcp-endpoint-live runs one TCP flow from 10.80.0.1 over AF_PACKET (answering ARP for it),
at 1 MB/s in 1000-byte segments, for RUN_S seconds, then closes. From OUTAGE_AT_S the vm
namespace drops the flow's segments both ways for OUTAGE_S (nftables). Checks:
  - one connection, established, no reset;
  - one loss episode, recovered by timeout retransmissions; its stall at least the outage
    and at most the outage plus the RTO in force when the path came back (the last wait
    between retransmissions: (stall + 200 ms) / 2 under doubling from the 200 ms floor)
    plus 1 ms;
  - every byte acknowledged, echoed back and equal to what was sent; none unacknowledged.
Everything it creates is removed on exit, also on failure. Needs root.

usage: tcp_endpoint_live_test.py BUILD_DIR
"""

import json
import os
import subprocess
import sys
import threading
import time

PROBE_NS = f"mpteprobe{os.getpid()}"
VM_NS = f"mptevm{os.getpid()}"
PROBE_IP = "10.80.0.1"
VM_IP = "10.80.0.2"
PORT = 7077
RUN_S = 6.0
OUTAGE_AT_S = 2.0
OUTAGE_S = 1.0


def run(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def ns(name, *cmd, check=True):
    return run("ip", "netns", "exec", name, *cmd, check=check)


def setup():
    for line in run("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(("mpteprobe", "mptevm")):
            run("ip", "netns", "del", name, check=False)
    run("ip", "netns", "add", PROBE_NS)
    run("ip", "netns", "add", VM_NS)
    run("ip", "link", "add", "mpteprobe", "netns", PROBE_NS, "type", "veth", "peer", "name",
        "mptevm", "netns", VM_NS)
    ns(PROBE_NS, "ip", "link", "set", "mpteprobe", "up")
    ns(VM_NS, "ip", "addr", "add", f"{VM_IP}/24", "dev", "mptevm")
    ns(VM_NS, "ip", "link", "set", "mptevm", "up")
    ns(VM_NS, "ip", "link", "set", "lo", "up")
    for name, dev in ((PROBE_NS, "mpteprobe"), (VM_NS, "mptevm")):
        # Whole segments with their checksums: what a NIC would put on the wire.
        ns(name, "ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off", "gro", "off",
           check=False)
    link = json.loads(ns(VM_NS, "ip", "-j", "link", "show", "mptevm").stdout)
    return link[0]["address"]


def outage(on):
    if on:
        ns(VM_NS, "nft", "add", "table", "inet", "mpte")
        for hook, match in (("input", "dport"), ("output", "sport")):
            ns(VM_NS, "nft", "add", "chain", "inet", "mpte", hook,
               f"{{ type filter hook {hook} priority -10; }}")
            ns(VM_NS, "nft", "add", "rule", "inet", "mpte", hook, "tcp", match, str(PORT), "drop")
    else:
        ns(VM_NS, "nft", "delete", "table", "inet", "mpte")


def check(r):
    failures = []
    d = r["probe"]
    print(f"  established {r['established']} of {r['connections']}; sent {d['bytes_sent']}, "
          f"acked {d['bytes_acked']}, echoed {r['bytes_echoed']} (mismatched "
          f"{r['bytes_mismatched']}); retransmitted {d['retransmitted_segments']} "
          f"({d['timeout_retransmits']} timeout, {d['fast_retransmits']} fast), longest stall "
          f"{d['longest_stall_ns'] / 1e6:.1f} ms, echo max {r['echo_max_ns'] / 1e6:.2f} ms")
    for e in d["episodes"]:
        print(f"    episode from +{(e['start_ns'] - r['start_ns']) / 1e9:.3f} s: stall "
              f"{e['stall_ns'] / 1e6:.1f} ms, {e['timeout']} timeout, {e['fast']} fast, "
              f"reset {e['reset']}, open {e['open']}")
    if r["established"] != 1 or r["connections"] != 1 or r["resets"] != 0:
        failures.append("not one established connection without reset")
    episodes = [e for e in d["episodes"] if e["timeout"] > 0]
    if len(episodes) != 1 or episodes[0]["reset"] or episodes[0]["open"]:
        failures.append(f"{len(episodes)} timeout episodes, not one recovered")
    else:
        stall = episodes[0]["stall_ns"]
        outage_ns = int(OUTAGE_S * 1e9)
        rto = (stall + 200_000_000) // 2
        if stall < outage_ns:
            failures.append(f"stall {stall / 1e6:.1f} ms shorter than the outage")
        if stall > outage_ns + rto + 1_000_000:
            failures.append(f"stall {stall / 1e6:.1f} ms beyond the outage + RTO {rto / 1e6:.0f} ms")
    if d["bytes_sent"] < 0.9 * RUN_S * 1e6 * (RUN_S - OUTAGE_S) / RUN_S:
        failures.append(f"only {d['bytes_sent']} bytes sent")
    if d["bytes_acked"] != d["bytes_sent"] or d["unacked_bytes"] != 0:
        failures.append(f"{d['bytes_sent'] - d['bytes_acked']} bytes never acknowledged")
    if r["bytes_echoed"] != d["bytes_sent"] or r["bytes_mismatched"] != 0:
        failures.append(f"echo: {r['bytes_echoed']} of {d['bytes_sent']} bytes, "
                        f"{r['bytes_mismatched']} not as sent")
    if r["send_errors"] != 0:
        failures.append(f"{r['send_errors']} frames not sent")
    return failures


def main():
    build = os.path.abspath(sys.argv[1])
    reflector = None
    failures = []
    try:
        vm_mac = setup()
        reflector = subprocess.Popen(["ip", "netns", "exec", VM_NS,
                                      f"{build}/dataplane/migprobe-reflector", "--bind", "0.0.0.0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        timers = [threading.Timer(OUTAGE_AT_S, outage, (True,)),
                  threading.Timer(OUTAGE_AT_S + OUTAGE_S, outage, (False,))]
        for t in timers:
            t.start()
        out = ns(PROBE_NS, f"{build}/tests/dataplane/tcp-endpoint-live", "mpteprobe", PROBE_IP,
                 VM_IP, vm_mac, str(PORT), str(RUN_S)).stdout
        for t in timers:
            t.join()
        failures = check(json.loads(out))
    finally:
        if reflector is not None:
            reflector.kill()
            reflector.wait()
        for name in (PROBE_NS, VM_NS):
            run("ip", "netns", "del", name, check=False)
    for f in failures:
        print("FAIL", f)
    print("PASS" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, AF_PACKET)")
        sys.exit(77)
    sys.exit(main())
