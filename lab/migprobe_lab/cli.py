"""migprobe-lab: the command line of the lab (see --help and lab/README.md)."""

import argparse
import json
import os
import sys

from . import config, lab, truth
from .migration import Migration, Parameters
from .proc import LabError

DESCRIPTION = """\
The migprobe lab: real guests, real live migrations and a lab cloud on one machine.

  migprobe-lab up [--guests 3]          bridge mplab0, probe veth mp-probe, guests on hostA
  migprobe-lab status                   where each guest runs, the cloud, the state dir
  migprobe-lab migrate vm1 --to hostB   one live migration, ground truth to the journal
  migprobe-lab truth                    the ground-truth journal (JSON Lines)
  migprobe-lab cloud                    the lab cloud (Keystone v3 + Nova subset) on 127.0.0.1
  migprobe-lab ping 10.77.0.11          1 ms ICMP probe from the kernel-probe namespace
  migprobe-lab down [--purge]           remove everything the lab created

Addresses: 10.77.0.0/24 only; the probe is 10.77.0.2, guest N is 10.77.0.(10+N) with MAC
52:54:00:77:00:(10+N). Every link and namespace the lab creates starts with "mp".
State (pid files, QMP sockets, logs, ground-truth.jsonl): $MIGPROBE_LAB_STATE
(default /run/migprobe-lab). Guest image cache: $MIGPROBE_LAB_CACHE
(default /var/cache/migprobe/lab). Must run as root.
"""


def _load(text):
    try:
        mb, pps = text.replace(":", ",").split(",")
        mb, pps = int(mb), int(pps)
        if mb <= 0 or pps < 0:
            raise ValueError
        return [mb, pps]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MB,PAGES_PER_SECOND (e.g. 32,20000), got {text!r}")


def _hosts(text):
    hosts = [h for h in text.split(",") if h]
    if len(hosts) < 2:
        raise argparse.ArgumentTypeError("need at least two hosts, e.g. hostA,hostB")
    return hosts


