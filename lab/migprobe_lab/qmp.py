"""A small synchronous QMP client (QEMU Machine Protocol over a unix socket).

Thread-safe: commands and event reads take one lock, so a migration thread can wait for
events while another thread (the lab cloud) aborts or force-completes it.
"""

import json
import socket
import threading
import time


class QmpError(Exception):
    pass


def event_ns(ev):
    """A QMP event's {seconds, microseconds} timestamp as integer ns (CLOCK_REALTIME)."""
    ts = ev.get("timestamp") or {}
    return int(ts.get("seconds", 0)) * 1_000_000_000 + int(ts.get("microseconds", 0)) * 1000


class Qmp:
    def __init__(self, path, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._sock.connect(path)
                break
            except OSError as e:
                self._sock.close()
                if time.monotonic() > deadline:
                    raise QmpError(f"cannot connect to QMP socket {path}: {e}")
                time.sleep(0.05)
        self._lock = threading.Lock()
        self._buf = b""
        self._id = 0
        self.events = []
        self._sock.settimeout(timeout)
        greeting = self._read()
        if "QMP" not in greeting:
            raise QmpError(f"unexpected QMP greeting on {path}: {greeting}")
        self.cmd("qmp_capabilities")

    def close(self):
        try:
            self._sock.close()
        except OSError:
            pass

    def _read(self):
        while b"\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise QmpError("QMP connection closed by QEMU")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, timeout=30.0, **args):
        """Runs one command and returns its "return" value; raises QmpError on "error"."""
        with self._lock:
            self._id += 1
            my_id = self._id
            msg = {"execute": name, "id": my_id}
            if args:
                msg["arguments"] = args
            self._sock.settimeout(timeout)
            self._sock.sendall(json.dumps(msg).encode() + b"\n")
            while True:
                resp = self._read()
                if "event" in resp:
                    self.events.append(resp)
                    continue
                if resp.get("id") != my_id:
                    continue
                if "error" in resp:
                    raise QmpError(f"{name}: {resp['error'].get('desc', resp['error'])}")
                return resp.get("return")

    def poll_events(self, wait=0.05):
        """Reads whatever events arrive within `wait` seconds into self.events."""
        with self._lock:
            self._sock.settimeout(wait)
            try:
                while True:
                    msg = self._read()
                    if "event" in msg:
                        self.events.append(msg)
                    self._sock.settimeout(0.001)
            except (socket.timeout, BlockingIOError):
                pass

    def find_event(self, name, pred=None):
        for ev in self.events:
            if ev["event"] == name and (pred is None or pred(ev)):
                return ev
        return None

    def wait_event(self, name, pred=None, timeout=60.0):
        deadline = time.monotonic() + timeout
        while True:
            ev = self.find_event(name, pred)
            if ev is not None:
                return ev
            if time.monotonic() > deadline:
                return None
            self.poll_events(0.05)
