"""%puter_record and %puter_replay: a teacher records once and replays in class with no network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from ..shell import magics_of, run


def test_notebook_record_and_replay_gives_the_same_outputs(ip: InteractiveShell, tmp_path: Path) -> None:
    path = tmp_path / "class.jsonl"
    cells = [
        "%%puter\nWhat is a variable?",
        "%%puter\nAnd a constant?",
        "%%puter -m no-such-model\nHi",
        "%%puter --no-stream -m sandbox-tutor-lite\nSummarise",
    ]
    run(ip, "%puter_login --sandbox")
    outputs, _ = run(ip, f"%puter_record {path}")
    assert "Recording to" in outputs[0]["text/plain"]
    recorded = [run(ip, c)[0] for c in cells]
    outputs, _ = run(ip, "%puter_record --off")
    assert "4 exchanges" in outputs[0]["text/plain"]
    token = magics_of(ip).session.sandbox.token
    assert token not in path.read_text()
    run(ip, "%puter_logout")  # stops the sandbox: from here on there is no server at all
    run(ip, "%puter_reset --all")
    run(ip, "%puter_usage --reset")
    magics_of(ip).default_model = ""
    outputs, _ = run(ip, f"%puter_replay {path} --fast")
    assert "Default model: sandbox-tutor" in outputs[0]["text/plain"]
    replayed = [run(ip, c)[0] for c in cells]

    def body(outs: list[dict[str, str]]) -> list[str]:
        return [o.get("text/markdown", o.get("text/plain", "")).split("<span")[0] for o in outs]

    assert [body(o) for o in replayed] == [body(o) for o in recorded]
    assert "Model not found" in replayed[2][0]["text/html"]
    assert "replayed from class.jsonl: nothing was spent" in replayed[0][0]["text/plain"]
    assert magics_of(ip).session.meter.models == {}  # a replay is not usage
    outputs, _ = run(ip, "%%puter\nSomething never recorded")
    assert "Not in the recording" in outputs[0]["text/html"] and "args.messages" in outputs[0]["text/plain"]
    outputs, _ = run(ip, "%puter_replay --off")
    assert "Replay stopped" in outputs[0]["text/plain"]
    outputs, _ = run(ip, "%%puter\nHello?")
    assert "Not signed in" in outputs[0]["text/html"]


def test_replay_usage_errors(ip: InteractiveShell, tmp_path: Path) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="needs a FILE"):
        ip.run_line_magic("puter_replay", "")
    with pytest.raises(UsageError, match="cannot read"):
        ip.run_line_magic("puter_replay", str(tmp_path / "missing.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"not": "a recording"}) + "\n")
    with pytest.raises(UsageError, match="not a puter-magic recording"):
        ip.run_line_magic("puter_replay", str(bad))
