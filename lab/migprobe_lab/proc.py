"""Running commands, and processes tracked by pid files (no systemd here)."""

import os
import signal
import subprocess
import time


class LabError(Exception):
    """An error with a message meant for the person running the lab."""


def run(argv, check=True, capture=True, timeout=60, input=None):
    """Runs a command; on failure raises LabError naming the command and its stderr."""
    try:
        cp = subprocess.run(argv, capture_output=capture, text=True, timeout=timeout, input=input)
    except FileNotFoundError:
        raise LabError(f"command not found: {argv[0]} (run tools/install-deps)")
    except subprocess.TimeoutExpired:
        raise LabError(f"command timed out after {timeout}s: {' '.join(argv)}")
    if check and cp.returncode != 0:
        err = (cp.stderr or "").strip()
        raise LabError(f"`{' '.join(argv)}` failed (exit {cp.returncode}): {err}")
    return cp


def read_pid(pidfile):
    try:
        with open(pidfile) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def alive(pid, marker=None):
    """True if pid runs and (if marker is given) its command line contains marker.

    The marker guards against a recycled pid: lab processes always carry a path of the
    state dir in their command line.
    """
    if pid is None or pid <= 0:
        return False
    cl = cmdline(pid)
    if cl is None:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except OSError:
        return False
    return marker is None or marker in cl


def stop_pid(pid, marker=None, grace=3.0):
    """Stops one process by pid: SIGTERM, then SIGKILL after grace seconds."""
    if not alive(pid, marker):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pid)
            if not alive(pid, marker):
                return
            time.sleep(0.02)


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop_pidfile(pidfile, marker=None, grace=3.0):
    pid = read_pid(pidfile)
    if pid is not None:
        stop_pid(pid, marker, grace)
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass


def pids_with_marker(marker):
    """Every process whose command line contains marker (used to sweep strays)."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            cl = cmdline(int(d))
            if cl and marker in cl:
                found.append(int(d))
    return found


def spawn(argv, pidfile, log, env=None):
    """Starts a long-running background process in its own session; writes its pid file."""
    with open(log, "ab") as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                             start_new_session=True, env=env)
    with open(pidfile, "w") as f:
        f.write(f"{p.pid}\n")
    return p.pid