def build_parser():
    p = argparse.ArgumentParser(prog="migprobe-lab", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    u = sub.add_parser("up", help="bring the lab up (idempotent; cleans up on failure and Ctrl-C)",
                       description="Create the bridge, the probe veth and the guests, all on one "
                       "host. Running it again with the same options leaves a healthy lab as is.")
    u.add_argument("--guests", type=int, default=3,
                   help="number of guests (default 3; 0: none, the lab cloud boots servers "
                   "on demand: POST /servers)")
    u.add_argument("--hosts", type=_hosts, default=list(config.DEFAULT_HOSTS),
                   help="compute host names, comma separated (default hostA,hostB)")
    u.add_argument("--on", default=None, help="host the guests start on (default: the first)")
    u.add_argument("--mode", choices=("auto", "qemu", "netns"), default="auto",
                   help="qemu: real QEMU guests; netns: a namespace per guest with injected "
                   "outages (fallback); auto: qemu if it boots, else netns (default)")
    u.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                   help="QEMU accelerator; auto boots a test guest under KVM once and falls "
                   "back to TCG (result cached)")
    u.add_argument("--kernel-probe", action="store_true",
                   help=f"also create namespace {config.KPROBE_NS} with {config.PROBE_IP} so "
                   "guests can be pinged without DPDK (do not run the DPDK probe meanwhile)")
    u.add_argument("--reflector", metavar="PATH",
                   help="static migprobe-reflector binary to run in every guest (UDP "
                   f"{config.GUEST_REFLECTOR_PORT}), e.g. build/dataplane/migprobe-reflector")
    u.add_argument("--load", type=_load, metavar="MB,PPS",
                   help="memory-dirtying load in every QEMU guest: MB of memory, pages "
                   "dirtied per second")
    u.add_argument("--load-on", metavar="VM[,VM...]",
                   help="only these guests run the --load (e.g. vm1: a dirtying guest next to "
                   "idle ones)")
    u.add_argument("--mem-mb", type=int, default=128, help="guest memory (default 128)")

    m = sub.add_parser("migrate", help="live-migrate one guest to another host",
                       description="Migrate GUEST to --to. QEMU guests: a real live migration "
                       "over QMP. Namespace guests: an outage of --outage-ms then a RARP "
                       "announce. Prints the ground-truth record (also appended to "
                       "ground-truth.jsonl). Exit status 0 only if it completed.")
    m.add_argument("guest", help="guest name, e.g. vm1")
    m.add_argument("--to", required=True, help="destination host, e.g. hostB")
    m.add_argument("--downtime-limit-ms", type=int, help="QEMU downtime-limit (default QEMU's 300)")
    m.add_argument("--bandwidth", type=float, metavar="MIB_PER_S", help="QEMU max-bandwidth in MiB/s")
    m.add_argument("--auto-converge", action="store_true", help="enable auto-converge")
    m.add_argument("--postcopy", action="store_true", help="switch to post-copy at once")
    m.add_argument("--outage-ms", type=float, default=200.0,
                   help="namespace guests only: outage length (default 200)")
    m.add_argument("--timeout", type=float, default=300.0, help="cancel after this many seconds")
    m.add_argument("--inject-failure", choices=("dest-crash", "dest-start"),
                   help="dest-crash: kill the destination QEMU mid-way (a real failure); "
                   "dest-start: fail as if the destination QEMU did not start")

    im = sub.add_parser("image", help="build the guest image and print the file to upload to "
                        "Glance", description="Builds (or finds cached) the lab's guest image "
                        "and prints the path of its initramfs: the image a bootstrap uploads "
                        "to the lab cloud's Glance, which a QEMU server boots with the lab's "
                        "kernel.")
    im.add_argument("--reflector", help="the reflector binary baked into the image (as up "
                    "--reflector)")

    s = sub.add_parser("status", help="show the lab")
    s.add_argument("--json", action="store_true", help="machine-readable output")

    d = sub.add_parser("down", help="remove everything the lab created")
    d.add_argument("--purge", action="store_true", help="also delete the state dir (logs, truth)")

    t = sub.add_parser("truth", help="print the ground-truth journal (JSON Lines)")
    t.add_argument("--last", type=int, default=0, help="only the last N records")

    c = sub.add_parser("cloud", help="run the lab cloud (Keystone v3 + Nova subset)",
                       description="Serve the lab cloud on 127.0.0.1. Each live migration it "
                       "accepts is carried out on the lab guests. Prints the OS_* variables to "
                       "use. Without --foreground it runs in the background (pid file "
                       "cloud.pid in the state dir) and `down` stops it.")
    c.add_argument("--port", type=int, default=5077, help="TCP port (default 5077; 0 = any)")
    c.add_argument("--foreground", action="store_true", help="do not detach")
    c.add_argument("--faults", metavar="FILE", help="fault plan (JSON, see README)")
    c.add_argument("--stop", action="store_true", help="stop a background cloud")
    c.add_argument("--downtime-limit-ms", type=int,
                   help="QEMU downtime-limit for the migrations it carries out")
    c.add_argument("--postcopy", action="store_true", help="carry migrations out in post-copy")
    c.add_argument("--bandwidth", type=float, metavar="MIB_PER_S",
                   help="QEMU max-bandwidth for the migrations it carries out")
    c.add_argument("--outage-ms", type=float, default=200.0,
                   help="namespace guests: outage length of a migration (default 200)")
    c.add_argument("--max-concurrent-live-migrations", type=int, default=0, metavar="N",
                   help="live migrations at a time per source host, as nova.conf's "
                   "max_concurrent_live_migrations: more are held in status 'queued' until "
                   "one ends (Nova's default is 1; the lab's is 0, no limit)")

    pg = sub.add_parser("ping", help="ICMP echo every 1 ms from the kernel-probe namespace",
                        description="Needs `up --kernel-probe`. Prints JSON: sent, received, "
                        "and the reply gaps longer than --gap-ms.")
    pg.add_argument("ip")
    pg.add_argument("--seconds", type=float, default=5.0)
    pg.add_argument("--interval-ms", type=float, default=1.0)
    pg.add_argument("--gap-ms", type=float, default=40.0)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if os.geteuid() != 0:
        print("migprobe-lab: must run as root (it creates links, namespaces and taps)",
              file=sys.stderr)
        return 2
    lab.install_signal_handlers()
    try:
        return _dispatch(args)
    except LabError as e:
        print(f"migprobe-lab: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("migprobe-lab: interrupted", file=sys.stderr)
        return 130


def _dispatch(args):
    if args.command == "up":
        if args.on is None:
            args.on = args.hosts[0]
        if args.reflector:
            args.reflector = os.path.abspath(args.reflector)
            if not os.access(args.reflector, os.X_OK):
                raise LabError(f"--reflector {args.reflector}: not an executable file "
                               "(build it: cmake --build build --target migprobe-reflector)")
        l = lab.up(args)
        print(f"lab up: mode {l['mode']}, {len(l['guests'])} guests on {args.on}, "
              f"state {config.state_dir()}")
        return 0
    if args.command == "image":
        from . import image
        reflector = os.path.abspath(args.reflector) if args.reflector else None
        print(image.ensure_image(reflector)["initrd"])
        return 0
    if args.command == "down":
        lab.down(purge=args.purge)
        print("lab down")
        return 0
    if args.command == "status":
        st = lab.status()
        if args.json:
            print(json.dumps(st, indent=2, sort_keys=True))
            return 0 if st else 1
        if st is None:
            print("no lab is up")
            return 1
        print(f"mode {st['mode']} accel {st.get('accel')} hosts {','.join(st['hosts'])} "
              f"healthy {st['healthy']} state {config.state_dir()}")
        for g in sorted(st["guests"].values(), key=lambda g: g["index"]):
            shown = g.get("display_name", "")
            print(f"  {g['name']:6} {g['ip']:12} {g['mac']}  {g['host']:8} "
                  f"{'running' if g['running'] else 'DOWN'}"
                  f"{'  server ' + shown if shown else ''}")
        c = st["cloud"]
        print(f"cloud: {c.get('url', '-') if c['running'] else 'not running'}")
        print(f"ground truth: {truth.journal_path()} ({len(truth.read_all())} records)")
        return 0
    if args.command == "truth":
        recs = truth.read_all()
        for r in recs[-args.last:] if args.last else recs:
            print(json.dumps(r, sort_keys=True))
        return 0
    if args.command == "migrate":
        params = Parameters(args.downtime_limit_ms, args.bandwidth, args.auto_converge,
                            args.postcopy, args.outage_ms, args.timeout, args.inject_failure)
        mig = Migration(args.guest, args.to, params)
        rec = mig.run()
        print(json.dumps(rec, sort_keys=True))
        if rec["status"] != "completed":
            print(f"migprobe-lab: migration {rec['status']}: {rec.get('error')}", file=sys.stderr)
            return 1
        return 0
    if args.command == "cloud":
        from .cloud import service
        return service.main(args)
    if args.command == "ping":
        from . import pinger
        return pinger.main_in_netns(args)
    return 2
