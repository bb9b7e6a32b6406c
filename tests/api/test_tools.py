"""Function calling from Python: schemas, both reply shapes, streamed and not, and safety."""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any, Literal, Optional

import pytest

from puter_magic import PuterClient
from puter_magic.api.toolloop import (
    ToolCall,
    ToolReply,
    ToolResultChunk,
    ToolStepLimit,
    ToolStream,
    calls_in,
    encode_result,
)
from puter_magic.api.tools import tool
from puter_magic.sandbox import Fault, Sandbox

AGENTS = ["sandbox-agent", "sandbox-agent-claude"]

CITIES = [
    {"city": "Paris", "temp": 18},
    {"city": "Oslo", "temp": 7},
    {"city": "Rome", "temp": 24},
    {"city": "Lima", "temp": 19},
]


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Spy:
    """Tools that remember how they were called."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def describe(self, n: int = 5, unit: Unit = Unit.CELSIUS) -> list[dict[str, Any]]:
        """The first rows of the cities table.

        Args:
            n: how many rows to show
            unit: the unit of the temperatures
        """
        self.calls.append(("describe", {"n": n, "unit": unit}))
        rows = CITIES[:n]
        if unit is Unit.FAHRENHEIT:
            rows = [{**r, "temp": r["temp"] * 9 / 5 + 32} for r in rows]
        return rows

    def warmest(self) -> str:
        """The warmest city."""
        self.calls.append(("warmest", {}))
        return max(CITIES, key=lambda r: r["temp"])["city"]

    def explode(self, n: int) -> int:
        """Always fails."""
        self.calls.append(("explode", {"n": n}))
        raise ValueError(f"no good: {n}")


@pytest.fixture
def spy() -> Spy:
    return Spy()


def _sent(sandbox: Sandbox) -> list[list[dict[str, Any]]]:
    return [r.args["messages"] for r in sandbox.calls("complete")]


# -- schemas ---------------------------------------------------------------------------------------


def test_schema_from_signature_hints_defaults_and_docstring() -> None:
    def search(
        query: str,
        limit: int,
        ratio: float = 0.5,
        exact: bool = False,
        tags: list[str] | None = None,
        weights: dict[str, int] | None = None,
        order: Literal["asc", "desc"] = "asc",
        unit: Optional[Unit] = None,  # noqa: UP045  (the old spelling must work too)
        note: Annotated[str, "a free note"] = "",
    ) -> list[str]:
        """Search the notes.

        More words about searching.

        Parameters
        ----------
        query : str
            what to look for
        limit : int
            at most this many
            results

        Returns
        -------
        list
        """
        return []

    spec = tool(search).definition()
    assert spec["type"] == "function"
    fn = spec["function"]
    assert fn["name"] == "search"
    assert fn["description"] == "Search the notes.\n\nMore words about searching."
    params = fn["parameters"]
    assert params["required"] == ["query", "limit"]
    assert params["additionalProperties"] is False
    props = params["properties"]
    assert props["query"] == {"type": "string", "description": "what to look for"}
    assert props["limit"] == {"type": "integer", "description": "at most this many results"}
    assert props["ratio"] == {"type": "number", "default": 0.5}
    assert props["exact"] == {"type": "boolean", "default": False}
    assert props["tags"] == {"type": ["array", "null"], "items": {"type": "string"}, "default": None}
    assert props["weights"]["additionalProperties"] == {"type": "integer"}
    assert props["order"] == {"type": "string", "enum": ["asc", "desc"], "default": "asc"}
    assert props["unit"]["type"] == ["string", "null"]
    assert props["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert props["note"]["description"] == "a free note"


def test_google_and_sphinx_docstrings() -> None:
    def google(a: int, b: str = "x") -> None:
        """Do a thing.

        Args:
            a (int): the first
                one, continued
            b: the second
        """

    def sphinx(a: int) -> None:
        """Do another thing.

        :param int a: the only one
        :returns: nothing
        """

    g = tool(google).parameters["properties"]
    assert g["a"]["description"] == "the first one, continued" and g["b"]["description"] == "the second"
    s = tool(sphinx)
    assert s.description == "Do another thing."
    assert s.parameters["properties"]["a"]["description"] == "the only one"


def test_bad_tools_are_refused_when_made() -> None:
    async def later() -> None:
        pass

    with pytest.raises(TypeError, match="async"):
        tool(later)
    with pytest.raises(ValueError, match="not a tool name"):
        tool(lambda: 1)
    with pytest.raises(TypeError):
        tool(42)  # type: ignore[arg-type]


# -- the loop, both shapes, streamed and not -----------------------------------------------------------


@pytest.mark.parametrize("model", AGENTS)
def test_loop_runs_the_call_and_answers_with_the_result(
    client: PuterClient, sandbox: Sandbox, spy: Spy, model: str
) -> None:
    reply = client.chat("Please describe n=2 unit=fahrenheit", model=model, tools=[spy.describe])
    assert isinstance(reply, ToolReply)
    assert spy.calls == [("describe", {"n": 2, "unit": Unit.FAHRENHEIT})]
    [call] = reply.calls
    assert (call.name, call.arguments, call.status) == ("describe", {"n": 2, "unit": "fahrenheit"}, "ok")
    assert call.result == [{"city": "Paris", "temp": 64.4}, {"city": "Oslo", "temp": 44.6}]
    assert call.summary() == "2 rows"
    assert '"city": "Oslo", "temp": 44.6' in reply.text and "describe(n=2" in reply.text
    assert reply.steps == 2
    first, second = sandbox.calls("complete")
    assert first.args["tools"] == [tool(spy.describe).definition()]
    sent = second.args["messages"]
    assert sent[0] == {"role": "user", "content": "Please describe n=2 unit=fahrenheit"}
    tool_use = [p for p in sent[1]["content"] if p["type"] == "tool_use"]
    assert tool_use == [
        {"type": "tool_use", "id": call.call.id, "name": "describe", "input": {"n": 2, "unit": "fahrenheit"}}
    ]
    assert sent[2] == {"role": "tool", "tool_call_id": call.call.id, "content": json.dumps(call.result)}
    tokens = "prompt_tokens" if model == "sandbox-agent" else "input_tokens"
    assert reply.usage[tokens] > 0 and reply.usage["usd_cents"] > 0  # summed over both steps


def test_usage_is_summed_over_the_steps() -> None:
    from puter_magic.api.toolloop import add_usage

    total = add_usage(
        {"input_tokens": 3, "usd_cents": None}, {"input_tokens": 4, "usd_cents": 0.5, "x": True}
    )
    assert total == {"input_tokens": 7, "usd_cents": 0.5, "x": True}


@pytest.mark.parametrize("model", AGENTS)
def test_streaming_twin_yields_calls_results_and_the_answer(
    client: PuterClient, sandbox: Sandbox, spy: Spy, model: str
) -> None:
    stream = client.chat_stream("describe n=1, then warmest", model=model, tools=[spy.describe, spy.warmest])
    assert isinstance(stream, ToolStream)
    kinds, first_usage, usage_after_calls = [], None, None
    for chunk in stream:
        kinds.append(chunk.type)
        if chunk.type == "usage" and first_usage is None:
            first_usage = chunk.usage  # type: ignore[attr-defined]
        if chunk.type == "tool_result" and usage_after_calls is None:
            usage_after_calls = stream.usage
    assert usage_after_calls == first_usage  # the first step, counted once
    assert kinds.count("tool_use") == 2 and kinds.count("tool_result") == 2
    assert kinds.index("tool_result") > max(i for i, k in enumerate(kinds) if k == "tool_use")
    assert kinds[-1] == "usage" and "text" in kinds[kinds.index("tool_result") :]
    assert [name for name, _ in spy.calls] == ["describe", "warmest"]  # several calls, in order
    reply = stream.reply()
    assert stream.usage == reply.usage and reply.usage["usd_cents"] > 0  # each step counted once
    assert [c.name for c in reply.calls] == ["describe", "warmest"]
    assert "```text\nRome\n```" in reply.text and reply.text == stream.text
    # The step that asks for calls is asked whole (a stream may carry only the last call of
    # several, see tests/api/test_tool_steps.py); the answer after the results streams.
    assert [r.args.get("stream", False) for r in sandbox.calls("complete")] == [False, True]


def test_follow_up_messages_continue_after_the_tool_turns(
    client: PuterClient, sandbox: Sandbox, spy: Spy
) -> None:
    reply = client.chat("warmest please", model="sandbox-agent-claude", tools=[spy.warmest])
    history = [
        {"role": "user", "content": "warmest please"},
        *reply.turns,
        {"role": "assistant", "content": reply.text},
    ]
    again = client.chat(
        [*history, {"role": "user", "content": "And warmest again?"}],
        model="sandbox-agent-claude",
        tools=[spy.warmest],
    )
    assert [c.call.id for c in again.calls] != [c.call.id for c in reply.calls]  # fresh ids
    assert len(spy.calls) == 2


def test_ready_made_definitions_still_pass_through(client: PuterClient, sandbox: Sandbox) -> None:
    definition = {"type": "function", "function": {"name": "describe", "parameters": {"type": "object"}}}
    reply = client.chat("describe n=3", model="sandbox-agent", tools=[definition])
    assert not isinstance(reply, ToolReply)
    assert calls_in(reply)[0].arguments == {"n": 3}
    assert len(sandbox.calls("complete")) == 1


# -- reading calls of every shape --------------------------------------------------------------------------


def test_calls_are_read_from_every_shape() -> None:
    openai = {
        "message": {
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
            ],
        },
        "finish_reason": "tool_calls",
    }
    claude = {
        "message": {
            "content": [
                {"type": "text", "text": "hm"},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
            ]
        },
        "finish_reason": "stop",
    }
    internal = {"message": {"content": [{"type": "tool_use", "id": "t2", "name": "f", "input": '{"a": 2}'}]}}
    choices = {
        "choices": [{"message": {"tool_calls": [{"id": "c3", "function": {"name": "f", "arguments": ""}}]}}]
    }
    assert [(c.id, c.arguments) for c in calls_in(openai)] == [("c1", {"a": 1})]
    assert [(c.id, c.arguments) for c in calls_in(claude)] == [("t1", {"a": 1})]
    assert [(c.id, c.arguments) for c in calls_in(internal)] == [("t2", {"a": 2})]
    assert [(c.id, c.arguments) for c in calls_in(choices)] == [("c3", {})]
    stream_line = {"id": "s1", "name": "f", "input": {"a": 1}, "extra_content": {"google": {"x": 1}}}
    [call] = calls_in([stream_line])
    assert call.as_part()["extra_content"] == {"google": {"x": 1}}  # echoed back on the call
    [bad] = calls_in([{"id": "b", "function": {"name": "f", "arguments": "{not json"}}])
    assert bad.problem and "not valid JSON" in bad.problem


# -- safety and failure (item 4) ----------------------------------------------------------------------------


def _openai_reply(*calls: tuple[str, str, Any]) -> dict[str, Any]:
    tool_calls = [
        {
            "id": i,
            "type": "function",
            "function": {"name": n, "arguments": a if isinstance(a, str) else json.dumps(a)},
        }
        for i, n, a in calls
    ]
    result = {
        "message": {"role": "assistant", "content": None, "tool_calls": tool_calls},
        "finish_reason": "tool_calls",
        "usage": {},
    }
    return {"success": True, "result": result}


def test_only_named_functions_are_ever_called(client: PuterClient, sandbox: Sandbox, spy: Spy) -> None:
    ran: list[str] = []

    def secret() -> str:
        ran.append("secret")
        return "leaked"

    globals()["secret_tool"] = secret
    sandbox.inject(
        Fault.raw(
            _openai_reply(
                ("c1", "secret_tool", {}), ("c2", "__import__", {"name": "os"}), ("c3", "print", {})
            )
        ),
        Fault.raw({"success": True, "result": {"message": {"content": "done"}}}),
    )
    reply = client.chat("go", model="sandbox-agent", tools=[spy.warmest])
    assert ran == [] and spy.calls == []
    assert [c.status for c in reply.calls] == ["unknown", "unknown", "unknown"]
    results = [m for m in _sent(sandbox)[1] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == ["c1", "c2", "c3"]
    assert all(
        m["content"].startswith("Error: there is no tool named") and "warmest" in m["content"]
        for m in results
    )
    assert reply.text == "done"


def test_arguments_are_bound_to_the_signature_and_a_mismatch_goes_back_as_an_error(
    client: PuterClient, sandbox: Sandbox, spy: Spy
) -> None:
    reply = client.chat("describe n=five", model="sandbox-agent", tools=[spy.describe])
    assert spy.calls == []  # never called with a bad argument
    [call] = reply.calls
    assert call.status == "bad-arguments" and "expected an integer" in (call.error or "")
    [result] = [m for m in _sent(sandbox)[1] if m["role"] == "tool"]
    assert result["content"].startswith(
        "Error: bad arguments for describe: argument 'n': expected an integer, got 'five'"
    )
    assert "describe(n: integer = 5" in result["content"] and "Traceback" not in result["content"]
    assert "Error: bad arguments" in reply.text  # the model read it and answered

    sandbox.clear()
    sandbox.inject(
        Fault.raw(
            _openai_reply(
                ("c1", "explode", {}),
                ("c2", "explode", {"n": 1, "m": 2}),
                ("c3", "explode", "{oops"),
                ("c4", "explode", [1]),
            )
        ),
        Fault.raw({"success": True, "result": {"message": {"content": "ok"}}}),
    )
    reply = client.chat("go", model="sandbox-agent", tools=[spy.explode])
    assert spy.calls == [] and [c.status for c in reply.calls] == ["bad-arguments"] * 4
    contents = [m["content"] for m in _sent(sandbox)[1] if m["role"] == "tool"]
    assert "missing a required argument: 'n'" in contents[0]
    assert "unexpected argument 'm'" in contents[1]
    assert "not valid JSON" in contents[2] and "must be a JSON object" in contents[3]


def test_values_are_coerced_not_evaluated(client: PuterClient, sandbox: Sandbox) -> None:
    seen: list[Any] = []

    def echo(text: str, count: int, unit: Unit, flags: list[bool]) -> str:
        """Echo."""
        seen.append((text, count, unit, flags))
        return text

    payload = "__import__('os').system('echo pwned')"
    sandbox.inject(
        Fault.raw(
            _openai_reply(
                (
                    "c1",
                    "echo",
                    {"text": payload, "count": 3.0, "unit": "FAHRENHEIT", "flags": [True, "false"]},
                )
            )
        ),
        Fault.raw({"success": True, "result": {"message": {"content": "ok"}}}),
    )
    client.chat("go", model="sandbox-agent", tools=[echo])
    assert seen == [(payload, 3, Unit.FAHRENHEIT, [True, False])]


@pytest.mark.parametrize("model", AGENTS)
def test_a_function_that_raises_sends_its_error_and_the_loop_goes_on(
    client: PuterClient, sandbox: Sandbox, spy: Spy, model: str
) -> None:
    reply = client.chat("explode n=4 then warmest", model=model, tools=[spy.explode, spy.warmest])
    assert [c.status for c in reply.calls] == ["failed", "ok"]
    assert reply.calls[0].error == "ValueError: no good: 4"
    contents = [m["content"] for m in _sent(sandbox)[1] if m["role"] == "tool"]
    assert contents == ["Error: ValueError: no good: 4", "Rome"]
    assert "ValueError: no good: 4" in reply.text and "Rome" in reply.text  # it answered


def test_results_are_json_where_they_can_be_else_a_capped_repr() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque thing>"

    assert encode_result({"a": [1, 2.5, None, True]}) == '{"a": [1, 2.5, null, true]}'
    assert encode_result(Unit.CELSIUS) == '"celsius"'
    assert encode_result("plain text") == "plain text"
    assert encode_result(Opaque()) == "<Opaque thing>"
    assert encode_result(float("nan")) == "nan"  # not JSON's NaN, which is no JSON
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    assert encode_result(cyclic) == "[[...]]"
    big = encode_result(list(range(100_000)))
    assert len(big) < 20_100 and big.endswith("characters in all]")

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert encode_result(Hostile()) == "<a Hostile that could not be shown>"


def test_interrupt_stops_the_loop_at_once(client: PuterClient, sandbox: Sandbox) -> None:
    def stop() -> None:
        """The user presses stop while this runs."""
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.chat("stop and warmest", model="sandbox-agent", tools=[stop, Spy().warmest])
    assert len(sandbox.calls("complete")) == 1  # no request after the interrupt
    sandbox.clear()
    stream = client.chat_stream("stop", model="sandbox-agent-claude", tools=[stop])
    with pytest.raises(KeyboardInterrupt):
        for _ in stream:
            pass
    assert stream.current._chunks.closed and len(sandbox.calls("complete")) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_step_limit_ends_with_a_warning(
    client: PuterClient, sandbox: Sandbox, spy: Spy, stream: bool
) -> None:
    with pytest.warns(ToolStepLimit, match="still calling tools after 3 step"):
        if stream:
            reply = client.chat_stream(
                "keep calling warmest", model="sandbox-agent", tools=[spy.warmest], max_steps=3
            ).reply()
        else:
            reply = client.chat(
                "keep calling warmest", model="sandbox-agent", tools=[spy.warmest], max_steps=3
            )
    assert reply.step_limit_reached and reply.steps == 3
    assert len(sandbox.calls("complete")) == 3
    if stream:  # the 2nd step streamed calls, which are asked again whole: that is the 3rd request
        assert len(spy.calls) == 1 and [c.status for c in reply.calls] == ["ok", "skipped"]
    else:
        assert len(spy.calls) == 2 and [c.status for c in reply.calls] == ["ok", "ok", "skipped"]
    with pytest.raises(ValueError, match="max_steps"):
        client.chat("x", model="sandbox-agent", tools=[spy.warmest], max_steps=0)


def test_one_at_a_time_takes_several_steps(client: PuterClient, sandbox: Sandbox, spy: Spy) -> None:
    reply = client.chat(
        "one at a time: describe n=1 and warmest",
        model="sandbox-agent-claude",
        tools=[spy.describe, spy.warmest],
    )
    assert reply.steps == 3 and [c.name for c in reply.calls] == ["describe", "warmest"]
    assert "Rome" in reply.text and "Paris" in reply.text


def test_tool_call_label_summary_and_unknown_reply_objects() -> None:
    from puter_magic.api.toolloop import ToolRun

    call = ToolCall("x", "describe", {"n": 5, "text": "y" * 100})
    summaries = [
        ToolRun(call, "ok", value=v).summary() for v in (["Rome", "Lima"], list(range(100)), {"a": 1})
    ]
    assert summaries == ['["Rome", "Lima"]', "100 items", '{"a": 1}']
    assert ToolRun(call, "ok", value=[{"a": 1}]).summary() == "1 row"
    assert call.label().startswith('describe(n=5, text="yyyy') and len(call.label()) <= 120
    assert calls_in(object()) == []


def test_sandbox_refuses_unanswered_calls_like_a_provider(client: PuterClient) -> None:
    from puter_magic import BadRequest

    messages = [
        {"role": "user", "content": "warmest"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "warmest", "input": {}}]},
        {"role": "user", "content": "and?"},
    ]
    with pytest.raises(BadRequest, match="without tool results"):
        client.chat(messages, model="sandbox-agent-claude")
    with pytest.raises(BadRequest, match="answers no tool call"):
        client.chat(
            [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "zz", "content": "1"}],
            model="sandbox-agent",
        )


def test_catalogue_marks_the_agents_as_tool_callers(client: PuterClient) -> None:
    models = {m.id: m for m in client.models()}
    assert (
        models["sandbox-agent"].raw["tool_call"] is True
        and models["sandbox-agent-claude"].raw["tool_call"] is True
    )
    assert models["sandbox-tutor"].raw["tool_call"] is False


def test_result_chunk_is_a_chunk() -> None:
    assert ToolResultChunk.type == "tool_result"
