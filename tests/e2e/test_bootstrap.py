"""The bootstrap and teardown of a campaign against the lab cloud (namespace guests: the
servers boot in a second; test_demo boots QEMU ones): `campaign bootstrap` creates an image
(uploaded from a file), flavors, a keypair, a security group with the probe's rules and a
slice of servers on hostA, ACTIVE with their addresses; a second bootstrap creates nothing
new; a flavor of the same name with other sizes is refused with a message naming both;
`campaign teardown` deletes exactly what the campaign created (the lab's own image,
flavor and security group stay). A bootstrap that fails halfway (the lab cloud's fault
plan: quota exceeded, no valid host, a server that goes to ERROR) says what was asked and
what Nova answered, and teardown removes what had been created."""

import os
import shutil
import subprocess
import tempfile
import unittest

import e2e

SPEC = """\
name: {name}
bootstrap:
  image: {{name: {name}-guest, file: {image}, disk_format: raw, container_format: bare}}
  flavors:
    - {{name: {name}-small, vcpus: 2, ram_mb: {ram}, disk_gb: 40}}
    - {{name: {name}-medium, vcpus: 4, ram_mb: 8192, disk_gb: 80}}
  keypair: {{name: {name}-key, public_key_file: {key}}}
  security_group: {{name: {name}-probe, from: 10.77.0.2/32, icmp: true, udp: [7], tcp: [9]}}
  network: lab-net
  slice: {{count: {count}, flavor: {name}-small, host: hostA, boot_timeout: 60s}}
defaults: {{dest_host: hostB}}
cells:
  - labels: {{mode: default}}
"""


class Bootstrap(e2e.E2ETestCase):
    lab_args = ["--guests", "0", "--mode", "netns"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cloud_env = cls.start_cloud()
        cls.cloud = e2e.LabCloud(cls.cloud_env["OS_AUTH_URL"].rsplit("/identity", 1)[0])

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="migprobe-e2e-bootstrap-")
        self.cloud.faults({})
        self.image = os.path.join(self.work, "guest.img")
        with open(self.image, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024))
        key = os.path.join(self.work, "key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        self.key = key + ".pub"
        self.baseline = self.cloud.inventory()

    def tearDown(self):
        if not os.environ.get("MIGPROBE_KEEP_E2E"):
            shutil.rmtree(self.work, ignore_errors=True)

    def spec(self, name, count=2, ram=4096):
        path = os.path.join(self.work, f"{name}-{count}-{ram}.yaml")
        with open(path, "w") as f:
            f.write(SPEC.format(name=name, image=self.image, key=self.key, count=count, ram=ram))
        return path

    def bootstrap(self, spec, out):
        return self.control(self.cloud_env, "campaign", "bootstrap", spec, "--out-dir", out)

    def teardown(self, out):
        return self.control(self.cloud_env, "campaign", "teardown", out)

    # --- the tests ----------------------------------------------------------------------------
    def test_bootstrap_twice_then_teardown(self):
        out = os.path.join(self.work, "c1")
        cp = self.bootstrap(self.spec("mpt1"), out)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("image mpt1-guest: active", cp.stderr)
        self.assertIn("bootstrap done: 10 created, 0 reused, 2 servers ACTIVE", cp.stderr)
        have = self.cloud.inventory()
        self.assertIn("mpt1-guest", have["images"])
        self.assertTrue({"mpt1-small", "mpt1-medium"} <= set(have["flavors"]))
        self.assertIn("mpt1-key", have["keypairs"])
        self.assertIn("mpt1-probe", have["groups"])
        self.assertEqual([s for s in have["servers"] if s[0].startswith("mpt1-")],
                         [("mpt1-1", "ACTIVE", "hostA"), ("mpt1-2", "ACTIVE", "hostA")])
        group = self.cloud.api("GET", "/networking/v2.0/security-groups?name=mpt1-probe")[
            "security_groups"][0]
        ingress = sorted((r["protocol"], r["port_range_min"], r["remote_ip_prefix"])
                         for r in group["security_group_rules"] if r["direction"] == "ingress")
        self.assertEqual(ingress, [("icmp", None, "10.77.0.2/32"), ("tcp", 9, "10.77.0.2/32"),
                                   ("udp", 7, "10.77.0.2/32")])

        # Again into another directory: everything found and reused, nothing created.
        again = os.path.join(self.work, "c1-again")
        cp = self.bootstrap(self.spec("mpt1"), again)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("bootstrap done: 0 created, 7 reused, 2 servers ACTIVE", cp.stderr)
        for what in ("image mpt1-guest", "flavor mpt1-small", "keypair mpt1-key",
                     "security group mpt1-probe"):
            self.assertRegex(cp.stderr, what + r".*: reused")
        self.assertEqual(self.cloud.inventory(), have)
        # A flavor of the same name with other sizes: refused, naming both.
        cp = self.bootstrap(self.spec("mpt1", ram=2048), os.path.join(self.work, "c1-other"))
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("flavor mpt1-small: the cloud has a flavor of that name", cp.stderr)
        self.assertIn("2 vCPU, 4096 MB RAM, 40 GB disk", cp.stderr)
        self.assertIn("the spec asks 2 vCPU, 2048 MB RAM, 40 GB disk", cp.stderr)

        cp = self.teardown(out)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("teardown done", cp.stderr)
        self.assertEqual(self.cloud.inventory(), self.baseline)
        # Twice is harmless.
        cp = self.teardown(out)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)

    def test_a_bootstrap_that_fails_halfway_is_torn_down(self):
        cases = [
            ({"quota": {"instances": 1}}, "Quota exceeded for instances: Requested 1, but "
             "already used 1 of 1 instances", "booting server mpt2-2 on hostA (flavor "
             "mpt2-small: 2 vCPU, 4096 MB RAM, 40 GB disk)"),
            ({"boots": [{"server": "mpt2-2", "mode": "no-valid-host"}]},
             "went to ERROR: No valid host was found", "server mpt2-2"),
            ({"boots": [{"server": "mpt2-1", "mode": "error"}]},
             "went to ERROR: Build of instance", "server mpt2-1"),
        ]
        for n, (plan, said, asked) in enumerate(cases):
            with self.subTest(plan=plan):
                self.cloud.faults(plan)
                out = os.path.join(self.work, f"c2-{n}")
                cp = self.bootstrap(self.spec("mpt2"), out)
                self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
                self.assertIn(said, cp.stderr)
                self.assertIn(asked, cp.stderr)
                self.assertIn(f"campaign teardown {out} removes it", cp.stderr)
                self.assertNotEqual(self.cloud.inventory(), self.baseline)
                self.cloud.faults({})
                cp = self.teardown(out)
                self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
                self.assertEqual(self.cloud.inventory(), self.baseline)

    def test_errors_of_the_spec_and_of_teardown(self):
        cp = self.bootstrap(self.spec("mpt3", count=0), os.path.join(self.work, "c3"))
        self.assertEqual(cp.returncode, 2)
        self.assertIn("slice.count must be a whole number from 1 to 1000, not '0'", cp.stderr)
        cp = self.teardown(os.path.join(self.work, "nothing-here"))
        self.assertEqual(cp.returncode, 2)
        self.assertIn("bootstrap.mpj", cp.stderr)


if __name__ == "__main__":
    unittest.main()
