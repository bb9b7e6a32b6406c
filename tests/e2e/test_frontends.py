"""The line form where users meet it: a real Jupyter kernel, and terminal IPython in tmux.

Both run against the in-kernel sandbox (``%puter_login --sandbox``): no account, no network.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def _env(tmp_path: pathlib.Path) -> dict[str, str]:
    """The environment of the kernel or terminal: no Puter settings of the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUTER_")}
    env["PUTER_MAGIC_CONFIG_DIR"] = str(tmp_path / "config")
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    return env


# -- a real kernel ---------------------------------------------------------------------------------


@pytest.fixture
def kernel(tmp_path: pathlib.Path) -> Iterator[Any]:
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", env=_env(tmp_path), cwd=str(tmp_path))
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def execute(
    client: Any, code: str, *, answers: list[str] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run *code* as a frontend would; the reply (with the input ``prompts`` asked) and the
    outputs as they end up (updates folded in). With *answers*, the frontend takes input and
    answers each prompt in turn."""
    shown: list[dict[str, Any]] = []
    by_id: dict[str, int] = {}
    prompts: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        kind, content = msg["msg_type"], msg["content"]
        display_id = content.get("transient", {}).get("display_id")
        if kind == "update_display_data" and display_id in by_id:
            shown[by_id[display_id]] = content["data"]
        elif kind in ("display_data", "execute_result"):
            if display_id:
                by_id[display_id] = len(shown)
            shown.append(content["data"])
        elif kind == "stream":
            shown.append({"stream": content["text"]})
        elif kind == "error":
            shown.append({"error": f"{content['ename']}: {content['evalue']}"})

    def stdin(msg: dict[str, Any]) -> None:
        prompts.append(msg["content"]["prompt"])
        client.input(answers.pop(0) if answers else "")

    reply = client.execute_interactive(
        code, output_hook=hook, stdin_hook=stdin, allow_stdin=answers is not None, timeout=60
    )
    return {**reply["content"], "prompts": prompts}, shown


def test_question_mark_asks_in_a_real_kernel(kernel: Any) -> None:
    execute(kernel, "%load_ext puter_magic")
    _, outputs = execute(kernel, "%puter_login --sandbox")
    assert "Signed in to the sandbox" in outputs[0]["text/plain"]
    execute(kernel, "%%puter\nWhat is a list comprehension?")

    reply, outputs = execute(kernel, "%puter What was my first question?")
    assert reply["status"] == "ok" and not reply.get("payload"), reply
    assert "not found" not in str(outputs)
    [answer] = outputs
    assert "> What was my first question?" in answer["text/markdown"]
    assert "1. `What is a list comprehension?`" in answer["text/markdown"]
    assert "puter-footer" in answer["text/html"] and "sandbox-tutor · " in answer["text/plain"]

    _, outputs = execute(kernel, "%puter What is a list?")
    [answer] = outputs
    assert "> What is a list?" in answer["text/markdown"] and "Init signature" not in str(outputs)

    _, outputs = execute(kernel, "%puter -m sandbox-tutor-lite --chat other What's a set?")
    [answer] = outputs
    assert "sandbox-tutor-lite" in answer["text/plain"] and "What's a set?" in answer["text/plain"]

    reply, outputs = execute(kernel, "%puter?")
    assert outputs == []
    [page] = reply["payload"]
    assert "%puter [options] QUESTION" in page["data"]["text/plain"]
    reply, _ = execute(kernel, "%puter_models?")
    assert "Pick the notebook's default model" in reply["payload"][0]["data"]["text/plain"]


# -- terminal IPython, for real ------------------------------------------------------------------------


class Tmux:
    """One terminal on a private tmux server (its own socket), so nothing else is touched."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.socket = f"puter-test-{uuid.uuid4().hex[:8]}"
        self.tmux(
            "new-session", "-d", "-x", "200", "-y", "50", "-s", "t",
            *[arg for k, v in env.items() for arg in ("-e", f"{k}={v}")],
            " ".join(command),
        )  # fmt: skip

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def send(self, line: str) -> None:
        self.tmux("send-keys", "-t", "t", "-l", line)
        self.tmux("send-keys", "-t", "t", "Enter")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t", "-S", "-200")

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear; the terminal shows:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)


@pytest.fixture
def terminal(tmp_path: pathlib.Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is missing: .ci/setup installs it in CI")
        pytest.skip("tmux is not installed (install it with: apt-get install -y tmux)")
    ipython = pathlib.Path(sys.executable).with_name("ipython")
    term = Tmux([str(ipython), "--no-banner", "--colors=NoColor"], {**_env(tmp_path), "TERM": "xterm"})
    try:
        term.wait_for("In [1]:")
        yield term
    finally:
        term.close()


def test_question_mark_asks_in_terminal_ipython(terminal: Tmux) -> None:
    terminal.send("%load_ext puter_magic")
    terminal.wait_for("In [2]:")
    terminal.send("%puter_login --sandbox")
    terminal.wait_for("In [3]:")
    terminal.send("%puter What is a list?")
    screen = terminal.wait_for("In [4]:")
    answer = screen.split("In [3]:", 1)[1]
    assert "Turn 1 · Sandbox Tutor" in answer and "> What is a list?" in answer, answer
    assert "sandbox-tutor · " in answer, answer  # the footer: the reply arrived whole
    assert "Docstring" not in answer and "Init signature" not in answer, answer
    terminal.send("%puter -m sandbox-echo --no-history What's a set?")
    screen = terminal.wait_for("In [5]:")
    assert "What's a set?\n" in screen.split("In [4]:", 1)[1]


@pytest.mark.notebook
def test_explain_in_a_real_kernel_sends_no_temp_file_paths(tmp_path: object) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext puter_magic\n%puter_login --sandbox"),
        nbformat.v4.new_code_cell("def helper(xs):\n    return xs[10]"),
        nbformat.v4.new_code_cell("helper([1, 2, 3])"),
        nbformat.v4.new_code_cell("%puter_explain -m sandbox-echo"),
    ]
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for o in nb.cells[3].outputs if o["output_type"] in ("display_data", "execute_result")]
    text = outputs[0]["data"]["text/plain"]
    assert "Cell In[3], line 1, in <module>\n    helper([1, 2, 3])" in text
    assert "Cell In[2], line 2, in helper" in text
    assert "ipykernel_" not in text and "/tmp" not in text and str(tmp_path) not in text
