"""Record and replay: a teacher records once and replays in class with no network."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic import ModelNotFound, PuterClient, UsageLimited
from puter_magic.api.chunks import TextChunk
from puter_magic.api.errors import ReplayMiss
from puter_magic.api.protocol import BinaryResult
from puter_magic.api.recording import request_key
from puter_magic.sandbox import Fault, Sandbox

from .shell import magics_of, run


def test_key_is_canonical() -> None:
    a = {"interface": "i", "driver": "d", "method": "m", "args": {"b": 1, "a": [1, {"y": 2, "x": 1}]}}
    b = {"method": "m", "args": {"a": [1, {"x": 1, "y": 2}], "b": 1}, "driver": "d", "interface": "i"}
    assert request_key(a) == request_key(b)
    assert request_key(a) != request_key({**a, "args": {"b": 2}})


def test_python_record_then_replay_with_the_server_stopped(tmp_path: Path) -> None:
    path = tmp_path / "lesson.jsonl"
    with Sandbox(pace=0.01) as sandbox:
        client = PuterClient(sandbox.origin, sandbox.token, record=path)
        whole = client.chat("What is a list?", model="sandbox-tutor")
        stream = client.chat_stream("What is a dict?", model="sandbox-tutor")
        streamed = stream.reply()
        models = [m.id for m in client.models()]
        audio = client.call("puter-tts", "synthesize", {"text": "hi"})
        with pytest.raises(ModelNotFound):
            client.chat("x", model="no-such-model")
        sandbox.inject(Fault.error(402, "insufficient_funds", "No usage left"))
        with pytest.raises(UsageLimited):
            client.chat("y", model="fake")
        token = sandbox.token
    text = path.read_text()
    assert token not in text and "Authorization" not in text and "Bearer" not in text
    assert len(text.splitlines()) == 6

    replay = PuterClient(
        "http://127.0.0.1:9", None, replay=path, replay_pace="original"
    )  # nothing listens there
    assert replay.chat("What is a list?", model="sandbox-tutor").text == whole.text
    started = time.monotonic()
    chunks = list(replay.chat_stream("What is a dict?", model="sandbox-tutor"))
    paced = time.monotonic() - started
    assert "".join(c.text for c in chunks if isinstance(c, TextChunk)) == streamed.text
    assert len([c for c in chunks if isinstance(c, TextChunk)]) > 50  # chunk by chunk
    assert paced >= 0.5  # the original pace (about 0.01 s a chunk)
    assert [m.id for m in replay.models()] == models
    replayed_audio = replay.call("puter-tts", "synthesize", {"text": "hi"})
    assert isinstance(replayed_audio, BinaryResult) and replayed_audio.content == audio.content
    with pytest.raises(ModelNotFound):
        replay.chat("x", model="no-such-model")
    with pytest.raises(UsageLimited):
        replay.chat("y", model="fake")

    fast = PuterClient("http://127.0.0.1:9", None, replay=path, replay_pace="fast")
    started = time.monotonic()
    assert fast.chat_stream("What is a dict?", model="sandbox-tutor").reply().text == streamed.text
    assert time.monotonic() - started < paced / 2


def test_a_miss_names_what_differed_and_fallthrough_asks_the_network(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with Sandbox() as sandbox:
        PuterClient(sandbox.origin, sandbox.token, record=path).chat("What is a list?", model="sandbox-tutor")
        replay = PuterClient(sandbox.origin, sandbox.token, replay=path)
        with pytest.raises(ReplayMiss) as info:
            replay.chat("What is a tuple?", model="sandbox-tutor")
        assert "args.messages[0].content" in info.value.message and "What is a tuple?" in info.value.message
        with pytest.raises(
            ReplayMiss, match=r"args\.model: recorded \"sandbox-tutor\", now \"sandbox-echo\""
        ):
            replay.chat("What is a list?", model="sandbox-echo")
        assert sandbox.calls() == sandbox.calls()[:1]  # nothing was sent for the misses
        through = PuterClient(sandbox.origin, sandbox.token, replay=path, fallthrough=True)
        assert through.chat("What is a tuple?", model="sandbox-echo").text == "What is a tuple?"
        assert len(sandbox.calls()) == 2


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
