"""Record and replay (:mod:`puter_magic.api.recording`) from plain Python: the file, the keys, a
miss, the pace, and replies of every kind replayed as they came."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from puter_magic import ModelNotFound, PuterClient, UsageLimited
from puter_magic.api.chunks import ResultChunk, TextChunk
from puter_magic.api.errors import ReplayMiss
from puter_magic.api.protocol import BinaryResult
from puter_magic.api.recording import Mode, Tape, request_key
from puter_magic.sandbox import Fault, Sandbox


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


def test_a_recorded_result_chunk_replays(sandbox: Sandbox, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "rec.jsonl"
    with PuterClient(sandbox.origin, sandbox.token, record=path) as recorder:
        recorded = list(recorder.stream("puter-chat-completion", "models"))
    with PuterClient(sandbox.origin, replay=path) as player:
        replayed = list(player.stream("puter-chat-completion", "models"))
    assert isinstance(replayed[0], ResultChunk) and replayed == recorded


def test_replay_at_the_original_pace_waits_for_the_first_line(tmp_path: object) -> None:
    import time
    from pathlib import Path

    from puter_magic.api.chunks import TextChunk

    path = Path(str(tmp_path)) / "slow-start.jsonl"
    with Sandbox(think_time=0.6) as sandbox:  # the reply starts 0.6 s after the request
        client = PuterClient(sandbox.origin, sandbox.token, record=path)
        started = time.monotonic()
        stream = client.chat_stream("Take your time", model="sandbox-tutor")
        first = next(c for c in stream if isinstance(c, TextChunk))
        original = time.monotonic() - started
        stream.reply()
    assert first.text and original >= 0.55
    replay = PuterClient("http://127.0.0.1:9", None, replay=path, replay_pace="original")
    started = time.monotonic()
    stream = replay.chat_stream("Take your time", model="sandbox-tutor")
    next(c for c in stream if isinstance(c, TextChunk))
    assert time.monotonic() - started >= 0.5  # as long as the original took to start
    fast = PuterClient("http://127.0.0.1:9", None, replay=path, replay_pace="fast")
    started = time.monotonic()
    fast.chat_stream("Take your time", model="sandbox-tutor").reply()
    assert time.monotonic() - started < 0.3


def test_recording_keys_tell_service_apart() -> None:
    import hashlib

    from puter_magic.api.recording import request_key

    plain = {"interface": "i", "method": "m", "args": {}}
    assert request_key(plain) != request_key({**plain, "service": "fake-chat"})
    # A request without `service` keeps the key it had, so older recordings still replay.
    old = json.dumps(
        {"interface": "i", "driver": None, "method": "m", "args": {}}, sort_keys=True, separators=(",", ":")
    )
    assert request_key(plain) == hashlib.sha256(old.encode()).hexdigest()


def test_the_mode_is_one_enum_and_a_string_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"Mode\.RECORD or Mode\.REPLAY"):
        Tape(tmp_path / "x.jsonl", "record")  # the mode is compared nowhere as a string
    tape = Tape(tmp_path / "x.jsonl", Mode.RECORD)
    assert tape.mode is Mode.RECORD and tape.recording and not tape.replaying
    assert Tape(tmp_path / "x.jsonl", Mode.REPLAY).replaying
    assert "record=" in repr(PuterClient("http://127.0.0.1:9", record=tmp_path / "y.jsonl"))
