"""Usage in every shape Puter passes on (protocol doc §14), read from real recorded replies:
whole replies and stream lines alike count their tokens."""

from __future__ import annotations

import pytest

from puter_magic import PuterClient
from puter_magic.api.usage import UsageMeter, token_counts, total_tokens
from puter_magic.sandbox import Sandbox

from ..recorded_puter import STUB, RecordedPuter, recorded


def test_a_recorded_whole_reply_in_the_compat_shape_counts_its_tokens(recorded_puter: RecordedPuter) -> None:
    with PuterClient(recorded_puter.origin, "recorded-token") as client:
        reply = client.chat("hi, no tool", model=STUB)
    assert reply.usage == {"prompt": 11, "completion": 7, "input_cache_read": 0, "usd_cents": None}
    assert reply.total_tokens == 18


def test_a_recorded_stream_in_the_compat_shape_counts_its_tokens(recorded_puter: RecordedPuter) -> None:
    turn = recorded("ollama-tools-roundtrip-project-shape-stream.json")["request"]["body"]["args"]
    with PuterClient(recorded_puter.origin, "recorded-token") as client:
        stream = client.chat_stream(turn["messages"], model=STUB, tools=turn["tools"])
        reply = stream.reply()
    assert recorded_puter.completes()[0]["args"]["stream"] is True
    assert reply.text.startswith("Stub answer.")
    assert reply.total_tokens == 18


@pytest.mark.parametrize(
    ("usage", "counts"),
    [
        (
            {"prompt": 11, "completion": 7, "input_cache_read": 4, "usd_cents": None},
            (15, 7),
        ),  # Ollama, OpenRouter
        (
            {"prompt_tokens": 20, "completion_tokens": 5, "cached_tokens": 8, "usd_cents": 0.1},
            (20, 5),
        ),  # OpenAI
        ({"input_tokens": 3, "cache_read_input_tokens": 90, "output_tokens": 9}, (93, 9)),  # Claude
        (
            {"input_tokens": 3, "ephemeral_5m_input_tokens": 40, "output_tokens": 9, "thinking_tokens": 2},
            (43, 9),
        ),
        ({"usd_cents": None}, None),  # the fake models' streams: nothing to count
    ],
)
def test_every_shape_gives_input_and_output(usage: dict[str, object], counts: tuple[int, int] | None) -> None:
    assert token_counts(usage) == counts
    meter = UsageMeter()
    meter.add("m", usage)
    entry = meter.models["m"]
    if counts is None:
        assert entry.unreported == 1 and total_tokens(usage) is None
    else:
        assert (entry.input_tokens, entry.output_tokens, entry.unreported) == (*counts, 0)
        assert total_tokens(usage) == sum(counts)


@pytest.mark.parametrize("stream", [False, True])
def test_the_sandboxs_local_model_reports_usage_as_ollama_through_puter(
    sandbox: Sandbox, stream: bool
) -> None:
    with PuterClient(sandbox.origin, sandbox.token) as client:
        if stream:
            reply = client.chat_stream("Hello there", model="sandbox-local").reply()
        else:
            reply = client.chat("Hello there", model="sandbox-local")
    assert set(reply.usage) == {"prompt", "completion", "input_cache_read", "usd_cents"}
    assert reply.usage["usd_cents"] is None and reply.usage["prompt"] == 2
    assert reply.total_tokens == 2 + reply.usage["completion"] and reply.usage["completion"] > 0
