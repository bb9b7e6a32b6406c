"""What the Python we run in can do: the one place that knows.

In a browser (Pyodide: JupyterLite, a Pyodide console) Python has no threads and no
sockets. What needs them takes another path there, chosen by asking this module, never by
testing the platform elsewhere:

- a streamed reply is read inline, between display updates, not on a worker thread;
- ``--compare``, ``--each`` and :meth:`~puter_magic.api.client.PuterClient.chat_many` ask one
  request at a time, in the calling thread;
- the sandbox answers in-process (no server to listen), and the loopback sign-in
  (``--browser``) cannot listen at all.

HTTP itself works there: ``requests`` goes through the browser's ``fetch`` (the server must
send CORS headers), and streams arrive as they are written.

Tests take the browser's paths in CPython by setting :data:`PLATFORM` to ``"emscripten"``.
"""

from __future__ import annotations

import sys

__all__ = ["BROWSER_PLATFORM", "PLATFORM", "can_listen", "can_thread", "in_browser"]

BROWSER_PLATFORM = "emscripten"
PLATFORM = sys.platform  # read once; the paths below follow it


def in_browser() -> bool:
    """True when this Python runs inside a web page (Pyodide)."""
    return PLATFORM == BROWSER_PLATFORM


def can_thread() -> bool:
    """Whether this Python can start threads (not in a browser)."""
    return not in_browser()


def can_listen() -> bool:
    """Whether this Python can open a listening socket on loopback (not in a browser)."""
    return not in_browser()
