"""The sandbox's tool-calling models: function calling with no account, deterministically.

``sandbox-agent`` answers in OpenAI's shape (``message.tool_calls[].function.arguments``, a
JSON string; ``finish_reason: "tool_calls"``), ``sandbox-agent-claude`` in Claude's
(``tool_use`` content parts with an ``input`` object; ``finish_reason`` stays "stop",
``stop_reason: "tool_use"``). Streamed, both send one complete ``tool_use`` line per call,
as Puter does. What they do:

- Each offered tool whose name appears in the last question is called, in the order the
  names appear, with the ``name=value`` pairs written after it (``describe n=5``,
  ``describe(n=5, table="cities")``; values are JSON where they read as JSON, else text).
- When the results come back, the answer quotes each call and its result.
- "one at a time" in the question: one call per step; "keep calling": it never stops
  calling (to show a step limit). Offered no tool, or none named, it says so in text.

Like a real provider, it refuses (400) a conversation whose tool calls and tool results do
not match up: every call needs a result right after its assistant turn, and every result
must answer a call; the Claude-shaped one also refuses tool blocks in a request that
defines no tools, as Anthropic's API does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .models import SandboxModel
from .replies import Reply, plural, split_stream, text_of

__all__ = ["AgentError", "AgentTurn", "agent_turn"]

RESULT_CHARS = 1500  # how much of one result the answer quotes


class AgentError(ValueError):
    """The conversation breaks the tool-calling rules (answered as a 400)."""


@dataclass
class AgentTurn:
    model: SandboxModel
    text: str
    calls: list[dict[str, Any]] = field(default_factory=list)  # {"id", "name", "input"}
    usage: dict[str, Any] = field(default_factory=dict)

    @property
    def reply(self) -> Reply:
        return Reply(text=self.text, usage=self.usage, pieces=split_stream(self.text) if self.text else [])

    def envelope(self) -> dict[str, Any]:
        if self.model.shape == "openai":
            message: dict[str, Any] = {
                "role": "assistant",
                "content": self.text if self.text or not self.calls else None,
                "refusal": None,
            }
            if self.calls:
                message["tool_calls"] = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": json.dumps(c["input"])},
                    }
                    for c in self.calls
                ]
            result: dict[str, Any] = {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if self.calls else "stop",
                "usage": self.usage,
                "via_ai_chat_service": True,
            }
            used = "openai-completion"
        else:
            content: list[dict[str, Any]] = [{"type": "text", "text": self.text}] if self.text else []
            content += [{"type": "tool_use", **c} for c in self.calls]
            result = {
                "message": {
                    "id": "00000000-0000-0000-0000-000000000000",
                    "type": "message",
                    "role": "assistant",
                    "model": self.model.id,
                    "content": content,
                    "stop_reason": "tool_use" if self.calls else "end_turn",
                    "stop_sequence": None,
                    "usage": self.usage,
                },
                "usage": self.usage,
                "finish_reason": "stop",  # Puter's Claude path: detect calls by presence
                "via_ai_chat_service": True,
            }
            used = "claude"
        return {
            "success": True,
            "result": result,
            "service": {"name": "ai-chat"},
            "metadata": {"service_used": used, "providerUsed": self.model.id},
        }

    def stream_lines(self) -> Iterator[dict[str, Any]]:
        for piece in self.reply.pieces:
            yield {"type": "text", "text": piece}
        for call in self.calls:
            yield {"type": "tool_use", **call, "text": ""}
        yield {"type": "usage", "usage": self.usage}


def _offered(args: dict[str, Any]) -> dict[str, set[str]]:
    """The offered tools' names and parameter names (OpenAI's form or Anthropic's)."""
    out: dict[str, set[str]] = {}
    tools = args.get("tools")
    for item in tools if isinstance(tools, list) else []:
        if not isinstance(item, dict):
            continue
        function = item.get("function")
        spec: dict[str, Any] = function if isinstance(function, dict) else item
        name = spec.get("name")
        schema = spec.get("parameters") or spec.get("input_schema") or {}
        if isinstance(name, str) and name:
            props = schema.get("properties") if isinstance(schema, dict) else None
            out[name] = set(props) if isinstance(props, dict) else set()
    return out


