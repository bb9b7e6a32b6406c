"""Smaller things a first user saw: each through the interface they used."""

from __future__ import annotations

import pytest

from puter_magic import MalformedResponse, PuterClient
from puter_magic.sandbox import Sandbox

# -- stream() of a method that does not stream ------------------------------------------------


def test_stream_of_a_method_that_does_not_stream_gives_its_result(client: PuterClient) -> None:
    from puter_magic.api.chunks import ResultChunk

    chunks = list(client.stream("puter-chat-completion", "list"))
    assert len(chunks) == 1 and isinstance(chunks[0], ResultChunk)
    assert "sandbox-tutor" in chunks[0].result and chunks[0].type == "result"
    assert repr(chunks[0]).startswith("ResultChunk(result=['abuse', 'costly', ")  # a preview,
    assert len(repr(chunks[0])) < 200  # bounded


def test_chat_stream_of_something_that_is_not_a_chat_reply_still_raises(
    client: PuterClient, sandbox: Sandbox
) -> None:
    from puter_magic.sandbox import Fault

    sandbox.inject(Fault.raw({"success": True, "result": ["not", "a", "chat"]}))
    with pytest.raises(MalformedResponse, match="not a chat reply"):
        client.chat_stream("hi", model="sandbox-tutor").reply()


def test_a_recorded_result_chunk_replays(sandbox: Sandbox, tmp_path: object) -> None:
    from pathlib import Path

    from puter_magic.api.chunks import ResultChunk

    path = Path(str(tmp_path)) / "rec.jsonl"
    with PuterClient(sandbox.origin, sandbox.token, record=path) as recorder:
        recorded = list(recorder.stream("puter-chat-completion", "models"))
    with PuterClient(sandbox.origin, replay=path) as player:
        replayed = list(player.stream("puter-chat-completion", "models"))
    assert isinstance(replayed[0], ResultChunk) and replayed == recorded


# -- replay at the original pace waits as long as the reply took to start ----------------------


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
