"""The real OpenStack client from Debian (python3-openstackclient), pointed at the lab
cloud with ordinary OS_* variables: list servers with hosts, live-migrate one with
--wait, list migrations and server events."""

import json
import shutil
import subprocess
import unittest

from labtest import LabTestCase, qemu_available


@unittest.skipUnless(shutil.which("openstack"), "python3-openstackclient not installed")
class OpenStackClientTest(LabTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            mode = "qemu" if qemu_available() else "netns"
            cls.lab("up", "--mode", mode, "--guests", "2")
            out = cls.lab("cloud", "--port", "0", "--downtime-limit-ms", "20").stdout
            cls.os_env = dict(cls.env)
            for line in out.splitlines():
                if line.startswith("export "):
                    k, v = line[len("export "):].split("=", 1)
                    cls.os_env[k] = v
        except BaseException:
            cls.tearDownClass()
            raise

    def openstack(self, *args):
        cp = subprocess.run(["openstack", *args], env=self.os_env, capture_output=True,
                            text=True, timeout=120)
        self.assertEqual(cp.returncode, 0, f"openstack {' '.join(args)}:\n{cp.stdout}\n{cp.stderr}")
        return cp.stdout

    def test_list_migrate_events(self):
        servers = json.loads(self.openstack("server", "list", "--long", "-f", "json"))
        self.assertEqual({s["Name"]: s["Host"] for s in servers}, {"vm1": "hostA", "vm2": "hostA"})
        self.assertEqual({s["Status"] for s in servers}, {"ACTIVE"})

        out = self.openstack("server", "migrate", "--live-migration", "--host", "hostB",
                             "--wait", "vm1")
        self.assertIn("Complete", out)
        show = json.loads(self.openstack("server", "show", "vm1", "-f", "json"))
        self.assertEqual(show["OS-EXT-SRV-ATTR:host"], "hostB")
        self.assertEqual(show["status"], "ACTIVE")

        migs = json.loads(self.openstack("server", "migration", "list", "-f", "json"))
        self.assertEqual(len(migs), 1)
        m = migs[0]
        self.assertEqual((m["Source Compute"], m["Dest Compute"], m["Status"], m["Type"]),
                         ("hostA", "hostB", "completed", "live-migration"))

        events = json.loads(self.openstack("server", "event", "list", "vm1", "-f", "json"))
        self.assertEqual([e["Action"] for e in events], ["live-migration", "create"])
        ev = json.loads(self.openstack("server", "event", "show", "vm1",
                                       events[0]["Request ID"], "-f", "json"))
        self.assertIn("compute_live_migration", json.dumps(ev))

        hv = self.openstack("hypervisor", "list", "-f", "json")
        self.assertEqual(sorted(h["Hypervisor Hostname"] for h in json.loads(hv)),
                         ["hostA", "hostB"])

        # The lab's own ground truth has the migration, tied to Nova's migration uuid.
        truth = [json.loads(l) for l in self.lab("truth").stdout.splitlines()]
        self.assertEqual(len(truth), 1)
        self.assertEqual(truth[0]["status"], "completed")
        self.assertEqual(truth[0]["migration_id"], m["UUID"])


if __name__ == "__main__":
    unittest.main()