def _calls_of(message: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(id, name, input) of the calls an assistant message makes, in either shape."""
    out = []
    content = message.get("content")
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and part.get("type") == "tool_use":
            out.append((str(part.get("id")), str(part.get("name")), part.get("input")))
    for call in message.get("tool_calls") or []:
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            fn = call["function"]
            out.append((str(call.get("id")), str(fn.get("name")), fn.get("arguments")))
    return out


def _results_of(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(call id, content) of the results a message carries (a tool message or result parts)."""
    if message.get("role") == "tool":
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        return [(str(message.get("tool_call_id")), text)]
    content = message.get("content")
    out = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and part.get("type") == "tool_result":
            value = part.get("content")
            out.append((str(part.get("tool_use_id")), value if isinstance(value, str) else json.dumps(value)))
    return out


def _check_pairs(messages: list[dict[str, Any]]) -> None:
    """Every call answered right after its turn, every result answering a call."""
    pending: dict[str, str] = {}
    for message in messages:
        results = _results_of(message)
        if pending and not results:
            raise AgentError(f"tool calls without tool results right after them: {', '.join(pending)}")
        for ident, _ in results:
            if ident not in pending:
                raise AgentError(f"a tool result answers no tool call of the turn before it: {ident}")
            del pending[ident]
        if message.get("role") == "assistant":
            pending = {ident: name for ident, name, _ in _calls_of(message)}
    if pending:
        raise AgentError(f"tool calls without tool results: {', '.join(pending)}")


_PAIR = re.compile(r"""(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|'[^']*'|\[[^\]]*\]|\{[^}]*\}|[^\s,;)]+)""")


def _value(text: str) -> Any:
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1]
    if not text.startswith(('"', "[", "{")):
        text = text.rstrip(".?!:")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _plan(question: str, offered: dict[str, set[str]]) -> list[tuple[str, dict[str, Any]]]:
    """The calls a question asks for: each offered name it mentions, with its pairs."""
    if not offered:
        return []
    names = sorted(offered, key=len, reverse=True)
    mention = re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-])")
    spots = [(m.start(), m.end(), m.group(1)) for m in mention.finditer(question)]
    plan: list[tuple[str, dict[str, Any]]] = []
    for i, (_, end, name) in enumerate(spots):
        stop = spots[i + 1][0] if i + 1 < len(spots) else len(question)
        pairs = _PAIR.finditer(question, end if i else 0, stop)  # pairs before the first name: its
        plan.append((name, {m.group(1): _value(m.group(2)) for m in pairs}))
    return plan


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{text}\n{ticks}"


def _label(name: str, arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return f"{name}({arguments})"
    if not isinstance(arguments, dict):
        return f"{name}()"
    return f"{name}({', '.join(f'{k}={json.dumps(v, ensure_ascii=False)}' for k, v in arguments.items())})"


def _answer(model: SandboxModel, done: list[tuple[str, Any, str]]) -> str:
    lines = [
        f"**{model.name}** called {plural(len(done), 'tool')} for your question and read the results.",
        "",
    ]
    for name, arguments, result in done:
        excerpt = result if len(result) <= RESULT_CHARS else result[:RESULT_CHARS] + "…"
        lines += [f"`{_label(name, arguments)}` returned:", "", _fence(excerpt), ""]
    lines.append("That is what your functions said.")
    return "\n".join(lines)


def _usage(
    model: SandboxModel, messages: list[dict[str, Any]], text: str, calls: list[Any]
) -> dict[str, Any]:
    tokens_in = len(json.dumps(messages, default=str).split())
    tokens_out = len(text.split()) + len(json.dumps(calls).split())
    cents = round(
        (tokens_in * model.cents_per_million_in + tokens_out * model.cents_per_million_out) / 1_000_000, 6
    )
    if model.shape == "openai":
        return {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "cached_tokens": 0,
            "usd_cents": cents,
        }
    return {"input_tokens": tokens_in, "output_tokens": tokens_out, "usd_cents": cents}


def agent_turn(model: SandboxModel, messages: list[dict[str, Any]], args: dict[str, Any]) -> AgentTurn:
    """What the agent *model* answers to *messages* (deterministic)."""
    _check_pairs(messages)
    offered = _offered(args)
    blocks = any(_calls_of(m) or _results_of(m) for m in messages if isinstance(m, dict))
    if blocks and not offered and model.shape == "claude":  # as Anthropic's API answers
        raise AgentError("Requests which include `tool_use` or `tool_result` blocks must define tools.")
    asked = [i for i, m in enumerate(messages) if m.get("role", "user") == "user" and not _results_of(m)]
    start = asked[-1] if asked else 0
    question = text_of(messages[start].get("content")) if asked else ""
    since = messages[start + 1 :]
    rounds = [m for m in since if m.get("role") == "assistant" and _calls_of(m)]
    results = {ident: text for m in since for ident, text in _results_of(m)}
    done = [
        (name, arguments, results.get(ident, "")) for m in rounds for ident, name, arguments in _calls_of(m)
    ]
    plan = _plan(question, offered)
    lowered = question.lower()
    if "keep calling" in lowered:
        todo = plan
    elif "one at a time" in lowered:
        todo = plan[len(rounds) : len(rounds) + 1]
    else:
        todo = [] if rounds else plan
    calls: list[dict[str, Any]] = []
    if todo:
        count = sum(len(_calls_of(m)) for m in messages if m.get("role") == "assistant")
        prefix = "call" if model.shape == "openai" else "toolu_sandbox"
        calls = [{"id": f"{prefix}_{count + i}", "name": n, "input": a} for i, (n, a) in enumerate(todo, 1)]
        named = ", ".join(f"`{c['name']}`" for c in calls)
        text = "" if model.shape == "openai" else f"I will call {named}."
    elif done:
        text = _answer(model, done)
    elif not offered:
        text = (
            f"**{model.name}**: I was offered no tools, so I can only answer in text. You asked: {question}"
        )
    else:
        names = ", ".join(f"`{n}`" for n in offered)
        text = (
            f"**{model.name}**: you offered me {names}. Name one in your question, with its "
            "arguments as name=value (e.g. `describe n=5`), and I will call it."
        )
    return AgentTurn(model, text, calls, _usage(model, messages, text, calls))
