"""QEMU guest processes: one per (guest, host), each with its pid file, QMP socket and
serial log under state_dir/guests/NAME/, started daemonized and stopped by its pid."""

import os
import signal
import time

from . import config, state
from .proc import LabError, alive, read_pid, run, stop_pid
from .qmp import Qmp, QmpError

READY = "MIGPROBE-GUEST-READY"
BOOT = "MIGPROBE-GUEST-BOOT"


def files(name, host):
    d = state.path("guests", name)
    os.makedirs(d, exist_ok=True)
    return {k: os.path.join(d, f"{host}.{k}") for k in ("pid", "qmp", "serial", "log")}


def cmdline_append(guest):
    append = (f"console=ttyS0 quiet loglevel=3 panic=-1 mp.name={guest['name']} "
              f"mp.ip={guest['ip']}/{config.SUBNET.prefixlen}")
    if guest.get("load_mb"):
        append += f" mp.load={guest['load_mb']},{guest.get('load_pps', 0)}"
    if os.environ.get("MIGPROBE_LAB_GUEST_APPEND"):
        append += " " + os.environ["MIGPROBE_LAB_GUEST_APPEND"]
    return append


def argv(lab, guest, host, tap, incoming_port=None):
    f = files(guest["name"], host)
    a = [config.QEMU_BIN, "-name", f"{guest['name']}@{host},debug-threads=on",
         "-accel", lab["accel"], "-machine", "pc", "-cpu", "qemu64",
         "-m", str(guest.get("mem_mb", 128)), "-smp", "1",
         "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
         "-serial", f"file:{f['serial']}",
         "-kernel", lab["image"]["kernel"],
         "-initrd", guest.get("initrd") or lab["image"]["initrd"],
         "-append", cmdline_append(guest),
         "-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no,vhost=off",
         # csum=off: the guest fills in its own L4 checksums, as frames on a real wire have
         # them. With offload, its UDP replies would reach the probe (AF_PACKET on a veth)
         # with partial checksums, and a probe that verifies checksums would drop them.
         "-device", f"virtio-net-pci,netdev=n0,mac={guest['mac']},romfile=,csum=off",
         "-qmp", f"unix:{f['qmp']},server=on,wait=off",
         "-pidfile", f["pid"], "-daemonize"]
    if incoming_port is not None:
        a += ["-incoming", f"tcp:127.0.0.1:{incoming_port}"]
    return a


def start(lab, guest, host, tap, incoming_port=None):
    """Starts one QEMU process daemonized; returns its pid. Raises LabError on failure."""
    f = files(guest["name"], host)
    for k in ("pid", "qmp", "serial"):
        if os.path.exists(f[k]):
            os.unlink(f[k])
    a = argv(lab, guest, host, tap, incoming_port)
    with open(f["log"], "a") as log:
        log.write(f"--- {time.strftime('%F %T')} {' '.join(a)}\n")
    cp = run(a, check=False, timeout=60)
    if cp.returncode != 0:
        raise LabError(f"QEMU for {guest['name']} on {host} did not start: "
                       f"{(cp.stderr or cp.stdout).strip()} (log {f['log']})")
    pid = read_pid(f["pid"])
    if not alive(pid):
        raise LabError(f"QEMU for {guest['name']} on {host} exited at once (log {f['log']})")
    return pid


def marker(name, host):
    """What every QEMU command line of this guest on this host contains (its pid file)."""
    return files(name, host)["pid"]


def running(name, host):
    f = files(name, host)
    return alive(read_pid(f["pid"]), f["pid"])


def wait_serial(name, host, text, timeout):
    """Waits for `text` on the guest's serial log; False on timeout or if QEMU died."""
    f = files(name, host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f["serial"], errors="replace") as s:
                if text in s.read():
                    return True
        except FileNotFoundError:
            pass
        if not running(name, host):
            return False
        time.sleep(0.1)
    return False


def stop(name, host, grace=3.0):
    """Stops the guest's QEMU on host: QMP quit, then signals by pid."""
    f = files(name, host)
    pid = read_pid(f["pid"])
    if alive(pid, f["pid"]):
        try:
            q = Qmp(f["qmp"], timeout=2.0)
            try:
                q.cmd("quit", timeout=2.0)
            finally:
                q.close()
        except (QmpError, OSError):
            pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and alive(pid, f["pid"]):
            time.sleep(0.02)
        stop_pid(pid, f["pid"])
    for k in ("pid", "qmp"):
        try:
            os.unlink(f[k])
        except FileNotFoundError:
            pass


def kill(name, host):
    """SIGKILL, no questions: how the lab injects a crashed QEMU."""
    f = files(name, host)
    pid = read_pid(f["pid"])
    if alive(pid, f["pid"]):
        os.kill(pid, signal.SIGKILL)


def probe_accel(lab_image):
    """'kvm' if a guest really boots under KVM here, else 'tcg'. Cached per host kernel.

    /dev/kvm may exist yet fail for stock kernels (nested variants that triple-fault), so
    the only reliable test is to boot the lab kernel and look for the BOOT marker.
    """
    if not os.path.exists("/dev/kvm"):
        return "tcg"
    cache = os.path.join(config.cache_dir(), "accel-probe")
    key = f"{os.uname().release} {lab_image['key']}"
    try:
        with open(cache) as f:
            k, v = f.read().rsplit(" ", 1)
            if k == key:
                return v.strip()
    except (OSError, ValueError):
        pass
    d = state.path("accel-probe")
    os.makedirs(d, exist_ok=True)
    serial, pidf = os.path.join(d, "serial"), os.path.join(d, "pid")
    for p in (serial, pidf):
        if os.path.exists(p):
            os.unlink(p)
    result = "tcg"
    cp = run([config.QEMU_BIN, "-accel", "kvm", "-machine", "pc", "-cpu", "host", "-m", "128",
              "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
              "-serial", f"file:{serial}", "-kernel", lab_image["kernel"],
              "-initrd", lab_image["initrd"], "-append", "console=ttyS0 quiet panic=-1",
              "-pidfile", pidf, "-daemonize"], check=False, timeout=30)
    if cp.returncode == 0:
        pid = read_pid(pidf)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and alive(pid, pidf):
            try:
                with open(serial, errors="replace") as s:
                    if BOOT in s.read():
                        result = "kvm"
                        break
            except FileNotFoundError:
                pass
            time.sleep(0.1)
        stop_pid(pid, pidf)
    else:
        return "tcg"  # QEMU itself failed: nothing learned about KVM, cache nothing
    with open(cache, "w") as f:
        f.write(f"{key} {result}\n")
    return result
