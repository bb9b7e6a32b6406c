"""Which of the package's modules one cell passes through, traced at run time.

    .venv/bin/python bench/trace_cell.py

Runs a plain ``%%puter`` cell and a ``%%puter --tools`` cell against the sandbox in an
IPython shell, with a profile hook on every thread, and prints for each: how many modules of
``puter_magic`` ran code, and how many crossings there are between the ``api`` and ``notebook``
wings: distinct pairs (calling function, called function) with the two in different wings. Counts, not
times: the same on any machine, so they can be compared before and after a change. The
sandbox's own modules (it is the server) and the extension's loading are left out.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

PLAIN = "%%puter -m sandbox-tutor\nWhat is a list comprehension?"
TOOLS = "%%puter --tools square -m sandbox-agent\nWhat is the square of 12?"


def square(n: int) -> int:
    """The square of n."""
    return n * n


def wing(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "puter_magic" or (len(parts) > 1 and parts[1] == "sandbox"):
        return None
    return parts[1] if len(parts) > 2 else "root"


class Trace:
    def __init__(self) -> None:
        self.modules: set[str] = set()
        self.edges: set[tuple[str, str]] = set()
        self.lock = threading.Lock()

    def hook(self, frame: FrameType, event: str, arg: Any) -> None:
        if event not in ("call", "return"):
            return
        module = frame.f_globals.get("__name__", "")
        side = wing(module)
        if side is None:
            return
        caller = frame.f_back
        other = wing(caller.f_globals.get("__name__", "")) if caller is not None else None
        with self.lock:
            self.modules.add(module)
            if event == "call" and other is not None and {side, other} == {"api", "notebook"}:
                here = f"{module}.{frame.f_code.co_qualname}"
                self.edges.add((f"{caller.f_globals['__name__']}.{caller.f_code.co_qualname}", here))

    def run(self, action: Callable[[], object]) -> None:
        threading.setprofile(self.hook)
        sys.setprofile(self.hook)
        try:
            action()
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]


def main() -> int:
    config = Config()
    config.HistoryAccessor.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "puter_magic")
    shell.push({"square": square})
    with capture_output():
        shell.run_line_magic("puter_login", "--sandbox")
        shell.run_cell(PLAIN)  # warm: first-use imports are not the cell's path
        shell.run_cell(TOOLS)
    for name, cell in (("plain %%puter cell", PLAIN), ("%%puter --tools cell", TOOLS)):
        trace = Trace()
        with capture_output() as captured:
            trace.run(lambda cell=cell: shell.run_cell(cell))
        assert "Traceback" not in captured.stdout, captured.stdout
        print(f"{name}: {len(trace.modules)} modules, {len(trace.edges)} crossings between api and notebook")
        for module in sorted(trace.modules):
            print(f"    {module}")
    with capture_output():
        shell.run_line_magic("puter_logout", "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
