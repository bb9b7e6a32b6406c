"""The sandbox's HTTP server and handler: Puter's routes, its token check, and the wire-level
ways to answer (whole, chunked, paced, cut off). Driver calls are answered in :mod:`.drivers`,
the GUI site's pages (with ``gui_host``) in :mod:`.gui`.

:class:`SandboxHTTPServer` listens on loopback; :class:`MemoryServer` runs the same handler
over a connection held in memory, for a Python that cannot listen (see :mod:`.in_process`).
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from .drivers import INTERFACES, DriverFailure, DriverHost, drivers_call
from .faults import Fault, play
from .gui import GUI, GuiHost, answer_gui, authme_reply
from .limits import Limits
from .media import served
from .models import MODELS

SERVED_PATHS = ("/puter-sample-data/", "/puter-generated/")
# What Puter's API lets a browser send (server.ts): preflights are answered with these.
CORS_ALLOW_HEADERS = (
    "Origin, X-Requested-With, Content-Type, Accept, Authorization, sentry-trace, baggage, x-api-key"
)


@dataclass
class RecordedRequest:
    """One request the sandbox received (the token is kept but never shown in reprs)."""

    method: str
    path: str
    host: str | None
    headers: dict[str, str]
    body: Any
    started: float
    finished: float | None = None
    status: int | None = None
    client_gone: bool = False  # the client closed the connection before the reply ended
    token: str | None = field(default=None, repr=False)

    @classmethod
    def arrived(cls, handler: BaseHTTPRequestHandler, path: str, raw: bytes) -> RecordedRequest:
        """What arrived (the token apart, never in a repr)."""
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "authorization"}
        body: Any = raw.decode("utf-8", "replace") if raw else None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                pass
        rec = cls(
            method=handler.command,
            path=path,
            host=handler.headers.get("Host"),
            headers=headers,
            body=body,
            started=time.monotonic(),
        )
        auth = handler.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            rec.token = auth[7:].strip()
        return rec

    @property
    def args(self) -> dict[str, Any]:
        """The driver call's ``args`` (empty for other requests)."""
        body = self.body
        return body.get("args", {}) if isinstance(body, dict) and isinstance(body.get("args"), dict) else {}


class ServerHost(DriverHost, GuiHost, Protocol):
    """What the server needs of the sandbox it serves: its routing, its tokens, its scripted
    faults, its limits, where it keeps what arrived, and what the drivers and the GUI need."""

    verbose: bool
    api_host: str | None
    gui_host: str | None
    gui: GUI | None
    limits: Limits

    def accepts(self, token: str) -> bool: ...
    def whoami(self, token: str) -> dict[str, Any]: ...
    def take_fault(self, path: str) -> Fault | None: ...
    def record(self, request: RecordedRequest) -> None: ...


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, sandbox: ServerHost, address: tuple[str, int]) -> None:
        self.sandbox = sandbox
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is normal here (tests, interrupts): say nothing of it."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)) and not self.sandbox.verbose:
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """End kept-alive connections too, so a stopped sandbox answers nothing."""
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self.connections.clear()


