"""What travels between the model and the tools: the calls a reply asks for, and results.

- :func:`calls_in` reads the calls of a reply in either shape (OpenAI-style
  ``tool_calls[].function.arguments``, a JSON string; Claude-style ``tool_use`` parts and
  stream lines, an ``input`` object) as :class:`ToolCall` objects, detected by their
  presence, never by ``finish_reason``.
- :func:`encode_result` turns what a function returned into what the model is sent: JSON
  where it can be, else a size-capped ``repr``; :func:`summarize` says it in a few words.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

__all__ = ["MAX_RESULT_CHARS", "ToolCall", "calls_in", "cap", "encode_result", "summarize"]

MAX_RESULT_CHARS = 20_000  # what one result may add to the next request


@dataclass
class ToolCall:
    """One call the model asked for: its id, the tool's name and the arguments (an object).

    ``problem`` says why the arguments could not be read (not JSON, not an object); such a
    call is answered with an error result and never run.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)  # echoed back (extra_content)

    def as_part(self) -> dict[str, Any]:
        """The ``tool_use`` part that repeats this call in the assistant turn sent back."""
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": self.arguments, **self.extra}

    def label(self, limit: int = 120) -> str:
        """``describe(n=5)``, with long values shortened."""
        parts = []
        for key, value in self.arguments.items():
            text = json.dumps(value, ensure_ascii=False, default=str)
            parts.append(f"{key}={text if len(text) <= 40 else text[:39] + '…'}")
        label = f"{self.name}({', '.join(parts)})"
        return label if len(label) <= limit else label[: limit - 2] + "…)"


def _call(raw: Any, index: int) -> ToolCall | None:
    if not isinstance(raw, Mapping):
        for attr in ("id", "name"):  # a call object another module made
            if not hasattr(raw, attr):
                return None
        raw = {"id": raw.id, "name": raw.name, "input": getattr(raw, "arguments", getattr(raw, "input", {}))}
    function = raw.get("function")
    if isinstance(function, Mapping):  # OpenAI: arguments is a JSON string
        name, arguments = function.get("name"), function.get("arguments")
    else:  # Claude and Puter's stream lines: input is an object (a string in Puter's internal shape)
        name, arguments = raw.get("name"), raw.get("input", raw.get("arguments"))
    ident = raw.get("id")
    call = ToolCall(
        ident if isinstance(ident, str) and ident else f"call_{index}",
        name if isinstance(name, str) else "",
    )
    if isinstance(raw.get("extra_content"), Mapping):
        call.extra = {"extra_content": dict(raw["extra_content"])}
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return call
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError) as exc:
            call.problem = f"the arguments are not valid JSON ({type(exc).__name__})"
            return call
    if not isinstance(arguments, dict):
        call.problem = f"the arguments must be a JSON object, not {type(arguments).__name__}"
        return call
    call.arguments = arguments
    return call


def calls_in(source: Any) -> list[ToolCall]:
    """The calls a reply asks for, in order: from a ChatReply, a ChatStream, a result dict,
    or a list of raw calls of either shape. Detected by their presence, never by
    ``finish_reason`` (Claude's stays "stop")."""
    raw_calls = getattr(source, "tool_calls", None)
    if raw_calls is None and isinstance(source, list):
        raw_calls = source
    raw_calls = list(raw_calls or [])
    if not raw_calls:
        raw_calls = _raw_calls(getattr(source, "raw", source))
    calls: list[ToolCall] = []
    seen: dict[str, ToolCall] = {}
    for raw in raw_calls:
        call = _call(raw, len(calls) + 1)
        if call is None:
            continue
        twin = seen.get(call.id)
        if twin is not None:
            if (twin.name, twin.arguments) == (call.name, call.arguments):
                continue  # the same call read twice (a part and its normalized copy)
            call.id = f"{call.id}_{len(calls) + 1}"  # each result must answer one call
        seen[call.id] = call
        calls.append(call)
    return calls


def _raw_calls(result: Any) -> list[Any]:
    """Calls read straight from a ``complete`` result of any shape."""
    if not isinstance(result, Mapping):
        return []
    message = result.get("message")
    choices = result.get("choices")
    if message is None and isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        message = choices[0].get("message")
    if not isinstance(message, Mapping):
        return []
    out: list[Any] = []
    content = message.get("content")
    if isinstance(content, list):
        out.extend(p for p in content if isinstance(p, Mapping) and p.get("type") == "tool_use")
    if isinstance(message.get("tool_calls"), list):
        out.extend(c for c in message["tool_calls"] if isinstance(c, Mapping))
    return out


# -- results -------------------------------------------------------------------------------------------


def summarize(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool | int | float):
        text = repr(value)
    elif isinstance(value, str):
        if len(value) <= 40 and "\n" not in value:
            return json.dumps(value, ensure_ascii=False)
        return f"{len(value):,} characters"
    elif isinstance(value, list | tuple | Mapping):
        rows = isinstance(value, list | tuple) and bool(value) and all(isinstance(v, Mapping) for v in value)
        if not rows:  # a short value says more than its length: ["Rome", "Lima"]
            short = encode_result(value)
            if len(short) <= 40:
                return short
        word = "row" if rows else "item" if isinstance(value, list | tuple) else "key"
        return f"{len(value):,} {word}{'' if len(value) == 1 else 's'}"
    else:
        length = getattr(value, "__len__", None)
        text = type(value).__name__ + (f" of {len(value):,}" if callable(length) else "")
    return text if len(text) <= 40 else text[:39] + "…"


def _jsonable(value: Any) -> Any:
    """``default=`` for json.dumps: what has one obvious JSON form; else TypeError."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, PurePath):
        return str(value)
    for method in ("tolist", "item"):  # numpy arrays and scalars
        convert = getattr(value, method, None)
        if callable(convert) and type(value).__module__.split(".")[0] == "numpy":
            return convert()
    raise TypeError(type(value).__name__)


def cap(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [cut: {len(text):,} characters in all]"


def encode_result(value: Any) -> str:
    """What the model is sent for a result: a string as it is, JSON where it can be, else a
    capped ``repr``; never more than :data:`MAX_RESULT_CHARS` characters."""
    if isinstance(value, str):
        return cap(value)
    try:
        return cap(json.dumps(value, ensure_ascii=False, allow_nan=False, default=_jsonable))
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return cap(repr(value))
    except Exception:
        return f"<a {type(value).__name__} that could not be shown>"
