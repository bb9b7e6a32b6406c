"""Playing a scripted :class:`~puter_magic.sandbox.faults.Fault` on the wire.

The sandbox's handler answers a request with a fault instead of its normal reply:
delays, statuses and bodies, chunked NDJSON at a pace, slow drips, stalls, truncated
bodies and connection resets.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .faults import Fault

__all__ = ["Replier", "play"]


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
