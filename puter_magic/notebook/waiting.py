"""A cell that waits on the frontend: block until ``done()`` is true while widget messages still arrive.

A Jupyter kernel runs a cell inside the same event loop that reads the frontend's shell messages, so
while a cell blocks, nothing is read: a widget's click never reaches its Python handler. Run All makes
it worse: the cells after this one are already queued as shell messages behind it.
:func:`wait_until` reads the shell messages itself while it blocks:

- comm messages (``comm_open``, ``comm_msg``, ``comm_close``: what widgets send) are handled at once,
  as the kernel would, under their own parent header, and the cell's parent is put back after each;
- every other message (the queued ``execute_request`` of Run All, completions, ...) is held, and when
  the wait ends (done, timed out, interrupted or failed) handed back to the kernel in the order it
  arrived, so those cells then run as usual with their execution counts and outputs.

This module is the only place in puter-magic that leans on ipykernel's internals. On ipykernel 6 the
main thread's loop reads ``kernel.shell_stream`` itself; on ipykernel 7 a shell-channel thread reads the
socket and forwards the main shell's messages through an in-process socket pair whose receiving
stream lives on the main thread. Either way there is one ``ZMQStream`` on the main thread that feeds
the kernel's dispatcher; for the wait, its receive callback (pyzmq's ``on_recv``) is swapped for one
that handles comms and holds the rest, and ``flush`` (pyzmq's own way to read a stream outside its
loop) pulls what has arrived. The kernel's callback is restored, and the held messages given to it,
in a ``finally``. Anything unexpected about the kernel makes the cell not wait ("unavailable").

Where nobody can click, it never waits: outside a Jupyter kernel (terminal IPython, plain Python),
in a kernel subshell, and when the frontend sends ``allow_stdin: false`` with the cell (nbconvert,
papermill, nbclient, and any frontend that cannot answer input).

Two waits in a row (a short "has the widget said it rendered?" then a long "has the user signed
in?") behave as one: each hands back what it held when it returns, but the kernel runs nothing until
the cell ends, and the next wait reads on from where the last stopped, so the order holds.

A ``KeyboardInterrupt`` (the stop button) ends the wait: the held messages are handed back and the
interrupt propagates, so the kernel does what it always does after an interrupted cell (with
``stop_on_error``, Run All's remaining cells are aborted, each with its reply). A caller that catches
it instead lets those cells run.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

__all__ = ["WaitResult", "can_wait", "wait_until"]

WaitResult = Literal["done", "timeout", "unavailable"]

# The shell messages a waiting cell handles itself: what a widget sends. ipykernel 7 dispatches the
# same three concurrently with a running *async* cell.
_COMM_MESSAGES = frozenset({"comm_open", "comm_msg", "comm_close"})
# How long one look at the socket blocks before done() is asked again (done() may also turn true
# from another thread).
_TICK = 0.05


def can_wait() -> bool:
    """Whether this cell can wait on a click: a Jupyter kernel whose frontend can answer."""
    return _Feed.find() is not None


def wait_until(done: Callable[[], bool], timeout: float) -> WaitResult:
    """Block until ``done()`` is true ("done") or ``timeout`` seconds pass ("timeout").

    Meanwhile the frontend's comm messages are handled (so a widget's handlers run and can make
    ``done()`` true) and the other shell messages are held and handed back, in order, at the end.
    "unavailable" at once, without calling ``done()``, where the cell cannot wait (see the module).
    ``done()`` is asked first, so a wait that is already over returns "done" at once.
    """
    feed = _Feed.find()
    if feed is None:
        return "unavailable"
    deadline = time.monotonic() + timeout
    with feed:
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            feed.pump(min(left, _TICK))
        return "done"


class _Feed:
    """The main shell's message stream, taken over for one wait (a context manager)."""

    def __init__(self, kernel: Any, stream: Any, reply_to: Any) -> None:
        self.kernel = kernel
        self.stream = stream
        self.reply_to = reply_to  # what the kernel passes its handlers as the reply stream
        self.dispatch: Callable[[list[Any]], Any] = stream._recv_callback
        self.copy: bool = getattr(stream, "_recv_copy", False)
        self.held: list[list[Any]] = []
        import zmq

        self.pollin = int(zmq.POLLIN)

    @classmethod
    def find(cls) -> _Feed | None:
        """The feed of the cell running in this thread, if it can wait; None otherwise."""
        try:
            return cls._find()
        except Exception:  # an IPython or ipykernel we do not know: do not wait
            return None

    @classmethod
    def _find(cls) -> _Feed | None:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        if kernel is None or getattr(kernel, "session", None) is None:
            return None  # terminal IPython, plain Python, a kernel that is not ipykernel
        parent = kernel.get_parent("shell")
        if parent.get("header", {}).get("msg_type") != "execute_request":
            return None
        if not parent.get("content", {}).get("allow_stdin", False):
            return None  # nbconvert, papermill, a frontend that sends no input: nobody can click
        channel = getattr(kernel, "shell_channel_thread", None)
        if channel is not None:  # ipykernel 7: the main shell's end of the in-process pair
            stream = channel.manager.get_shell_channel_to_subshell_pair(None).to_stream
            reply_to = channel.manager.get_subshell_to_shell_channel_socket(None)
        else:  # ipykernel 6
            stream = kernel.shell_stream
            reply_to = stream
        if stream is None or getattr(stream, "_recv_callback", None) is None:
            return None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return None  # a thread of the user's, not the cell
        if stream.io_loop.asyncio_loop is not running:
            return None  # a subshell: its messages come another way
        return cls(kernel, stream, reply_to)

    def __enter__(self) -> _Feed:
        with _interrupts_deferred():
            self.stream.on_recv(self._take, copy=False)
            return self

    def __exit__(self, *exc: object) -> None:
        try:
            with _interrupts_deferred():  # a message read off the socket is always taken
                self.stream.flush(self.pollin)  # what has already arrived is held now, so the order holds
        finally:
            with _interrupts_deferred():  # a second press of the stop button loses nothing
                self.stream.on_recv(self.dispatch, copy=self.copy)
                held, self.held = self.held, []
                for raw in held:  # as the stream would have delivered them (ipykernel 7's is a coroutine)
                    pending = self.dispatch(raw)
                    if inspect.isawaitable(pending):
                        task = asyncio.ensure_future(pending)
                        task.add_done_callback(self._log_failure)

    def _log_failure(self, task: asyncio.Future[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.kernel.log.error("A held shell message failed", exc_info=task.exception())

    def pump(self, seconds: float) -> None:
        """Wait up to *seconds* for a message; take every message that has arrived.

        A stop pressed while they are read is raised once they are taken (held or handled):
        flush reads a message off the socket before it hands it on, and an interrupt in
        between would lose it. A widget's handler run meanwhile is not interrupted."""
        if self.stream.socket.poll(max(1, int(seconds * 1000)), self.pollin):
            with _interrupts_deferred():
                self.stream.flush(self.pollin)

    def _take(self, raw: list[Any]) -> None:
        message = self._comm_message(raw)
        if message is None:
            self.held.append(raw)
        else:
            self._handle(*message)

    def _comm_message(self, raw: list[Any]) -> tuple[list[bytes], dict[str, Any]] | None:
        """The identities and message if *raw* is a comm message the wait handles, else None."""
        if len(raw) < 2:  # ipykernel 7's one-frame "stop aborting" marker, and anything else odd
            return None
        session = self.kernel.session
        try:
            idents, frames = session.feed_identities(raw, copy=False)
            header = session.deserialize(frames, content=False, copy=False)["header"]
            if header.get("msg_type") not in _COMM_MESSAGES:
                return None
            return idents, session.deserialize(frames, content=True, copy=False)
        except Exception:  # left to the kernel, which logs it as it always does
            return None

    def _handle(self, idents: list[bytes], message: dict[str, Any]) -> None:
        """Handle a comm message as the kernel would, then give the cell its parent back."""
        kernel = self.kernel
        parent = kernel.get_parent("shell")
        parent_ident = kernel._parent_ident["shell"]
        kernel.set_parent(idents, message, channel="shell")
        try:
            kernel.shell_handlers[message["header"]["msg_type"]](self.reply_to, idents, message)
        finally:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
            kernel.set_parent(parent_ident, parent, channel="shell")


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """A SIGINT during the block is raised as KeyboardInterrupt when it ends, not inside it."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield  # only the main thread sets signal handlers; None is one Python cannot put back
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pressed:
            raise KeyboardInterrupt
