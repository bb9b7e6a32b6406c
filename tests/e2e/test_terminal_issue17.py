"""Terminal IPython under tmux, as a user types it: %puter_models names which models call
tools, a model that cannot call tools says so, and a local model's usage (Ollama's shape
through Puter) is counted by %puter_usage."""

from __future__ import annotations

import pytest

from .test_frontends import Tmux, terminal  # noqa: F401  (a fixture)

pytestmark = pytest.mark.slow


def _after(screen: str, prompt: str) -> str:
    return screen.split(prompt, 1)[1]


def test_tools_and_usage_in_terminal_ipython(terminal: Tmux) -> None:  # noqa: F811
    terminal.send("%load_ext puter_magic")
    terminal.wait_for("In [2]:")
    terminal.send("%puter_login --sandbox")
    terminal.wait_for("In [3]:")
    terminal.send("%puter_models")
    table = _after(terminal.wait_for("In [4]:"), "In [3]:")
    head = next(line for line in table.splitlines() if line.split()[:1] == ["model"])
    assert head.split()[:5] == ["model", "provider", "context", "tools", "cost"], table
    agent = next(line for line in table.splitlines() if line.split()[:1] == ["sandbox-agent"])
    assert " yes " in agent, table
    terminal.send("def get_weather(city: str) -> str: return 'sunny in ' + city")
    terminal.wait_for("In [5]:")
    terminal.send("%puter -m sandbox-tutor --tools get_weather What is the weather in Paris?")
    answer = _after(terminal.wait_for("In [6]:"), "In [5]:")
    assert "sandbox-tutor cannot call tools" in answer and "sandbox-agent" in answer, answer
    terminal.send("%puter -m sandbox-local --no-history Hello there")
    answer = _after(terminal.wait_for("In [7]:"), "In [6]:")
    assert "sandbox-local · " in answer and "tokens not reported" not in answer, answer
    terminal.send("%puter_usage")
    usage = _after(terminal.wait_for("In [8]:"), "In [7]:")
    row = next(line for line in usage.splitlines() if line.startswith("sandbox-local"))
    assert row.split()[1:3] == ["1", "2"], usage  # one request, 2 input tokens ("Hello there")
