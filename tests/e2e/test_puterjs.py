"""The real puter.js SDK (2.6.3, pinned in tests/js/package.json), run in Node against the sandbox.

It reads OpenAI-shaped replies (what `normalize` gives) as text, and fails on list-shaped
(native) content with "Cannot convert object to primitive value" as it does against a real
server, so the sandbox must answer `normalize` as newer servers do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from puter_magic import PuterClient
from puter_magic.sandbox import Sandbox

JS = Path(__file__).resolve().parent.parent / "js"
SDK = JS / "node_modules" / "@heyputer" / "puter.js" / "package.json"
PROMPT = "Hello from puter.js"

pytestmark = pytest.mark.slow  # Node and the real SDK: an end-to-end run


def _node() -> str:
    node = shutil.which("node")
    if node is None or not SDK.exists():
        missing = "node" if node is None else "puter.js"
        message = f"{missing} is missing: install Node 20 and run `npm ci --prefix tests/js`"
        if os.environ.get("CI"):
            pytest.fail(message + " (.ci/setup does this)")
        pytest.skip(message)
    assert json.loads(SDK.read_text())["version"] == "2.6.3"
    return node


def _run_puterjs(sandbox: Sandbox, *specs: str) -> dict[str, dict[str, Any]]:
    proc = subprocess.run(
        [_node(), str(JS / "chat.cjs"), sandbox.origin, sandbox.token, *specs],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=JS,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return {
        row["model"] + ("" if row["normalize"] is None else f":{row['normalize']}".lower()): row
        for row in rows
    }


def test_puterjs_reads_what_the_sandbox_answers(sandbox: Sandbox) -> None:
    with PuterClient(sandbox.origin, sandbox.token) as client:
        expected = {
            m: client.chat(PROMPT, model=m).text
            for m in ("sandbox-tutor", "sandbox-thinker", "sandbox-tutor-lite")
        }
    rows = _run_puterjs(
        sandbox,
        "sandbox-tutor:true",
        "sandbox-thinker",
        "sandbox-tutor-lite",
        "sandbox-tutor",
        "sandbox-thinker:false",
    )
    # OpenAI-shaped: asked for (normalize: true), by release date, or a provider's own shape.
    forced = rows["sandbox-tutor:true"]
    assert forced.get("error") is None and forced["normalized"] is True
    assert forced["text"] == expected["sandbox-tutor"]
    by_date = rows["sandbox-thinker"]
    assert by_date["normalized"] is True and by_date["text"] == expected["sandbox-thinker"]
    assert rows["sandbox-tutor-lite"]["text"] == expected["sandbox-tutor-lite"]
    # Native, list-shaped content: the SDK hands the list back and cannot print it.
    for key in ("sandbox-tutor", "sandbox-thinker:false"):
        row = rows[key]
        assert row["error"] == "Cannot convert object to primitive value" and row["normalized"] is False
        assert any(p.get("type") == "text" for p in row["content"])
    calls = sandbox.calls("complete")
    assert [c.args.get("normalize") for c in calls[-5:]] == [True, None, None, None, False]
