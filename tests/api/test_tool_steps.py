"""Every call the model asks for runs: Puter passes only the last of several streamed tool
calls on (recorded: ollama-tools-two-calls-stream.json), so a step that may ask for calls is
asked whole, and a streamed step that asks for calls anyway is asked again whole. With
``response.normalize`` a call's ``input`` arrives as a JSON string: it is read as an object."""

from __future__ import annotations

from typing import Any

import pytest

from puter_magic import PuterClient
from puter_magic.api.chat import ChatStream, chat_reply
from puter_magic.sandbox import Sandbox

from ..recorded_puter import STUB, RecordedPuter, recorded

ran: list[str] = []


def get_weather(city: str) -> dict[str, Any]:
    """Weather for a city."""
    ran.append(city)
    return {"city": city, "temp_c": {"Paris": 18, "Oslo": 7}.get(city, 20)}


@pytest.fixture(autouse=True)
def _fresh() -> None:
    ran.clear()


def test_the_recorded_stream_carries_only_the_last_call() -> None:
    lines = recorded("ollama-tools-two-calls-stream.json")["ndjson_lines"]
    assert [line["input"] for line in lines if line["type"] == "tool_use"] == [{"city": "Oslo"}]
    whole = chat_reply(recorded("ollama-tools-two-calls-complete.json")["body"]["result"])
    assert len(whole.tool_calls) == 2


@pytest.mark.parametrize("streamed", [False, True])
def test_two_calls_asked_at_once_both_run(recorded_puter: RecordedPuter, streamed: bool) -> None:
    with PuterClient(recorded_puter.origin, "recorded-token") as client:
        if streamed:
            reply = client.chat_stream("two calls please", model=STUB, tools=[get_weather]).reply()
        else:
            reply = client.chat("two calls please", model=STUB, tools=[get_weather])
    assert ran == ["Paris", "Oslo"]
    assert [c.arguments for c in reply.calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert "Paris" in reply.text and "Oslo" in reply.text  # both results went back
    asked = [c["args"].get("stream", False) for c in recorded_puter.completes()]
    assert asked == ([False, True] if streamed else [False, False])  # the answer still streams


def test_a_streamed_step_that_asks_for_calls_is_asked_again_whole(
    sandbox: Sandbox, client: PuterClient
) -> None:
    stream = client.chat_stream(
        "one at a time: get_weather city=Paris and get_weather city=Oslo",
        model="sandbox-agent",
        tools=[get_weather],
    )
    kinds = [chunk.type for chunk in stream]
    reply = stream.reply()
    assert ran == ["Paris", "Oslo"] and [c.status for c in reply.calls] == ["ok", "ok"]
    # whole (1st call), streamed (asks the 2nd: not run), whole again (runs it), streamed answer
    assert [r.args.get("stream", False) for r in sandbox.calls("complete")] == [False, True, False, True]
    assert reply.steps == 4 and kinds.count("tool_use") == 2  # a streamed step's calls are held back
    assert "Oslo" in reply.text


def test_normalize_gives_input_as_a_json_string_read_as_an_object(recorded_puter: RecordedPuter) -> None:
    raw = recorded("ollama-tools-normalize.json")["body"]["result"]["message"]["content"][0]
    assert raw["input"] == '{"city": "Paris"}'  # as Puter sends it
    definition = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    with PuterClient(recorded_puter.origin, "recorded-token") as client:
        reply = client.chat(
            "What is the weather in Paris?", model=STUB, tools=[definition], response={"normalize": True}
        )
        assert reply.normalized and reply.tool_calls[0]["input"] == {"city": "Paris"}
        looped = client.chat(
            "What is the weather in Paris?", model=STUB, tools=[get_weather], response={"normalize": True}
        )
    assert ran == ["Paris"] and looped.calls[0].arguments == {"city": "Paris"}
    assert "Stub answer" in looped.text


def test_a_whole_reply_as_a_stream_keeps_arguments_as_sent() -> None:
    reply = chat_reply(
        {
            "message": {
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
                ],
            }
        }
    )
    stream = ChatStream.of_reply(reply)
    assert [chunk.type for chunk in stream] == ["tool_use", "usage"]
    from puter_magic.api.toolloop import calls_in

    [call] = calls_in(stream)
    assert call.problem is not None and "not valid JSON" in call.problem  # answered as an error, never run
