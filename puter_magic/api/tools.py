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

import enum
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .toolcalls import ToolCall, calls_in, cap, encode_result, summarize
from .toolschema import ArgumentError, coerce, parse_docstring, schema_for

__all__ = ["Tool", "ToolCall", "ToolRun", "calls_in", "encode_result", "run_call", "tool", "tools_by_name"]

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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
