"""Scripted misbehaviour for the sandbox: what a broken server or proxy would send.

A :class:`Fault` answers the next request(s) to its path instead of the normal handler.
Build them with the class methods, e.g. ``Fault.status(503, retry_after=1)``,
``Fault.html_page(502)``, ``Fault.stream([...], stall=30)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault"]


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
