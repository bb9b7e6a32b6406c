"""A loopback HTTP server standing in for "another host" in media replies: a CDN, Puter's
sample files, a hostile server. It serves scripted bodies and remembers every request's
headers, so a test can prove what (never) arrived there."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Route:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    content_type: str | None = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None  # a Content-Length to send; None: the body's, or chunked for an iterable


class MediaServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                route = server.routes.get(self.path.split("?")[0], Route(404, b"not here", "text/plain"))
                self.send_response(route.status)
                if route.content_type:
                    self.send_header("Content-Type", route.content_type)
                for key, value in route.headers.items():
                    self.send_header(key, value)
                if isinstance(route.body, bytes):
                    self.send_header("Content-Length", str(route.length or len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)
                    return
                if route.length is not None:
                    self.send_header("Content-Length", str(route.length))
                    self.end_headers()
                    for piece in route.body:
                        self.wfile.write(piece)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for piece in route.body:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def megabytes(count: int, head: bytes = b"") -> Iterator[bytes]:
    """*count* MB of zeros after *head*, a megabyte at a time (never all in memory)."""
    yield head
    block = bytes(1024 * 1024)
    for _ in range(count):
        yield block


@pytest.fixture(name="other_host")
def other_host_fixture() -> Iterator[MediaServer]:
    server = MediaServer()
    yield server
    server.close()
