"""The lab cloud's flavors and keypairs, as a bootstrap uses them: a flavor created in the
shape of the project's fixture (shown, listed, refused when its name or id is taken,
deleted), a keypair imported (2.92: the public key required; before, one generated), listed,
shown with its fingerprint, deleted."""

import base64
import hashlib
import shutil
import unittest

from cloudtest import CloudTestCase, fixture


class ResourcesTest(CloudTestCase):
    guests = 1

    def test_flavor_create_show_list_delete(self):
        want = fixture("nova/2.75/flavor.json")["flavor"]
        body = {"flavor": {"name": want["name"], "ram": want["ram"], "vcpus": want["vcpus"],
                           "disk": want["disk"], "id": want["id"],
                           "description": want["description"],
                           "os-flavor-access:is_public": True}}
        r = self.call("POST", "/compute/v2.1/flavors", body, version="2.75")
        self.assertEqual(r.status, 200, r.body)
        self.assertHasFields(r.body, fixture("nova/2.75/flavor.json"), "create")
        self.assertEqual(r.body["flavor"]["id"], want["id"])
        self.assertEqual(r.body["flavor"]["swap"], 0)
        shown = self.call("GET", f"/compute/v2.1/flavors/{want['id']}", version="2.75")
        self.assertEqual(shown.status, 200, shown.body)
        self.assertEqual(shown.body, r.body)
        # Before 2.75 no swap reads "".
        self.assertEqual(self.call("GET", f"/compute/v2.1/flavors/{want['id']}",
                                   version="2.1").body["flavor"]["swap"], "")
        names = [f["name"] for f in self.call("GET", "/compute/v2.1/flavors/detail?is_public=None",
                                              version="2.75").body["flavors"]]
        self.assertIn(want["name"], names)
        self.assertIn("lab.tiny", names)
        # The name, then the id, already taken.
        again = dict(body["flavor"], id="other")
        r = self.call("POST", "/compute/v2.1/flavors", {"flavor": again}, version="2.75")
        self.assertEqual(r.status, 409, r.body)
        self.assertIn(f"name {want['name']} already exists", r.body["conflictingRequest"]["message"])
        r = self.call("POST", "/compute/v2.1/flavors",
                      {"flavor": dict(body["flavor"], name="other")}, version="2.75")
        self.assertEqual(r.status, 409, r.body)
        r = self.call("POST", "/compute/v2.1/flavors",
                      {"flavor": dict(body["flavor"], name="bad", id="bad", ram=0)}, version="2.75")
        self.assertEqual(r.status, 400, r.body)
        r = self.call("POST", "/compute/v2.1/flavors",
                      {"flavor": dict(body["flavor"], name="d", id="d")}, version="2.54")
        self.assertEqual(r.status, 400, r.body)  # description only from 2.55
        self.assertEqual(self.call("DELETE", f"/compute/v2.1/flavors/{want['id']}").status, 202)
        self.assertEqual(self.call("GET", f"/compute/v2.1/flavors/{want['id']}").status, 404)
        self.assertEqual(self.call("DELETE", f"/compute/v2.1/flavors/{want['id']}").status, 404)

    def test_keypair_import_list_show_delete(self):
        req = fixture("nova/2.92/keypair-import-request.json")
        r = self.call("POST", "/compute/v2.1/os-keypairs", req, version="2.92")
        self.assertEqual(r.status, 201, r.body)
        self.assertHasFields(r.body, fixture("nova/2.92/keypair-import.json"), "import")
        blob = base64.b64decode(req["keypair"]["public_key"].split()[1])
        digest = hashlib.md5(blob).hexdigest()
        self.assertEqual(r.body["keypair"]["fingerprint"],
                         ":".join(digest[i:i + 2] for i in range(0, 32, 2)))
        want = fixture("nova/2.92/keypair-import.json")["keypair"]
        for key in ("name", "type", "public_key", "fingerprint"):
            self.assertEqual(r.body["keypair"][key], want[key], key)
        name = req["keypair"]["name"]
        r = self.call("POST", "/compute/v2.1/os-keypairs", req, version="2.92")
        self.assertEqual(r.status, 409, r.body)
        listed = self.call("GET", "/compute/v2.1/os-keypairs", version="2.92").body["keypairs"]
        self.assertEqual([k["keypair"]["name"] for k in listed], [name])
        shown = self.call("GET", f"/compute/v2.1/os-keypairs/{name}", version="2.92").body
        self.assertEqual(shown["keypair"]["public_key"], req["keypair"]["public_key"])
        # 2.92: no generated keys.
        r = self.call("POST", "/compute/v2.1/os-keypairs", {"keypair": {"name": "gen"}},
                      version="2.92")
        self.assertEqual(r.status, 400, r.body)
        r = self.call("POST", "/compute/v2.1/os-keypairs",
                      {"keypair": {"name": "bad", "public_key": "not a key"}}, version="2.92")
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(self.call("DELETE", f"/compute/v2.1/os-keypairs/{name}",
                                   version="2.92").status, 204)
        self.assertEqual(self.call("GET", f"/compute/v2.1/os-keypairs/{name}",
                                   version="2.92").status, 404)

    @unittest.skipUnless(shutil.which("ssh-keygen"), "ssh-keygen is not installed")
    def test_keypair_generated_before_2_92(self):
        r = self.call("POST", "/compute/v2.1/os-keypairs", {"keypair": {"name": "gen"}},
                      version="2.10")
        self.assertEqual(r.status, 201, r.body)
        self.assertIn("PRIVATE KEY", r.body["keypair"]["private_key"])
        self.assertTrue(r.body["keypair"]["public_key"].startswith("ssh-rsa "))
        self.assertEqual(self.call("DELETE", "/compute/v2.1/os-keypairs/gen",
                                   version="2.10").status, 204)


if __name__ == "__main__":
    unittest.main()
