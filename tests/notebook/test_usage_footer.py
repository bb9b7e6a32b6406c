"""The footer and %puter_usage count tokens in every provider's words: the shape Ollama,
OpenRouter and others report through Puter included, streamed or whole."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from ..recorded_puter import STUB, RecordedPuter
from ..shell import run


@pytest.mark.parametrize("stream", ["", " --no-stream"])
def test_the_sandboxs_local_model_in_the_footer_and_the_meter(
    signed_in: InteractiveShell, stream: str
) -> None:
    outputs, _ = run(signed_in, f"%%puter -m sandbox-local{stream}\nHello there")
    footer = outputs[0]["text/plain"]
    assert "sandbox-local · " in footer and "tokens not reported" not in footer
    outputs, _ = run(signed_in, "%puter_usage")
    row = next(line for line in outputs[0]["text/plain"].splitlines() if line.startswith("sandbox-local"))
    assert "not reported" in row  # the cost: Puter's Ollama route reports none
    assert row.split()[1:4] == ["1", "2", row.split()[3]] and int(row.split()[3]) > 0  # requests, in, out
    assert "no token counts" not in outputs[0]["text/plain"]


def test_a_recorded_ollama_reply_in_the_footer_and_the_meter(
    ip: InteractiveShell, recorded_puter: RecordedPuter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUTER_AUTH_TOKEN", "recorded-token")
    run(ip, f"%puter_login --origin {recorded_puter.origin}")
    outputs, _ = run(ip, f"%%puter -m {STUB} --no-stream\nhi, no tool")
    assert f"{STUB} · 18 tokens · " in outputs[0]["text/plain"]
    outputs, _ = run(ip, "%puter_usage")
    table = outputs[0]["text/plain"]
    row = next(line for line in table.splitlines() if line.startswith(STUB))
    assert row.split()[1:4] == ["1", "11", "7"]
    assert "18 tokens" in table.rsplit("In all:", 1)[1]
