"""Scaffolding of the end-to-end tests: a lab with its own state dir, the lab cloud (with a
fault plan), migprobe-dp on the lab's probe veth, and migprobe-control runs. Everything a
test starts is stopped and removed afterwards, also when the test fails."""

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_CLI = os.path.join(REPO, "lab", "migprobe-lab")
PYTHON = "/usr/bin/python3"
sys.path.insert(0, os.path.join(REPO, "lab"))

from migprobe_lab import rack  # noqa: E402


def build_dir():
    return os.path.abspath(os.environ.get("MIGPROBE_BUILD_DIR", os.path.join(REPO, "build")))


class E2ETestCase(unittest.TestCase):
    """A lab per test class (own state dir); a dataplane and control runs per test."""

    lab_args = ["--guests", "3"]

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("the lab needs root")
        links, nss = rack.leftovers()
        if links or nss:
            raise unittest.SkipTest(f"a lab is already up here ({links} {nss})")
        cls.build = build_dir()
        for b in ("dataplane/migprobe-dp", "orchestrator/migprobe-control",
                  "dataplane/migprobe-reflector"):
            if not os.access(os.path.join(cls.build, b), os.X_OK):
                raise unittest.SkipTest(f"{b} not built")
        cls.state_dir = tempfile.mkdtemp(prefix="migprobe-e2e-")
        cls.env = dict(os.environ, MIGPROBE_LAB_STATE=cls.state_dir)
        cls.dp = None
        try:
            cls.lab("up", *cls.lab_args, "--reflector",
                    os.path.join(cls.build, "dataplane/migprobe-reflector"))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stop_dataplane()
        subprocess.run([PYTHON, LAB_CLI, "down"], env=cls.env, capture_output=True)
        if os.environ.get("MIGPROBE_KEEP_E2E"):
            print(f"kept the lab's state dir: {cls.state_dir}", file=sys.stderr)
        else:
            shutil.rmtree(cls.state_dir, ignore_errors=True)

    @classmethod
    def lab(cls, *args, check=True, timeout=300):
        cp = subprocess.run([PYTHON, LAB_CLI, *args], env=cls.env, capture_output=True,
                            text=True, timeout=timeout)
        if check and cp.returncode != 0:
            raise AssertionError(f"migprobe-lab {' '.join(args)} failed ({cp.returncode}):\n"
                                 f"{cp.stdout}\n{cp.stderr}")
        return cp

    @classmethod
    def start_cloud(cls, *args):
        """(Re)starts the lab cloud with args; returns the OS_* environment for clients."""
        cls.lab("cloud", "--stop", check=False)
        out = cls.lab("cloud", *args).stdout
        env = dict(cls.env)
        for line in out.splitlines():
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                env[key] = value.strip("'\"")
        return env

    @classmethod
    def start_dataplane(cls, work, reply_timeout_ms=200):
        cls.dp_socket = os.path.join(work, "dp.sock")
        if os.path.exists(cls.dp_socket):
            os.remove(cls.dp_socket)
        cmd = [os.path.join(cls.build, "dataplane/migprobe-dp"), "--no-huge", "-m", "256",
               "--no-pci", "--lcores", "0@0,1@1,2@0", "--file-prefix", f"mpe2e{os.getpid()}",
               "--log-level", "warning", "--vdev", "net_af_packet0,iface=mp-probe", "--",
               "--port", "net_af_packet0", "--probe-ip", "10.77.0.2",
               "--reply-timeout", f"{reply_timeout_ms}ms", "--outage-threshold", "2ms",
               "--realtime", "10", "--control-socket", cls.dp_socket, "--no-autostart",
               "--quiet"]
        with open(os.path.join(work, "dp.log"), "a") as log:
            cls.dp = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(cls.dp_socket):
                return cls.dp
            if cls.dp.poll() is not None:
                raise AssertionError(f"migprobe-dp exited ({cls.dp.returncode}); see {work}/dp.log")
            time.sleep(0.1)
        raise AssertionError("migprobe-dp did not open its control socket")

    @classmethod
    def stop_dataplane(cls, sig=signal.SIGINT):
        dp, cls.dp = cls.dp, None
        if dp is None or dp.poll() is not None:
            return
        dp.send_signal(sig)
        try:
            dp.wait(timeout=10)
        except subprocess.TimeoutExpired:
            dp.kill()
            dp.wait()

    def control(self, env, *args, timeout=600, preexec_fn=None):
        """Runs migprobe-control; returns the CompletedProcess."""
        return subprocess.run([os.path.join(self.build, "orchestrator/migprobe-control"), *args],
                              env=env, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=preexec_fn)

    def control_bg(self, env, *args):
        return subprocess.Popen([os.path.join(self.build, "orchestrator/migprobe-control"), *args],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def replay(self, out_dir):
        """The report again from the journal alone, in a directory of its own."""
        again = os.path.join(out_dir, "replay")
        os.makedirs(again, exist_ok=True)
        cp = self.control(self.env, "report", os.path.join(out_dir, "journal.mpj"),
                          "--out-dir", again, "--quiet")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        return again

    def assertReplaysTheSame(self, out_dir):
        again = self.replay(out_dir)
        for name in ("report.json", "report.txt", "report.csv"):
            with open(os.path.join(out_dir, name)) as a, open(os.path.join(again, name)) as b:
                self.assertEqual(a.read(), b.read(), f"{name} of the replay differs from the run's")


# Runs of a test when a guest kernel failed under it (retry_on_lab_fault).
LAB_FAULT_ATTEMPTS = 4


def retry_on_lab_fault(test):
    """Runs an EvacuationTestCase test again on a rebuilt lab when it failed and a guest kernel
    failed under it (guest_faults): a lab fault, not the probe's; the test says so."""
    @functools.wraps(test)
    def run(self):
        for attempt in range(1, LAB_FAULT_ATTEMPTS + 1):
            try:
                return test(self)
            except AssertionError:
                faults = guest_faults(self.state_dir)
                if not faults or attempt == LAB_FAULT_ATTEMPTS:
                    raise
                print(f"\nlab fault, not the probe's (run {attempt} of at most "
                      f"{LAB_FAULT_ATTEMPTS}): {'; '.join(faults)}; the lab is rebuilt and the "
                      f"test runs again", file=sys.stderr)
                self.rebuild_lab()
    return run


class EvacuationTestCase(E2ETestCase):
    """Evacuations hostA -> hostB: a work dir and a dataplane per test, and the guests brought
    home to hostA after each test, whatever it left behind."""

    work_prefix = "migprobe-e2e-"
    reply_timeout_ms = 200

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix=self.work_prefix)
        self.start_dataplane(self.work, reply_timeout_ms=self.reply_timeout_ms)

    def tearDown(self):
        self.stop_dataplane()
        faults = guest_faults(self.state_dir)
        if faults:
            print(f"\nlab fault, not the probe's: {'; '.join(faults)}", file=sys.stderr)
        status = json.loads(self.lab("status", "--json").stdout)
        for name, g in status.get("guests", {}).items():
            if g.get("host") != "hostA":
                self.lab("migrate", name, "--to", "hostA", check=False)
        if not os.environ.get("MIGPROBE_KEEP_E2E"):
            shutil.rmtree(self.work, ignore_errors=True)

    def rebuild_lab(self):
        """A fresh lab (guests booted anew, logs gone), work dir and dataplane."""
        self.stop_dataplane()
        self.lab("cloud", "--stop", check=False)
        subprocess.run([PYTHON, LAB_CLI, "down", "--purge"], env=self.env, capture_output=True)
        self.lab("up", *self.lab_args, "--reflector",
                 os.path.join(self.build, "dataplane/migprobe-reflector"))
        shutil.rmtree(self.work, ignore_errors=True)
        self.work = tempfile.mkdtemp(prefix=self.work_prefix)
        self.start_dataplane(self.work, reply_timeout_ms=self.reply_timeout_ms)

    def evacuate_args(self, out, flows, *extra):
        """migprobe-control's arguments for an evacuation into out, probing with flows."""
        return ["evacuate", "--from", "hostA", "--to", "hostB", "--dataplane-socket",
                self.dp_socket, "--flows", flows, "--out-dir", out, *extra]


