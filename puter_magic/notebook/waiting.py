"""A cell that waits on the frontend: block until ``done()`` is true while widget messages still arrive.

This is the public interface; the mechanism (the only code in puter-magic that leans on ipykernel's
internals) lands behind it. Until then nothing can wait: :func:`can_wait` is False and
:func:`wait_until` answers ``"unavailable"`` at once, so a caller falls back to not waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

__all__ = ["WaitResult", "can_wait", "wait_until"]

WaitResult = Literal["done", "timeout", "unavailable"]


def can_wait() -> bool:
    """Whether this cell can wait on a click: a Jupyter kernel whose frontend can answer."""
    return False


def wait_until(done: Callable[[], bool], timeout: float) -> WaitResult:
    """Block until ``done()`` is true ("done") or ``timeout`` seconds pass ("timeout").

    "unavailable" at once where nobody can click or the kernel cannot be waited in.
    """
    return "unavailable"
