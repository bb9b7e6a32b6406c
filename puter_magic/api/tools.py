"""Function calling: Python functions as tools a model may call (no I/O of its own).

- :func:`tool` makes a :class:`Tool` from a function: its name, the docstring's summary and
  a JSON Schema of its parameters from the signature, type hints, defaults and docstring.
- :func:`calls_in` reads the calls a reply asks for, in either shape (OpenAI-style
  ``tool_calls[].function.arguments``, a JSON string; Claude-style ``tool_use`` parts and
  stream lines, an ``input`` object) as :class:`ToolCall` objects.
- :func:`run_call` runs one call safely: only a named tool, its arguments bound to the
  signature first (a mismatch is an error result), an exception becomes an error result,
  the result goes back as JSON where it can be, else as a size-capped ``repr``. Nothing a
  model writes is ever evaluated.

The loop that sends results back is :mod:`puter_magic.api.toolloop`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from .toolschema import ArgumentError, coerce, parse_docstring, schema_for

__all__ = ["Tool", "ToolCall", "ToolRun", "calls_in", "run_call", "tool", "tools_by_name"]

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_RESULT_CHARS = 20_000  # what one result may add to the next request


@dataclass(frozen=True)
class Tool:
    """A function the model may call, with the schema it is offered under."""

    name: str
    function: Callable[..., Any] = field(repr=False)
    description: str
    parameters: dict[str, Any] = field(repr=False)
    signature: inspect.Signature = field(repr=False)
    hints: dict[str, Any] = field(repr=False, default_factory=dict)

    def definition(self) -> dict[str, Any]:
        """The tool in OpenAI's function form, as Puter takes it in ``args.tools``."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def describe(self) -> str:
        """``describe(n: int = 5)``: how the model should call it, for error results."""
        parts = []
        for p in self.signature.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            kind = self.parameters["properties"].get(p.name, {}).get("type")
            text = p.name + (f": {kind}" if isinstance(kind, str) else "")
            if p.default is not p.empty:
                text += f" = {p.default!r}"
            parts.append(text)
        return f"{self.name}({', '.join(parts)})"


def tool(
    function: Callable[..., Any] | Tool, name: str | None = None, description: str | None = None
) -> Tool:
    """A :class:`Tool` from *function* (its ``__name__`` and docstring unless given)."""
    if isinstance(function, Tool):
        return function
    if not callable(function):
        raise TypeError(f"a tool must be a function, not {type(function).__name__}")
    if inspect.iscoroutinefunction(function):
        raise TypeError(f"{getattr(function, '__name__', 'this')} is async: tools must be plain functions")
    base = getattr(function, "func", function)  # functools.partial
    name = name or getattr(function, "__name__", None) or getattr(base, "__name__", None)
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"{name!r} is not a tool name (letters, digits, _ and -, at most 64): give name=")
    signature = inspect.signature(function)
    try:
        hints = typing.get_type_hints(base, include_extras=True)
    except Exception:  # unresolvable forward references: describe without types
        hints = {}
    summary, param_docs = parse_docstring(inspect.getdoc(base))
    properties: dict[str, Any] = {}
    required: list[str] = []
    extra = False
    for param in signature.parameters.values():
        if param.kind is param.VAR_KEYWORD:
            extra = True
            continue
        if param.kind is param.VAR_POSITIONAL:
            continue
        annotation = hints.get(param.name, param.annotation)
        schema = schema_for(annotation)
        if param_docs.get(param.name) and "description" not in schema:
            schema["description"] = param_docs[param.name]
        if param.default is param.empty:
            required.append(param.name)
        else:
            default = param.default.value if isinstance(param.default, enum.Enum) else param.default
            if _is_json(default):
                schema["default"] = default
        properties[param.name] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if not extra:
        parameters["additionalProperties"] = False
    text = description if description is not None else summary
    return Tool(name, function, text or f"The Python function {name}.", parameters, signature, hints)


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def tools_by_name(items: Iterable[Callable[..., Any] | Tool]) -> dict[str, Tool]:
    """The tools by name; two with the same name are an error."""
    out: dict[str, Tool] = {}
    for item in items:
        made = tool(item)
        if made.name in out:
            raise ValueError(f"two tools are named {made.name!r}")
        out[made.name] = made
    return out


