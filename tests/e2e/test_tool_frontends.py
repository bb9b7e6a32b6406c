"""%%puter --tools where users meet it: a real Jupyter kernel, its stdin for --approve.

The in-kernel sandbox answers (``%puter_login --sandbox``): no account, no network.
"""

from __future__ import annotations

from typing import Any

import pytest

from .test_frontends import execute, kernel  # noqa: F401  (kernel: the fixture)

pytestmark = pytest.mark.slow

SETUP = '''
CALLED = []
def describe(n: int = 5) -> list:
    """The first n rows."""
    CALLED.append(n)
    return [{"row": i} for i in range(n)]
'''


def test_tools_and_approve_in_a_real_kernel(kernel: Any) -> None:  # noqa: F811
    execute(kernel, "%load_ext puter_magic")
    execute(kernel, "%puter_login --sandbox")
    execute(kernel, SETUP)

    reply, outputs = execute(kernel, "%%puter -m sandbox-agent-claude --tools describe\ndescribe n=2")
    assert reply["status"] == "ok"
    [out] = outputs
    assert out["text/plain"].startswith("called describe(n=2) → 2 rows")
    assert "<summary>called <code>describe(n=2)</code> → 2 rows</summary>" in out["text/html"]

    # --approve asks through the frontend's stdin: yes runs the call, no refuses it.
    reply, outputs = execute(
        kernel, "%%puter -m sandbox-agent --tools describe --approve\ndescribe n=3", answers=["y"]
    )
    assert reply["prompts"] == ["Run describe(n=3)? [y/N] "]
    assert outputs[-1]["text/plain"].startswith("called describe(n=3) → 3 rows")
    reply, outputs = execute(
        kernel, "%%puter -m sandbox-agent --tools describe --approve\ndescribe n=4", answers=["n"]
    )
    assert outputs[-1]["text/plain"].startswith("did not call describe(n=4) (refused: you said no)")
    reply, shown = execute(kernel, "CALLED")
    assert shown[-1]["text/plain"] == "[2, 3]"

    # A frontend that takes no input (nbconvert, papermill): refused before anything is sent.
    reply, outputs = execute(kernel, "%%puter -m sandbox-agent --tools describe --approve\ndescribe n=5")
    assert reply["status"] == "error" and reply["ename"] == "UsageError"
    assert "--approve needs a frontend that can ask you" in reply["evalue"]
    _, shown = execute(
        kernel, "len(get_ipython().magics_manager.registry['PuterMagics'].session.sandbox.calls('complete'))"
    )
    assert shown[-1]["text/plain"] == "6"  # 2 requests for each of the three cells that asked