GUEST_FAULTS = ("Kernel panic", "Oops:", "kernel BUG at", "soft lockup")
# The guest's heartbeat on its serial console, every second (lab/guest/init): its uptime.
GUEST_ALIVE = re.compile(r"MIGPROBE-GUEST-ALIVE (\d+(?:\.\d+)?)")
# A guest that wrote no heartbeat for longer than this was stuck.
GUEST_SILENCE_S = 5.0


def _pid_alive(pid_file):
    try:
        with open(pid_file) as f:
            os.kill(int(f.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def _guest_dirs(state_dir):
    """(dir, name) of every guest's logs: the lab's guests, and the servers the lab cloud
    deleted (their logs kept in deleted/NAME-UUID8/)."""
    out = []
    for sub in ("guests", "deleted"):
        base = os.path.join(state_dir, sub)
        if os.path.isdir(base):
            out += [(os.path.join(base, vm), vm) for vm in sorted(os.listdir(base))
                    if os.path.isdir(os.path.join(base, vm))]
    return out


def guest_faults(state_dir):
    """The guests whose kernel failed, from the serial logs of a lab state dir: one line each,
    "vm2 on hostB: Kernel panic - ...". A lab fault (seen under TCG on an AMD EPYC host after
    some migrations: oopses and panics of a corrupted kernel, or a guest stuck in softirq for
    a minute), not the probe's: a test says so instead of blaming the probe. A guest stuck
    without a word is told by its heartbeat, which does not go through the network: a jump of
    its uptime between two beats, or no beat on any of its serial logs for GUEST_SILENCE_S
    while one of its QEMUs runs (call it while the lab is up)."""
    found = []
    now = time.time()
    for d, vm in _guest_dirs(state_dir):
        last_write, qemu_running, faulted = 0.0, False, False
        for f in sorted(os.listdir(d)):
            if not f.endswith(".serial"):
                continue
            host = f[:-len(".serial")]
            path = os.path.join(d, f)
            last_write = max(last_write, os.path.getmtime(path))
            qemu_running = qemu_running or _pid_alive(os.path.join(d, f"{host}.pid"))
            previous = None
            with open(path, errors="replace") as serial:
                for line in serial:
                    if any(k in line for k in GUEST_FAULTS):
                        found.append(f"{vm} on {host}: {line.strip()}")
                        faulted = True
                        break
                    beat = GUEST_ALIVE.search(line)
                    if not beat:
                        continue
                    uptime = float(beat.group(1))
                    if previous is not None and uptime - previous > GUEST_SILENCE_S:
                        found.append(f"{vm} on {host}: no heartbeat for {uptime - previous:.1f} s "
                                     f"(guest uptime {previous:.1f} .. {uptime:.1f} s)")
                        faulted = True
                        break
                    previous = uptime
        # No beat at all counts too: an incoming QEMU truncates its serial log, so a guest
        # that froze on its way there and back leaves only empty logs.
        if not faulted and qemu_running and now - last_write > GUEST_SILENCE_S:
            found.append(f"{vm}: no heartbeat for {now - last_write:.1f} s on any serial log "
                         f"while its QEMU runs (stuck)")
    return found


def serial_tails(state_dir, lines=15):
    """The last lines of every guest's serial logs, for a failing test's message: whether a
    guest that went silent on the network kept beating, and what its kernel said."""
    out = []
    for d, vm in _guest_dirs(state_dir):
        for f in sorted(os.listdir(d)):
            if not f.endswith(".serial"):
                continue
            path = os.path.join(d, f)
            with open(path, errors="replace") as serial:
                tail = serial.read().splitlines()[-lines:]
            age = time.time() - os.path.getmtime(path)
            out.append(f"--- {vm} {f} (written {age:.1f} s ago)\n" + "\n".join(tail))
    return "\n".join(out)


def load_report(out_dir):
    with open(os.path.join(out_dir, "report.json")) as f:
        return json.load(f)


def load_truth(path):
    truth = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("migration_id"):
                    truth[rec["migration_id"]] = rec
    return truth


class LabCloud:
    """The lab cloud looked at directly (its admin user), what a test checks a campaign
    against: listings by kind and the fault plan."""

    def __init__(self, url, user="admin", password="migprobe-lab"):
        self.url = url.rstrip("/")
        self.user, self.password = user, password
        self.token = None

    @classmethod
    def of_state(cls, state_dir):
        """The cloud a lab's state dir says is running (its cloud.url)."""
        with open(os.path.join(state_dir, "cloud.url")) as f:
            return cls(f.read().strip())

    def api(self, method, path, body=None, version="2.96"):
        if self.token is None:
            req = urllib.request.Request(
                f"{self.url}/identity/v3/auth/tokens", method="POST",
                headers={"Content-Type": "application/json"},
                data=json.dumps({"auth": {"identity": {"methods": ["password"], "password": {
                    "user": {"name": self.user, "domain": {"name": "Default"},
                             "password": self.password}}},
                    "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})
                .encode())
            with urllib.request.urlopen(req, timeout=10) as r:
                self.token = r.headers["X-Subject-Token"]
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"X-Auth-Token": self.token,
                                              "Content-Type": "application/json",
                                              "OpenStack-API-Version": f"compute {version}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def faults(self, plan):
        req = urllib.request.Request(self.url + "/_lab/faults", method="PUT",
                                     data=json.dumps(plan).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    def inventory(self):
        """What the cloud holds, by kind: names (servers with their status and host)."""
        return {
            "images": sorted(i["name"] for i in self.api("GET", "/image/v2/images")["images"]),
            "flavors": sorted(f["name"] for f in
                              self.api("GET", "/compute/v2.1/flavors/detail")["flavors"]),
            "keypairs": sorted(k["keypair"]["name"] for k in
                               self.api("GET", "/compute/v2.1/os-keypairs")["keypairs"]),
            "groups": sorted(g["name"] for g in self.api(
                "GET", "/networking/v2.0/security-groups")["security_groups"]),
            "servers": sorted((s["name"], s["status"], s["OS-EXT-SRV-ATTR:host"]) for s in
                              self.api("GET", "/compute/v2.1/servers/detail")["servers"]),
        }
