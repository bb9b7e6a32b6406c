"""Scripted misbehaviour for the sandbox: what a broken server or proxy would send, and how it
is played on the wire.

A :class:`Fault` answers the next request(s) to its path instead of the normal handler.
Build them with the class methods, e.g. ``Fault.error(503, "unavailable", "...",
retry_after=1)``, ``Fault.html_page(502)``, ``Fault.stream([...], stall=30)``. :func:`play`
sends one through the request handler's wire-level ways to answer (:class:`Replier`): delays,
statuses and bodies, chunked NDJSON at a pace, slow drips, stalls, truncated bodies and
connection resets.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Fault", "Replier", "play"]


def _encode(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


@dataclass
class Fault:
    """One scripted reply.

    Attributes:
        status: HTTP status to send.
        body: bytes, text, or a JSON-able object.
        content_type: the Content-Type header (None: none sent).
        headers: extra headers.
        delay: seconds to wait before answering (a reply that never starts: a large delay).
        lines: for a streamed reply, NDJSON objects or raw text lines, sent chunked.
        pace: seconds between streamed lines.
        stall: after everything is sent, seconds to hold the connection open without ending.
        drip: send the body this many bytes at a time, with ``pace`` between (a slow drip).
        declared_length: a Content-Length to claim (larger than the body: a truncated reply).
        reset: abort the connection after this many body bytes (None: no reset).
        path: which path it answers; None for any path.
        times: how many requests it answers.
    """

    status: int = 200
    body: Any = None
    content_type: str | None = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    lines: Sequence[Any] | None = None
    pace: float = 0.0
    stall: float = 0.0
    drip: int | None = None
    declared_length: int | None = None
    reset: int | None = None
    path: str | None = "/drivers/call"
    times: int = 1

    def body_bytes(self) -> bytes:
        return _encode(self.body)

    def line_bytes(self) -> list[bytes]:
        out = []
        for line in self.lines or ():
            raw = line if isinstance(line, (bytes, str)) else json.dumps(line)
            raw = raw.encode() if isinstance(raw, str) else raw
            out.append(raw if raw.endswith(b"\n") else raw + b"\n")
        return out

    # -- constructors -----------------------------------------------------------

    @classmethod
    def error(
        cls,
        status: int,
        code: str,
        message: str,
        *,
        retry_after: float | None = None,
        **extra: Any,
    ) -> Fault:
        """A current-generation error: real status, flat body."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        body = {"error": message, "message": message, "code": code, **extra}
        return cls(status=status, body=body, headers=headers)

    @classmethod
    def legacy_error(cls, code: str, message: str, status: int = 400) -> Fault:
        """An older-generation error: HTTP 200 with ``success: false``."""
        body = {
            "success": False,
            "service": {"name": "ai-chat"},
            "error": {
                "$": "heyputer:api/APIError",
                "code": code,
                "message": message,
                "status": status,
            },
        }
        return cls(status=200, body=body)

    @classmethod
    def html_page(cls, status: int = 502, title: str = "502 Bad Gateway") -> Fault:
        page = (
            f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1>"
            "</center><hr><center>nginx</center></body></html>"
        )
        return cls(status=status, body=page, content_type="text/html")

    @classmethod
    def empty(cls, status: int = 200, content_type: str | None = "application/json") -> Fault:
        return cls(status=status, body=b"", content_type=content_type)

    @classmethod
    def raw(cls, body: Any, status: int = 200, content_type: str | None = "application/json") -> Fault:
        return cls(status=status, body=body, content_type=content_type)

    @classmethod
    def truncated(cls, body: Any = b'{"success":true,"result":{"message":{"content":"par') -> Fault:
        data = _encode(body)
        return cls(status=200, body=data, declared_length=len(data) + 100)

    @classmethod
    def stream(
        cls,
        lines: Sequence[Any],
        *,
        pace: float = 0.0,
        stall: float = 0.0,
        reset: int | None = None,
    ) -> Fault:
        return cls(
            status=200,
            lines=list(lines),
            content_type="application/x-ndjson",
            pace=pace,
            stall=stall,
            reset=reset,
        )

    @classmethod
    def never_starts(cls, seconds: float = 3600.0) -> Fault:
        return cls(delay=seconds, body={"success": True, "result": None})


# -- playing a fault on the wire ------------------------------------------------------------


class Replier(Protocol):
    """What playing a fault needs of the request handler: its wire-level ways to answer."""

    wfile: io.BufferedIOBase

    def wait(self, seconds: float) -> bool: ...
    def abort(self) -> None: ...
    def start_chunked(
        self, status: int, content_type: str, headers: dict[str, str] | None = None
    ) -> None: ...
    def chunk(self, data: bytes) -> None: ...
    def end_chunked(self) -> None: ...
    def record_status(self, status: int) -> None: ...
    def send_response(self, code: int, message: Any = None) -> None: ...
    def send_header(self, keyword: str, value: str) -> None: ...
    def end_headers(self) -> None: ...


def play(handler: Replier, fault: Fault) -> None:
    """Answer the handler's current request with *fault*."""
    if fault.delay and not handler.wait(fault.delay):
        handler.abort()
        return
    if fault.lines is not None:
        handler.start_chunked(fault.status, fault.content_type or "application/x-ndjson", fault.headers)
        sent = 0
        for i, line in enumerate(fault.line_bytes()):
            if i and not handler.wait(fault.pace):
                break
            if fault.reset is not None and sent + len(line) > fault.reset:
                handler.chunk(line[: max(0, fault.reset - sent)])
                handler.abort()
                return
            handler.chunk(line)
            sent += len(line)
        if fault.stall:
            handler.wait(fault.stall)
            handler.abort()
            return
        handler.end_chunked()
        handler.record_status(fault.status)
        return
    body = fault.body_bytes()
    handler.send_response(fault.status)
    if fault.content_type:
        handler.send_header("Content-Type", fault.content_type)
    for key, value in fault.headers.items():
        handler.send_header(key, value)
    length = fault.declared_length if fault.declared_length is not None else len(body)
    handler.send_header("Content-Length", str(length))
    handler.end_headers()
    if fault.drip:
        for i in range(0, len(body), fault.drip):
            if i and not handler.wait(fault.pace):
                break
            handler.wfile.write(body[i : i + fault.drip])
    elif fault.reset is not None:
        handler.wfile.write(body[: fault.reset])
        handler.abort()
        return
    else:
        handler.wfile.write(body)
    if fault.stall:
        handler.wait(fault.stall)
    truncated = fault.declared_length is not None and fault.declared_length != len(body)
    if truncated or fault.stall:
        handler.abort()
        return
    handler.record_status(fault.status)