# -- calls a reply asks for ---------------------------------------------------------------------


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


# -- running one call ------------------------------------------------------------------------------

OK, FAILED, REFUSED, UNKNOWN = "ok", "failed", "refused", "unknown"
BAD_ARGUMENTS, SKIPPED = "bad-arguments", "skipped"


@dataclass
class ToolRun:
    """A call and what came of it: ``status`` is ok, failed (it raised), refused (not
    approved), unknown (no such tool), bad-arguments, or skipped (the step limit)."""

    call: ToolCall
    status: str
    value: Any = None  # what the function returned (ok)
    content: str = ""  # what was sent back to the model
    error: str | None = None

    @property
    def name(self) -> str:
        return self.call.name

    @property
    def arguments(self) -> dict[str, Any]:
        return self.call.arguments

    @property
    def result(self) -> Any:
        return self.value

    def summary(self) -> str:
        """``5 rows``, ``failed: ValueError: ...``: the short outcome for one line."""
        if self.status == OK:
            return summarize(self.value)
        if self.status == REFUSED:
            return "refused: it did not run"
        if self.status == SKIPPED:
            return "not run: the step limit was reached"
        if self.status == UNKNOWN:
            return "unknown tool: it did not run"
        return f"{self.status.replace('-', ' ')}: {self.error or ''}".rstrip(": ")

    def message(self) -> dict[str, Any]:
        """The ``tool`` message that answers the call."""
        return {"role": "tool", "tool_call_id": self.call.id, "content": self.content}


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


def bind(spec: Tool, arguments: Mapping[str, Any]) -> inspect.BoundArguments:
    """The model's arguments bound to the signature, each checked against its type hint."""
    params = spec.signature.parameters
    accepts_more = any(p.kind is p.VAR_KEYWORD for p in params.values())
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for key, value in arguments.items():
        param = params.get(key)
        if param is None or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            if not accepts_more:
                raise ArgumentError(f"unexpected argument {key!r}")
            keywords[key] = value
            continue
        try:
            value = coerce(spec.hints.get(key, param.annotation), value)
        except ArgumentError as exc:
            raise ArgumentError(f"argument {key!r}: {exc}") from None
        keywords[key] = value
    for param in params.values():  # positional-only parameters cannot be passed by name
        if param.kind is param.POSITIONAL_ONLY:
            if param.name not in keywords:
                break
            positional.append(keywords.pop(param.name))
    try:
        return spec.signature.bind(*positional, **keywords)
    except TypeError as exc:
        raise ArgumentError(str(exc)) from None


def run_call(
    call: ToolCall,
    tools: Mapping[str, Tool],
    approve: Callable[[ToolCall], bool] | None = None,
) -> ToolRun:
    """Run *call* if it names one of *tools*, its arguments fit and *approve* (if given)
    says yes. Whatever happens, the returned run carries the content for the model.
    KeyboardInterrupt and SystemExit propagate (the interrupt stops the loop at once)."""
    spec = tools.get(call.name)
    if spec is None:
        names = ", ".join(tools) or "none"
        error = f"there is no tool named {call.name!r}"
        return ToolRun(call, UNKNOWN, content=f"Error: {error}; the tools are: {names}.", error=error)
    if call.problem is not None:
        return ToolRun(call, BAD_ARGUMENTS, content=f"Error: {call.problem}.", error=call.problem)
    try:
        bound = bind(spec, call.arguments)
    except ArgumentError as exc:
        error = str(exc)
        content = f"Error: bad arguments for {spec.name}: {error}. Call it as {spec.describe()}."
        return ToolRun(call, BAD_ARGUMENTS, content=content, error=error)
    if approve is not None and not approve(call):
        return ToolRun(call, REFUSED, content="The user refused this call: it did not run.")
    try:
        value = spec.function(*bound.args, **bound.kwargs)
    except Exception as exc:
        error = cap(f"{type(exc).__name__}: {exc}", 2000)
        return ToolRun(call, FAILED, content=f"Error: {error}", error=error)
    if inspect.isawaitable(value):
        close = getattr(value, "close", None)
        if callable(close):
            close()
        error = "the function returned an awaitable; tools must be plain functions"
        return ToolRun(call, FAILED, content=f"Error: {error}", error=error)
    return ToolRun(call, OK, value=value, content=encode_result(value))
