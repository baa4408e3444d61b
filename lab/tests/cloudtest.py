"""A lab (namespace guests: fast) with the lab cloud served in-process, and a small
HTTP client for it."""

import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from labtest import LabTestCase

# The project's own OpenStack fixtures (request and response bodies in the shapes of the
# published API reference), shared with the C++ client tests.
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tests", "fixtures", "openstack")
# The published OpenStack API samples, an opt-in extra: a folder named by the user, no
# default (None when unset).
PUBLISHED = os.environ.get("MIGPROBE_API_SAMPLES") or None


def fixture(rel):
    """A fixture under tests/fixtures/openstack, parsed."""
    with open(os.path.join(FIXTURES, rel)) as f:
        return json.load(f)


def published(rel):
    """A published sample under $MIGPROBE_API_SAMPLES, parsed."""
    with open(os.path.join(PUBLISHED, rel)) as f:
        return json.load(f)


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body


class CloudTestCase(LabTestCase):
    guests = 3
    up_args = ("--mode", "netns")
    migration_params = {"outage_ms": 30.0}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.lab("up", *cls.up_args, "--guests", str(cls.guests))
            from migprobe_lab.cloud import service
            from migprobe_lab.cloud.rest import Server, make_handler
            router, cls.faults, cls.calls, cls.world = service.build(
                None, dict(cls.migration_params))
            cls.httpd = Server(("127.0.0.1", 0), make_handler(router, cls.faults, cls.calls))
            cls.url = f"http://127.0.0.1:{cls.httpd.server_address[1]}"
            cls.thread = threading.Thread(target=cls.httpd.serve_forever, daemon=True)
            cls.thread.start()
            cls.token = cls.issue_token()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "httpd", None):
            cls.httpd.shutdown()
            cls.httpd.server_close()
        super().tearDownClass()

    @classmethod
    def call(cls, method, path, body=None, version=None, token=None, headers=None, timeout=10):
        h = {"Accept": "application/json"}
        if token is not False:
            h["X-Auth-Token"] = token or cls.token
        if version:
            h["OpenStack-API-Version"] = f"compute {version}"
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(cls.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return Reply(r.status, r.headers, json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            return Reply(e.code, e.headers, json.loads(raw) if raw else None)

    @classmethod
    def issue_token(cls):
        r = cls.call("POST", "/identity/v3/auth/tokens", token=False, body={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": "migprobe-lab"}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})
        assert r.status == 201, (r.status, r.body)
        return r.headers["X-Subject-Token"]

    def upload(self, iid, data, content_type="application/octet-stream", chunked=False):
        u = urllib.parse.urlsplit(self.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        headers = {"X-Auth-Token": self.token, "Content-Type": content_type}
        if chunked:
            conn.request("PUT", f"/image/v2/images/{iid}/file",
                         body=(data[i:i + 65536] for i in range(0, len(data), 65536)),
                         headers=headers, encode_chunked=True)
        else:
            conn.request("PUT", f"/image/v2/images/{iid}/file", body=data, headers=headers)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, body

    def server_id(self, name):
        r = self.call("GET", "/compute/v2.1/servers?name=^" + name + "$")
        self.assertEqual(len(r.body["servers"]), 1, r.body)
        return r.body["servers"][0]["id"]

    def wait_migration(self, server, version="2.80", final=("completed", "error", "cancelled",
                                                           "failed"), timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            migs = self.call("GET", f"/compute/v2.1/os-migrations?instance_uuid={server}",
                             version=version).body["migrations"]
            if migs and migs[0]["status"] in final:
                return migs[0]
            time.sleep(0.1)
        self.fail(f"migration of {server} did not finish in {timeout}s")

    def assertHasFields(self, actual, expected, where="body"):
        """Every key of the reference (a fixture or a published sample) is present,
        recursively (first list items)."""
        if isinstance(expected, dict):
            self.assertIsInstance(actual, dict, where)
            for k, v in expected.items():
                self.assertIn(k, actual, f"{where}: missing {k!r}")
                if k in ("metadata", "extra_specs", "cpu_info", "addresses", "properties"):
                    continue  # free-form contents
                self.assertHasFields(actual[k], v, f"{where}.{k}")
        elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
            self.assertIsInstance(actual, list, where)
            # Keys every reference item has (some, like an in-progress migration's links,
            # depend on the item's state), checked on every item we got.
            common = {k: v for k, v in expected[0].items()
                      if all(isinstance(e, dict) and k in e for e in expected)}
            for i, item in enumerate(actual):
                self.assertHasFields(item, common, f"{where}[{i}]")
