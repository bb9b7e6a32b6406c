"""A cell that waits on a click, in real kernels on ipykernel 7 (.venv) and 6 (.venv-ipykernel6).

The test plays the frontend through jupyter_client: it queues cells behind the waiting one, as Run
All does, and sends the widget's messages a browser would send. ``bash .ci/setup`` creates
``.venv-ipykernel6``; without it the ipykernel 6 cases are skipped with that command, except under
CI=true, where they fail.
"""

from __future__ import annotations

import json
import os
import pathlib
import queue
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYTHONS = {"7": pathlib.Path(sys.executable), "6": ROOT / ".venv-ipykernel6" / "bin" / "python"}

BUTTON = """
import ipywidgets
from IPython.display import display
from puter_magic.notebook.waiting import can_wait, wait_until
clicks, said = [], []
button = ipywidgets.Button(description="Go")
button.on_click(lambda b: (clicks.append(1), print("handler ran")))
button.on_msg(lambda widget, content, buffers: said.append(content))
display(button)
print("can wait:", can_wait(), flush=True)
"""


class Frontend:
    """A frontend on one kernel: sends requests, keeps every message it gets, by parent."""

    def __init__(self, manager: Any, client: Any) -> None:
        self.manager = manager
        self.client = client
        self.iopub: list[dict[str, Any]] = []
        self.replies: dict[str, dict[str, Any]] = {}
        self.reply_order: list[str] = []

    def execute(self, code: str, *, allow_stdin: bool = True) -> str:
        return str(self.client.execute(textwrap.dedent(code), allow_stdin=allow_stdin))

    def send_comm(self, comm_id: str, data: dict[str, Any]) -> str:
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def see(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict[str, Any]:
        """The first iopub message (seen before or arriving within *timeout*) that *wanted* likes."""
        for msg in self.iopub:
            if wanted(msg):
                return msg
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            self.iopub.append(msg)
            if wanted(msg):
                return msg
        raise AssertionError(f"not seen in {timeout} s; iopub: {[m['msg_type'] for m in self.iopub]}")

    def reply(self, msg_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while msg_id not in self.replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no reply to {msg_id} in {timeout} s; got {self.reply_order}")
            self._next_reply(min(left, 1))
        return self.replies[msg_id]

    def listen(self, seconds: float) -> None:
        """Take the replies that come in the next *seconds*."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._next_reply(left)

    def _next_reply(self, timeout: float) -> None:
        try:
            msg = self.client.get_shell_msg(timeout=timeout)
        except queue.Empty:
            return
        parent = msg["parent_header"]["msg_id"]
        self.replies[parent] = msg["content"]
        self.reply_order.append(parent)

    def idle(self, msg_id: str) -> None:
        self.see(
            lambda m: (
                _parent(m) == msg_id
                and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"
            )
        )

    def outputs(self, msg_id: str) -> str:
        """What the cell *msg_id* printed and returned, once it is idle."""
        self.idle(msg_id)
        text = []
        for m in self.iopub:
            if _parent(m) != msg_id:
                continue
            if m["msg_type"] == "stream":
                text.append(m["content"]["text"])
            elif m["msg_type"] == "execute_result":
                text.append(m["content"]["data"]["text/plain"] + "\n")
            elif m["msg_type"] == "error":
                text.append(f"{m['content']['ename']}\n")
        return "".join(text)

    def printed(self, msg_id: str, text: str) -> None:
        """Wait until the cell *msg_id* has printed *text*."""
        self.see(
            lambda m: _parent(m) == msg_id and m["msg_type"] == "stream" and text in m["content"]["text"]
        )

    def button_id(self, msg_id: str) -> str:
        """The comm id of the Button the cell *msg_id* opened."""
        opened = self.see(
            lambda m: (
                _parent(m) == msg_id
                and m["msg_type"] == "comm_open"
                and m["content"]["data"].get("state", {}).get("_model_name") == "ButtonModel"
            )
        )
        return str(opened["content"]["comm_id"])

    def click(self, comm_id: str) -> str:
        return self.send_comm(comm_id, {"method": "custom", "content": {"event": "click"}})


def _parent(msg: dict[str, Any]) -> str | None:
    return msg.get("parent_header", {}).get("msg_id")


@pytest.fixture(params=["7", "6"], ids=["ipykernel7", "ipykernel6"])
def frontend(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Frontend]:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    major: str = request.param
    python = PYTHONS[major]
    if not python.exists():
        message = f"{python} is missing: bash .ci/setup creates it (the kernel on ipykernel {major})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    spec = tmp_path / "kernels" / "waiting"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "w", "language": "python"}))
    manager = KernelManager(
        kernel_name="waiting", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)])
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUTER_")}
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    env["PUTER_MAGIC_CONFIG_DIR"] = str(tmp_path / "config")
    manager.start_kernel(env=env, cwd=str(tmp_path))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        front = Frontend(manager, client)
        check = front.execute("import ipykernel; print(ipykernel.__version__.split('.')[0])")
        assert front.outputs(check) == f"{major}\n", "the kernel runs the wrong ipykernel"
        front.reply(check)
        yield front
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_run_all_waits_for_the_click_then_runs_the_queued_cells_in_order(frontend: Frontend) -> None:
    waiting = frontend.execute(BUTTON + "print('result:', wait_until(lambda: bool(clicks), 60))")
    button = frontend.button_id(waiting)
    frontend.printed(waiting, "can wait: True")
    second = frontend.execute("print('second')")
    third = frontend.execute("print('third'); 3")
    frontend.listen(1.0)  # the queued cells reach the kernel, which holds them while it waits
    assert second not in frontend.replies and third not in frontend.replies
    click = frontend.click(button)

    assert frontend.reply(waiting)["status"] == "ok"
    assert frontend.outputs(waiting) == "can wait: True\nresult: done\n"
    # The handler's output belongs to the click, not to the waiting cell.
    frontend.see(
        lambda m: (
            _parent(m) == click and m["msg_type"] == "stream" and m["content"]["text"] == "handler ran\n"
        )
    )
    count = frontend.replies[waiting]["execution_count"]
    reply = frontend.reply(second)
    assert (reply["status"], reply["execution_count"]) == ("ok", count + 1)
    assert frontend.reply(third)["execution_count"] == count + 2
    assert frontend.outputs(second) == "second\n"
    assert frontend.outputs(third) == "third\n3\n"
    assert frontend.reply_order[-3:] == [waiting, second, third]
    inputs = [m["content"]["execution_count"] for m in frontend.iopub if m["msg_type"] == "execute_input"]
    assert inputs[-3:] == [count, count + 1, count + 2]


def test_an_async_cell_waits_too(frontend: Frontend) -> None:
    """A cell with a top-level await runs as a coroutine in the kernel's loop; it can wait as well."""
    waiting = frontend.execute(
        "import asyncio\nawait asyncio.sleep(0.01)\n"
        + BUTTON
        + "print('result:', wait_until(lambda: bool(clicks), 60))"
    )
    button = frontend.button_id(waiting)
    second = frontend.execute("print('second')")
    frontend.listen(1.0)
    assert second not in frontend.replies
    frontend.click(button)

    assert frontend.outputs(waiting) == "can wait: True\nresult: done\n"
    assert frontend.outputs(second) == "second\n"
    assert [frontend.reply(i)["status"] for i in (waiting, second)] == ["ok", "ok"]
    assert frontend.reply_order[-2:] == [waiting, second]


def test_a_short_wait_then_a_long_one_keeps_the_queued_cells_in_order(frontend: Frontend) -> None:
    """The widget's "I rendered" message ends the first wait; the click ends the second."""
    waiting = frontend.execute(
        BUTTON
        + "print('rendered:', wait_until(lambda: bool(said), 30), said, flush=True)\n"
        + "print('result:', wait_until(lambda: bool(clicks), 60))"
    )
    button = frontend.button_id(waiting)
    second = frontend.execute("print('second')")
    frontend.send_comm(button, {"method": "custom", "content": {"rendered": True}})
    frontend.printed(waiting, "rendered: done [{'rendered': True}]")
    third = frontend.execute("print('third')")
    frontend.listen(1.0)
    assert second not in frontend.replies and third not in frontend.replies
    frontend.click(button)

    assert frontend.outputs(waiting).endswith("result: done\n")
    assert frontend.outputs(second) == "second\n"
    assert frontend.outputs(third) == "third\n"
    assert [frontend.reply(i)["status"] for i in (waiting, second, third)] == ["ok"] * 3
    assert frontend.reply_order[-3:] == [waiting, second, third]


def test_no_click_ends_at_the_timeout_and_the_queued_cell_runs(frontend: Frontend) -> None:
    waiting = frontend.execute(BUTTON + "print('result:', wait_until(lambda: bool(clicks), 1.5))")
    frontend.button_id(waiting)
    second = frontend.execute("print('second')")

    assert frontend.outputs(waiting) == "can wait: True\nresult: timeout\n"
    assert frontend.reply(second)["status"] == "ok"
    assert frontend.outputs(second) == "second\n"


def test_the_stop_button_ends_the_wait_and_the_queue_gets_its_replies(frontend: Frontend) -> None:
    waiting = frontend.execute(BUTTON + "print('result:', wait_until(lambda: bool(clicks), 120))")
    frontend.printed(waiting, "can wait: True")
    second = frontend.execute("print('second')")
    time.sleep(0.5)
    frontend.manager.interrupt_kernel()

    reply = frontend.reply(waiting)
    assert (reply["status"], reply["ename"]) == ("error", "KeyboardInterrupt")
    # As after any interrupted cell: Run All's queued cell is aborted, with its reply.
    assert frontend.reply(second)["status"] == "aborted"
    # The kernel is well: the next cell runs. (ipykernel 6 goes on aborting for one turn of its loop
    # after the error reply, so a cell sent at once may be aborted too; it says so in its reply.)
    for _ in range(10):
        later = frontend.execute("print('later', clicks)")
        if frontend.reply(later)["status"] != "aborted":
            break
        time.sleep(0.2)
    assert frontend.outputs(later) == "later []\n"


def test_a_caught_interrupt_ends_the_wait_and_the_queued_cell_runs(frontend: Frontend) -> None:
    waiting = frontend.execute(
        BUTTON
        + textwrap.dedent("""
        try:
            wait_until(lambda: bool(clicks), 120)
        except KeyboardInterrupt:
            print("stopped")
        """)
    )
    frontend.printed(waiting, "can wait: True")
    second = frontend.execute("print('second')")
    time.sleep(0.5)
    frontend.manager.interrupt_kernel()

    assert frontend.outputs(waiting) == "can wait: True\nstopped\n"
    assert frontend.reply(second)["status"] == "ok"
    assert frontend.outputs(second) == "second\n"


def test_a_frontend_that_takes_no_input_never_waits(frontend: Frontend) -> None:
    """nbconvert, papermill and nbclient send allow_stdin false: the answer is at once."""
    cell = BUTTON + "print('result:', wait_until(lambda: bool(clicks), 600))"
    waiting = frontend.execute(cell, allow_stdin=False)
    second = frontend.execute("print('second')", allow_stdin=False)

    assert frontend.outputs(waiting) == "can wait: False\nresult: unavailable\n"
    assert frontend.outputs(second) == "second\n"


def test_nbclient_runs_a_waiting_cell_without_waiting(tmp_path: pathlib.Path) -> None:
    """What nbconvert --execute and papermill run: the cell ends at once, the notebook goes on."""
    import nbclient
    import nbformat

    cells = [BUTTON + "print('result:', wait_until(lambda: bool(clicks), 600))", "print('next')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    # Were it to wait, the 60 s cell timeout would end the run with an error.
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=60)
    client.execute(cwd=str(tmp_path))
    printed = ["".join(o.get("text", "") for o in cell.outputs) for cell in nb.cells]
    assert printed == ["can wait: False\nresult: unavailable\n", "next\n"]


@pytest.mark.parametrize("runner", [["-m", "IPython", "--no-banner", "--quick", "-c"], ["-c"]])
def test_terminal_ipython_and_plain_python_never_wait(runner: list[str], tmp_path: pathlib.Path) -> None:
    code = (
        "from puter_magic.notebook.waiting import can_wait, wait_until\n"
        "print(can_wait(), wait_until(lambda: False, 600))"
    )
    env = {**os.environ, "IPYTHONDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, *runner, code], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert done.stdout.strip() == "False unavailable", done.stderr
