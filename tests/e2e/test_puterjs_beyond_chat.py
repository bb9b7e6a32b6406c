"""The real puter.js SDK (2.6.3) against the sandbox, for what goes beyond plain chat: what
it sends for reasoning effort, verbosity, web search, voices, the voice changer and video is
what PuterClient sends, and it reads the sandbox's replies (metering, citations) as Puter's."""

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

pytestmark = pytest.mark.slow


def _node() -> str:
    node = shutil.which("node")
    if node is None or not SDK.exists():
        message = "node or puter.js is missing: install Node 20 and run `npm ci --prefix tests/js`"
        if os.environ.get("CI"):
            pytest.fail(message + " (.ci/setup does this)")
        pytest.skip(message)
    assert json.loads(SDK.read_text())["version"] == "2.6.3"
    return node


def _sent(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """The args of each driver call the sandbox received, by method (the chat ones by model)."""
    out = {}
    for call in sandbox.calls():
        args = {k: v for k, v in call.args.items() if k not in ("messages", "auth_token")}
        key = call.body["method"] if call.body["method"] != "complete" else args["model"]
        out[key] = args
    return out


def test_puterjs_and_puterclient_send_the_same_and_read_the_same() -> None:
    with Sandbox() as sandbox:
        proc = subprocess.run(
            [_node(), str(JS / "beyond.cjs"), sandbox.origin, sandbox.token],
            capture_output=True,
            text=True,
            timeout=90,
            cwd=JS,
        )
        assert proc.returncode == 0, proc.stderr
        steps = {row["step"]: row for row in map(json.loads, proc.stdout.splitlines())}
        by_puterjs = _sent(sandbox)
    assert all("error" not in row for row in steps.values()), steps
    info = steps["usage"]["value"]["allowanceInfo"]  # puter.auth.getMonthlyUsage()
    assert (info["monthUsageAllowance"], info["remaining"]) == (50_000_000, 50_000_000)
    assert "Reasoning effort: high. Verbosity: low." in steps["effort"]["value"]
    assert steps["web"]["value"][0]["url_citation"]["url"].startswith("https://")
    assert [v["id"] for v in steps["voices"]["value"]] == ["alto", "bass"]

    with Sandbox() as sandbox, PuterClient(sandbox.origin, sandbox.token) as client:
        assert client.allowance().remaining == info["remaining"]
        client.chat("effort please", "sandbox-tutor-lite", reasoning_effort="high", verbosity="low")
        reply = client.chat("list comprehensions", "sandbox-searcher", web_search=True)
        client.voices(provider="sandbox")
        client.speech2speech(b"RIFF\x00\x00\x00\x00WAVE", voice="bass", test_mode=True)
        client.txt2vid("a kite", test_mode=True)
        by_client = _sent(sandbox)
    assert [s.url for s in reply.sources] == [a["url_citation"]["url"] for a in steps["web"]["value"]]
    for key in ("sandbox-tutor-lite", "sandbox-searcher", "list_voices", "generate"):
        assert by_client[key] == by_puterjs[key], key
    convert_js, convert_py = by_puterjs["convert"], by_client["convert"]
    assert (convert_py["voice"], convert_py["test_mode"]) == (convert_js["voice"], convert_js["test_mode"])
    assert convert_py["audio"].startswith("data:audio/wav;base64,")
