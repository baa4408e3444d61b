"""Shared test scaffolding: each test case gets its own state dir and removes everything
it created (links, namespaces, processes), also when it fails."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, LAB_DIR)

from migprobe_lab import config, rack  # noqa: E402

CLI = os.path.join(LAB_DIR, "migprobe-lab")
PYTHON = "/usr/bin/python3"


def qemu_available():
    return shutil.which(config.QEMU_BIN) is not None


class LabTestCase(unittest.TestCase):
    """Runs migprobe-lab with a private state dir; tears the lab down after each class."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("the lab needs root")
        links, nss = rack.leftovers()
        if links or nss:
            raise unittest.SkipTest(f"a lab is already up here ({links} {nss}); "
                                    "run `lab/migprobe-lab down` first")
        cls.state_dir = tempfile.mkdtemp(prefix="migprobe-lab-test-")
        cls.env = dict(os.environ, MIGPROBE_LAB_STATE=cls.state_dir)
        # The same variable steers in-process calls (lab library used directly by tests).
        os.environ["MIGPROBE_LAB_STATE"] = cls.state_dir

    @classmethod
    def tearDownClass(cls):
        subprocess.run([PYTHON, CLI, "down", "--purge"], env=cls.env, capture_output=True)
        shutil.rmtree(cls.state_dir, ignore_errors=True)
        os.environ.pop("MIGPROBE_LAB_STATE", None)

    @classmethod
    def lab(cls, *args, check=True, timeout=300):
        cp = subprocess.run([PYTHON, CLI, *args], env=cls.env, capture_output=True, text=True,
                            timeout=timeout)
        if check and cp.returncode != 0:
            raise AssertionError(f"migprobe-lab {' '.join(args)} failed ({cp.returncode}):\n"
                                 f"{cp.stdout}\n{cp.stderr}")
        return cp

    @classmethod
    def status(cls):
        return json.loads(cls.lab("status", "--json").stdout)

    @classmethod
    def ping(cls, ip, seconds, gap_ms=40.0):
        return json.loads(cls.lab("ping", ip, "--seconds", str(seconds), "--gap-ms",
                                  str(gap_ms)).stdout)

    def assertNothingLeft(self):
        links, nss = rack.leftovers()
        self.assertEqual((links, nss), ([], []), "lab links or namespaces left behind")
        out = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True).stdout
        strays = [l for l in out.splitlines()
                  if self.state_dir in l and " Z" not in l and "ps -eo" not in l]
        self.assertEqual(strays, [], "lab processes left behind")
