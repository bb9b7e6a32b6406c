"""Smaller things a first user saw: each through the interface they used."""

from __future__ import annotations

import pytest

from puter_magic import MalformedResponse, PuterClient
from puter_magic.sandbox import Sandbox

# -- stream() of a method that does not stream ------------------------------------------------


def test_stream_of_a_method_that_does_not_stream_gives_its_result(client: PuterClient) -> None:
    from puter_magic.stream import ResultChunk

    chunks = list(client.stream("puter-chat-completion", "list"))
    assert len(chunks) == 1 and isinstance(chunks[0], ResultChunk)
    assert "sandbox-tutor" in chunks[0].result and chunks[0].type == "result"
    assert repr(chunks[0]) == f"ResultChunk(list of {len(chunks[0].result)} items)"  # bounded


def test_chat_stream_of_something_that_is_not_a_chat_reply_still_raises(
    client: PuterClient, sandbox: Sandbox
) -> None:
    from puter_magic.sandbox import Fault

    sandbox.inject(Fault.raw({"success": True, "result": ["not", "a", "chat"]}))
    with pytest.raises(MalformedResponse, match="not a chat reply"):
        client.chat_stream("hi", model="sandbox-tutor").reply()


def test_a_recorded_result_chunk_replays(sandbox: Sandbox, tmp_path: object) -> None:
    from pathlib import Path

    from puter_magic.stream import ResultChunk

    path = Path(str(tmp_path)) / "rec.jsonl"
    with PuterClient(sandbox.origin, sandbox.token, record=path) as recorder:
        recorded = list(recorder.stream("puter-chat-completion", "models"))
    with PuterClient(sandbox.origin, replay=path) as player:
        replayed = list(player.stream("puter-chat-completion", "models"))
    assert isinstance(replayed[0], ResultChunk) and replayed == recorded
