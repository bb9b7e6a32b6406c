"""An IPython shell for tests: the singleton (so display output is captured), history off."""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output
from traitlets.config import Config


@pytest.fixture
def ip() -> Iterator[InteractiveShell]:
    config = Config()
    config.HistoryAccessor.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "puter_magic")
    magics = shell.magics_manager.registry["PuterMagics"]
    magics.rich_output = True
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "puter_magic")
        InteractiveShell.clear_instance()
        # Each shell registers its cleanup to run at exit (history, temp files); hundreds of
        # them made the run take minutes to exit after its summary. This shell is done now.
        atexit.unregister(shell.atexit_operations)


def magics_of(shell: InteractiveShell) -> Any:
    return shell.magics_manager.registry["PuterMagics"]


def signed_in_to(shell: InteractiveShell, sandbox: Any) -> Any:
    """Sign *shell* in to *sandbox* (one a test started with its own pace) the way
    ``%puter_login --sandbox`` does, its own in-kernel sandbox stopped; the magics."""
    run(shell, "%puter_login --sandbox")
    magics = magics_of(shell)
    magics.session.sandbox.stop()
    magics.session.sandbox = sandbox
    magics.session.sign_in(sandbox.origin, sandbox.token)
    return magics


def final_outputs(captured: CapturedIO) -> list[dict[str, Any]]:
    """The outputs a notebook would end up showing: updates folded into their display."""
    shown: list[dict[str, Any]] = []
    by_id: dict[str, int] = {}
    for out in captured._outputs:
        display_id = (out.get("transient") or {}).get("display_id")
        if out.get("update") and display_id in by_id:
            shown[by_id[display_id]] = out
            continue
        if display_id:
            by_id[display_id] = len(shown)
        shown.append(out)
    return [o["data"] for o in shown]


def run(
    shell: InteractiveShell, source: str, *, cell_id: str | None = None
) -> tuple[list[dict[str, Any]], Any]:
    """Run a cell as a frontend would; return its final outputs and the result."""
    with capture_output() as captured:
        result = shell.run_cell(source, cell_id=cell_id)
    outputs = final_outputs(captured)
    if captured.stdout:
        outputs.append({"stdout": captured.stdout})
    return outputs, result


@pytest.fixture
def signed_in(ip: InteractiveShell, sandbox: Any) -> InteractiveShell:
    """A shell signed in to the shared sandbox (via $PUTER_AUTH_TOKEN), tutor as model."""
    import os

    os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
    _, result = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert result.success, result.error_in_exec
    magics_of(ip).default_model = "sandbox-tutor"
    sandbox.clear()
    return ip