class _MemoryConnection:
    """A connection whose request is in memory and whose reply is written to memory.

    Enough of a socket for :class:`Handler`: it reads the request from ``makefile``, writes
    with ``sendall``, and a reset (:meth:`Handler.abort`) or a shutdown only marks it closed."""

    def __init__(self, request: bytes) -> None:
        self._request = request
        self.written = bytearray()
        self.closed = False

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BytesIO:
        return io.BytesIO(self._request)

    def sendall(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("the connection was closed")
        self.written += data

    def setsockopt(self, *args: Any) -> None:
        return None

    def settimeout(self, timeout: float | None) -> None:
        return None

    def shutdown(self, how: int) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


class MemoryServer(socketserver.BaseServer):
    """The sandbox's handler with no socket: :meth:`answer` takes the bytes of one HTTP
    request and returns the bytes the handler wrote, as a listening server would have sent
    them (headers, chunked body, cut off by a fault). Nothing runs in another thread, so
    the whole reply is written before it is returned."""

    def __init__(self, sandbox: ServerHost) -> None:
        self.sandbox = sandbox
        self.connections: set[Any] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("in-process", 0), Handler)

    def answer(self, request: bytes) -> tuple[bytes, bool]:
        """The reply to *request*, and whether the connection was reset before it ended."""
        connection = _MemoryConnection(request)
        try:
            self.finish_request(connection, ("127.0.0.1", 0))  # type: ignore[arg-type]
        except (BrokenPipeError, ConnectionResetError):
            connection.closed = True
        return bytes(connection.written), connection.closed


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer | MemoryServer
    server_version = "puter-sandbox"
    _headers_buffer: list[bytes]
    sys_version = ""
    _release_slot: Callable[[], None] | None = None
    _cors: dict[str, str] = {}  # noqa: RUF012 - replaced per request, never mutated

    # -- plumbing --------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)
        # Small writes (stream chunks, a reply after its headers) must not wait for
        # delayed ACKs: that would add 40 ms to every reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sandbox.verbose:
            super().log_message(format, *args)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        for key, value in self._cors.items():
            self.send_header(key, value)

    def send(
        self,
        status: int,
        body: bytes,
        content_type: str | None = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.record_status(status)
        # Headers and body in one write.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(obj, separators=(",", ":")).encode(), headers=headers)

    def record_status(self, status: int) -> None:
        rec = getattr(self, "_record", None)
        if rec is not None:
            rec.status = status
            rec.finished = time.monotonic()

    def start_chunked(self, status: int, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def wait(self, seconds: float) -> bool:
        """Sleep, but wake when the sandbox stops; False if it stopped."""
        if seconds <= 0:
            return True
        return not self.server.sandbox.stopping.wait(seconds)

    def abort(self) -> None:
        """Reset the connection (RST) instead of closing it cleanly."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    # -- entry points ------------------------------------------------------------

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:  # the response is written (or the client left): free its slot
            release, self._release_slot = getattr(self, "_release_slot", None), None
            if release is not None:
                release()

    def admit(self, iface: str, method: str) -> None:
        """Puter's rate, concurrency and credit gates (sandbox/limits.py), when enabled; a guest's
        own (20 calls per 10 s, 2 at once) when the sandbox plays the GUI."""
        sandbox = self.server.sandbox
        token = self.token
        guest = sandbox.gui.guest_limits(token) if sandbox.gui is not None and token else None
        refusal, self._release_slot = (guest or sandbox.limits).admit(iface, method)
        if refusal is not None:
            raise DriverFailure(refusal.status, refusal.code, refusal.message, headers=refusal.headers)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def _handle(self) -> None:
        sandbox = self.server.sandbox
        raw = self._read_body()
        url = urlsplit(self.path)
        self._record = RecordedRequest.arrived(self, url.path, raw)
        sandbox.record(self._record)
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        self._cors = {}
        try:
            if sandbox.gui is not None and host == sandbox.gui_host:
                answer_gui(self, sandbox.gui, url.path, url.query, raw)  # faults are for the API
                return
            origin = self.headers.get("Origin")
            if sandbox.gui is not None and origin:  # Puter's API reflects any Origin
                self._cors = {
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Credentials": "true",
                    "Vary": "Origin",
                }
            if self.command == "OPTIONS":
                self._preflight()
                return
            fault = sandbox.take_fault(url.path)
            if fault is not None:
                play(self, fault)
                return
            if sandbox.api_host and (self.headers.get("Host") or "").split(":")[0] != sandbox.api_host:
                if url.path == "/" or url.path.startswith("/action"):
                    self._route_gui(url)
                else:
                    self.json(404, {"error": "Not Found", "message": "Not Found", "code": "not_found"})
                return
            self._route(url, raw)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            self._record.client_gone = True

    def _preflight(self) -> None:
        """``OPTIONS``: answered as Puter's API does when the sandbox plays the GUI too."""
        if self.server.sandbox.gui is None:
            self.send_error(501, "Unsupported method ('OPTIONS')")
            return
        asked = self.headers.get("Access-Control-Request-Headers")
        headers = {
            "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS",
            "Access-Control-Allow-Headers": asked or CORS_ALLOW_HEADERS,
            "Access-Control-Max-Age": "86400",
        }
        self.send(204, b"", None, headers)

    def _route(self, url: Any, raw: bytes) -> None:
        path = url.path
        sandbox = self.server.sandbox
        if path == "/drivers/call" and self.command == "POST":
            drivers_call(self, sandbox, raw, parse_qs(url.query))
        elif path == "/whoami" and self.command in ("GET", "HEAD"):
            query = parse_qs(url.query)
            if self.authorized(None, query, legacy=False):
                self.json(200, sandbox.whoami(self._token(None, query) or ""))
        elif path in ("/auth/get-user-app-token", "/auth/create-access-token") and sandbox.gui is not None:
            self._auth_route(path, raw, parse_qs(url.query))
        elif path in ("/login/set", "/login/wait") and sandbox.gui is not None and self.command == "POST":
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                body = {}
            if path == "/login/set":
                self.json(*sandbox.gui.relay_set(body))
            else:
                self.json(*sandbox.gui.relay_wait(body, self.headers.get("Origin")))
        elif path.startswith("/metering/") and self.command in ("GET", "HEAD"):
            if self.authorized(None, parse_qs(url.query), legacy=False):
                self._metering(path)
        elif path == "/drivers/list-interfaces":
            if self.authorized(None, parse_qs(url.query), legacy=False):
                self.json(
                    200,
                    {k: {"drivers": v["drivers"], "default": v["default"]} for k, v in INTERFACES.items()},
                )
        elif path == "/puterai/chat/models":
            self.json(200, {"models": [m.id for m in MODELS.values() if not m.test_provider]})
        elif path == "/puterai/chat/models/details":
            self.json(200, {"models": [m.catalogue_entry() for m in MODELS.values() if not m.test_provider]})
        elif path.startswith(SERVED_PATHS) and self.command in ("GET", "HEAD"):
            self._serve_file(path)
        elif path in ("/", "/action/authme") and not self.server.sandbox.api_host:
            self._route_gui(url)
        else:
            self.json(404, {"error": "Not Found", "message": "Not Found", "code": "not_found"})

    @property
    def token(self) -> str | None:
        """The token the current request was authorized with."""
        rec = getattr(self, "_record", None)
        return rec.token if rec is not None else None

    def _metering(self, path: str) -> None:
        """``/metering/usage``, ``/metering/usage/<app>``, ``/metering/allCosts`` (sandbox/metering.py)."""
        metering = self.server.sandbox.metering
        body: Any = None
        if path == "/metering/usage":
            body = metering.usage(self.token)
        elif path.startswith("/metering/usage/"):
            body = metering.app_usage(self.token, path[len("/metering/usage/") :])
            if body is None:
                self.json(404, {"error": "App not found", "message": "App not found"})
                return
        elif path == "/metering/allCosts":
            body = metering.all_costs()
        if body is None:
            self.json(404, {"error": "Not Found", "message": "Not Found", "code": "not_found"})
        else:
            self.json(200, body)

    def _route_gui(self, url: Any) -> None:
        """The GUI host: the AuthMe page (``/?action=authme&redirectURL=...``)."""
        status, headers, body = authme_reply(self.server.sandbox, parse_qs(url.query))
        self.send(status, body, headers.pop("Content-Type", "text/html; charset=utf-8"), headers)

    def _auth_route(self, path: str, raw: bytes, query: dict[str, list[str]]) -> None:
        """The GUI's token routes on the API: a GUI session's token for an app, or an access token."""
        gui = self.server.sandbox.gui
        assert gui is not None
        if self.command != "POST":
            self.json(404, {"error": "Not Found", "message": "Not Found", "code": "not_found"})
            return
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            message = "Malformed JSON in request body"
            self.json(400, {"error": message, "message": message, "code": "client_bad_json"})
            return
        body = body if isinstance(body, dict) else {}
        if not self.authorized(body, query, legacy=False):
            return
        token = self._token(body, query) or ""
        if path == "/auth/get-user-app-token":
            self.json(*gui.exchange(token, body))
        else:
            self.json(*gui.create_access_token(token, body))

    # -- auth ----------------------------------------------------------------------

    def _token(self, body: dict[str, Any] | None, query: dict[str, list[str]]) -> str | None:
        if body and isinstance(body.get("auth_token"), str):
            return str(body["auth_token"])
        auth = self.headers.get("Authorization")
        if auth and not auth.lower().startswith("basic "):
            return auth[7:].strip() if auth.lower().startswith("bearer ") else auth.strip()
        if self.headers.get("x-api-key"):
            return self.headers["x-api-key"].strip()
        if query.get("auth_token"):
            return query["auth_token"][0]
        return None

    def authorized(self, body: dict[str, Any] | None, query: dict[str, list[str]], *, legacy: bool) -> bool:
        """Check the token; on failure send Puter's 401 and return False."""
        token = self._token(body, query)
        sandbox = self.server.sandbox
        if self._record is not None:
            self._record.token = token
        if not token:
            code, message, extra = "token_missing", "Missing authentication token", {}
        elif sandbox.accepts(token):
            return True
        else:
            # A real server answers a token it cannot read as a retired (v1) one.
            code, message = "reauth_required", "Re-authentication required"
            extra = {"reason": "token_v1"}
        if legacy:
            self.json(401, {"message": message, "code": code})
        else:
            self.json(401, {"error": message, "message": message, "code": code, **extra})
        return False

    def _serve_file(self, path: str) -> None:
        """Sample files and generated pictures: served to anyone, as another host would."""
        found = served(self.server.sandbox, path)
        if found is None:
            self.json(404, {"error": "Not Found", "message": "Not Found", "code": "not_found"})
        else:
            self.send(200, found[0], found[1])
