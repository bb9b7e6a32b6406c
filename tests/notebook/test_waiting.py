"""Where a cell cannot wait on a click, it says so at once (the kernel cases are in tests/e2e/)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.notebook.waiting import can_wait, wait_until
from tests.shell import ip  # noqa: F401


def never() -> bool:
    raise AssertionError("done() is not asked where nobody can click")


def test_plain_python_cannot_wait() -> None:
    assert not can_wait()
    assert wait_until(never, 600) == "unavailable"


def test_an_ipython_shell_without_a_kernel_cannot_wait(ip: InteractiveShell) -> None:  # noqa: F811
    ip.user_ns["never"] = never
    ip.run_cell("from puter_magic.notebook.waiting import can_wait, wait_until")
    result: Any = ip.run_cell("can_wait(), wait_until(never, 600)")
    assert result.result == (False, "unavailable")


def test_a_second_stop_during_the_hand_back_is_raised_after_it() -> None:
    """The held messages are handed back whole; the interrupt comes after, not in the middle."""
    from puter_magic.notebook.waiting import _interrupts_deferred

    before = signal.getsignal(signal.SIGINT)
    finished = []
    with pytest.raises(KeyboardInterrupt), _interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)  # Python has run the handler by now
        finished.append(True)
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is before


class _Stream:
    """A shell stream whose flush reads a frame and is interrupted before it hands it on."""

    def __init__(self, frames: list[list[bytes]]) -> None:
        self.frames = frames
        self.dispatched: list[list[bytes]] = []
        self._recv_callback: Any = self.dispatched.append
        self.socket = self

    def on_recv(self, callback: Any, copy: bool = True) -> None:
        self._recv_callback = callback

    def poll(self, timeout: int, flags: int) -> int:
        return 1 if self.frames else 0

    def flush(self, flags: int) -> None:
        while self.frames:
            frame = self.frames.pop(0)  # read off the socket...
            os.kill(os.getpid(), signal.SIGINT)  # ...and the stop button is pressed
            time.sleep(0.05)  # Python runs its handler here
            self._recv_callback(frame)


def test_a_stop_while_a_message_is_read_loses_no_message() -> None:
    from puter_magic.notebook.waiting import _Feed

    stream = _Stream([[b"queued-cell"]])
    feed = _Feed(kernel=None, stream=stream, reply_to=stream)
    with pytest.raises(KeyboardInterrupt), feed:
        feed.pump(0.01)
    assert stream.dispatched == [[b"queued-cell"]]  # handed back to the kernel, not dropped
    stream.frames = [[b"late-cell"]]
    with pytest.raises(KeyboardInterrupt), feed:
        pass  # the hand-back's own flush
    assert stream.dispatched == [[b"queued-cell"], [b"late-cell"]]
