"""Playing a scripted :class:`~puter_magic.sandbox.faults.Fault` on the wire.

The sandbox's handler answers a request with a fault instead of its normal reply:
delays, statuses and bodies, chunked NDJSON at a pace, slow drips, stalls, truncated
bodies and connection resets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .faults import Fault
    from .server import Handler

__all__ = ["play"]


def play(handler: Handler, fault: Fault) -> None:
    """Answer the handler's current request with *fault*."""
    if fault.delay and not handler._wait(fault.delay):
        handler._abort()
        return
    if fault.lines is not None:
        handler._start_chunked(fault.status, fault.content_type or "application/x-ndjson", fault.headers)
        sent = 0
        for i, line in enumerate(fault.line_bytes()):
            if i and not handler._wait(fault.pace):
                break
            if fault.reset is not None and sent + len(line) > fault.reset:
                handler._chunk(line[: max(0, fault.reset - sent)])
                handler._abort()
                return
            handler._chunk(line)
            sent += len(line)
        if fault.stall:
            handler._wait(fault.stall)
            handler._abort()
            return
        handler._end_chunked()
        handler._record_status(fault.status)
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
            if i and not handler._wait(fault.pace):
                break
            handler.wfile.write(body[i : i + fault.drip])
    elif fault.reset is not None:
        handler.wfile.write(body[: fault.reset])
        handler._abort()
        return
    else:
        handler.wfile.write(body)
    if fault.stall:
        handler._wait(fault.stall)
    truncated = fault.declared_length is not None and fault.declared_length != len(body)
    if truncated or fault.stall:
        handler._abort()
        return
    handler._record_status(fault.status)
