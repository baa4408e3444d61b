"""HTTP plumbing of the lab cloud: routing, request ids, JSON bodies, error shapes, and
the fault-injection hook. Keystone and Nova register their routes here."""

import json
import re
import socket
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# Nova's wsgi.Fault names by status; anything else is a "computeFault".
NOVA_FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden",
                    404: "itemNotFound", 405: "badMethod", 409: "conflictingRequest",
                    413: "overLimit", 415: "badMediaType", 429: "overLimit",
                    501: "notImplemented", 503: "serviceUnavailable"}
# Neutron's exception class names by status (its error body's "type").
NEUTRON_TYPES = {400: "BadRequest", 403: "PolicyNotAuthorized", 404: "NotFound", 409: "Conflict",
                 503: "ServiceUnavailable"}
KEYSTONE_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                   405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error",
                   503: "Service Unavailable"}


class ApiError(Exception):
    """An error answer; `shape` overrides the service whose error body is used (the 401
    of Nova's auth middleware has Keystone's shape)."""

    def __init__(self, status, message, headers=None, shape=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.shape = shape


def error_body(service, status, message):
    if service == "keystone":
        return {"error": {"code": status, "title": KEYSTONE_TITLES.get(status, "Error"),
                          "message": message}}
    if service == "nova":
        return {NOVA_FAULT_NAMES.get(status, "computeFault"): {"code": status, "message": message}}
    if service == "neutron":
        return {"NeutronError": {"type": NEUTRON_TYPES.get(status, "NeutronException"),
                                 "message": message, "detail": ""}}
    return {"error": {"code": status, "message": message}}


class Request:
    def __init__(self, handler, method, service):
        parts = urlsplit(handler.path)
        self.method = method
        self.path = parts.path.rstrip("/") or "/"
        self.raw_path = parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = handler.headers
        self.service = service
        self.request_id = "req-" + str(uuid.uuid4())
        host = handler.headers.get("Host") or "%s:%d" % handler.server.server_address[:2]
        self.base_url = f"http://{host}"
        self._rfile = handler.rfile
        self._length = int(handler.headers.get("Content-Length") or 0)
        self._chunked = "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower()
        # True once the body was read whole: a connection with a body left unread is closed.
        self.consumed = self._length == 0 and not self._chunked
        self.body = None
        self.microversion = None  # set by Nova
        self.token = None

    def load_json(self):
        """Reads the body as JSON (None when there is none)."""
        try:
            raw = b"".join(self.stream_body(1 << 20))
        except ValueError as e:
            raise ApiError(400, f"Malformed request body: {e}")
        if raw:
            try:
                self.body = json.loads(raw)
            except ValueError:
                raise ApiError(400, "Malformed request body")

    def stream_body(self, chunk):
        """The body in pieces of at most chunk bytes (Content-Length or chunked); ValueError
        when the client sent less than it said."""
        if self.consumed:
            return
        if self._chunked:
            while True:
                size_line = self._rfile.readline(1024)
                if not size_line:
                    raise ValueError("the body ended inside a chunk header")
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    data = self._rfile.read(min(chunk, left))
                    if not data:
                        raise ValueError(f"the body ended {left} bytes short of its chunk")
                    left -= len(data)
                    yield data
                self._rfile.readline(16)
        else:
            left = self._length
            while left:
                data = self._rfile.read(min(chunk, left))
                if not data:
                    raise ValueError(f"the body ended {left} bytes short of its length")
                left -= len(data)
                yield data
        self.consumed = True

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[-1] if v else default


class Route:
    """raw: the handler reads the body itself (req.stream_body); else it arrives as JSON in
    req.body."""

    def __init__(self, method, pattern, func, service, auth=True, raw=False):
        self.method = method
        self.regex = re.compile(pattern + "$")
        self.func = func
        self.service = service
        self.auth = auth
        self.raw = raw


class Router:
    def __init__(self):
        self.routes = []
        self.before = {}  # service -> callable(req) run before the handler (auth, versions)
        self.after = {}   # service -> callable(req, headers) adding response headers

    def add(self, method, pattern, service, auth=True, raw=False):
        def deco(func):
            self.routes.append(Route(method, pattern, func, service, auth, raw))
            return func
        return deco

    def find(self, method, path):
        allowed = False
        for r in self.routes:
            m = r.regex.match(path)
            if m:
                if r.method == method:
                    return r, m.groupdict()
                allowed = True
        return None, allowed


def service_of(path):
    if path.startswith("/identity"):
        return "keystone"
    if path.startswith("/compute"):
        return "nova"
    if path.startswith("/image"):
        return "glance"
    if path.startswith("/networking"):
        return "neutron"
    return "lab"


def make_handler(router, faults, calls):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "migprobe-lab-cloud"

        def log_message(self, fmt, *args):  # access log goes to the state dir via calls
            pass

        def _send(self, status, body, headers, request_id):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-openstack-request-id", request_id)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _handle(self, method):
            path = urlsplit(self.path).path.rstrip("/") or "/"
            service = service_of(path)
            request_id = "req-" + str(uuid.uuid4())
            headers = {}
            req = None
            try:
                req = Request(self, method, service)
                request_id = req.request_id
                calls.append({"t": time.time(), "method": method, "path": path,
                              "request_id": request_id})
                if service != "lab":
                    rule = faults.match_call(method, path)
                    if rule is not None:
                        for _ in req.stream_body(1 << 20):  # as read before an answer
                            pass
                        self._inject(rule, service, request_id)
                        return
                route, found = router.find(method, path)
                if route is None:
                    if found:
                        raise ApiError(405, "The method is not allowed for the requested URL.")
                    raise ApiError(404, "The resource could not be found.")
                if not route.raw:
                    req.load_json()
                before = router.before.get(route.service)
                if before:
                    before(req, route)
                status, body, *extra = route.func(req, **found)
                if extra:
                    headers.update(extra[0])
            except ApiError as e:
                status, body = e.status, error_body(e.shape or service, e.status, e.message)
                headers.update(e.headers)
            except (BrokenPipeError, ConnectionResetError):
                return
            if req is not None and not req.consumed:
                # The body was not read (an error came first): the connection cannot be reused.
                self.close_connection = True
                headers["Connection"] = "close"
            after = router.after.get(service)
            if after and req is not None:
                after(req, headers)
            if service == "nova":
                headers.setdefault("x-compute-request-id", request_id)
            try:
                self._send(status, body, headers, request_id)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _inject(self, rule, service, request_id):
            action = rule.get("action", "status")
            if action == "status":
                status = int(rule.get("status", 500))
                msg = rule.get("message", "Injected fault (lab cloud fault plan)")
                self._send(status, error_body(service, status, msg), {}, request_id)
                return
            if action == "hang":
                time.sleep(float(rule.get("seconds", 30)))
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def do_GET(self):
            self._handle("GET")

        def do_HEAD(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_PUT(self):
            self._handle("PUT")

        def do_DELETE(self):
            self._handle("DELETE")

        def do_PATCH(self):
            self._handle("PATCH")

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
