"""``%%puter --code`` in terminal IPython (in tmux): the reply's code waits on the next prompt."""

from __future__ import annotations

import pytest

from .test_frontends import Tmux

pytestmark = pytest.mark.slow


def test_code_lands_on_the_next_prompt(terminal: Tmux) -> None:
    terminal.send("%load_ext puter_magic")
    terminal.wait_for("In [2]:")
    terminal.send("%puter_login --sandbox")
    terminal.wait_for("In [3]:")
    terminal.send("%%puter --code")
    terminal.wait_for("...:")
    terminal.tmux("send-keys", "-t", "t", "-l", "Show me a loop.")
    terminal.tmux("send-keys", "-t", "t", "Escape", "Enter")  # run the cell (Alt+Enter)
    screen = terminal.wait_for("In [4]:")
    after = screen.split("In [3]:", 1)[1]
    assert "--code: 1 code block (3 lines) put into the next prompt, not run." in after, after
    assert "In [4]: # The sandbox answers deterministically" in after, after
    assert "questions = 1" in after.split("In [4]:", 1)[1], after
