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
