"""A Python function as a tool a model may call: its name, description and the JSON Schema of
its parameters, and the way back, a model's arguments checked against the same hints (pure;
no I/O).

- :func:`tool` makes a :class:`Tool` from a function: its name, the docstring's summary and a
  JSON Schema of its parameters from the signature, type hints, defaults and docstring
  (:func:`schema_for`, :func:`parse_docstring`: Google, NumPy or Sphinx style).
- :func:`bind` checks the arguments a model sent against the signature and the hints
  (:func:`coerce`), converting what JSON cannot say (an integral ``5.0`` for an ``int``, a
  value for an ``Enum``, ISO text for a date). Each type hint's schema sits beside its
  coercion, so the two cannot drift apart. Nothing here ever evaluates what a model wrote.

What a reply asks for, and running it, is :mod:`puter_magic.api.toolloop`.
"""

from __future__ import annotations

import datetime as _dt
import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .protocol import is_int

__all__ = [
    "ArgumentError",
    "Tool",
    "bind",
    "coerce",
    "parse_docstring",
    "schema_for",
    "tool",
    "tools_by_name",
]

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


# -- JSON Schema from type hints, and a model's value checked against them ---------------------

_NONE = type(None)
_SEQUENCES = (list, tuple, set, frozenset, Sequence)
_MAPPINGS = (dict, Mapping)


class ArgumentError(ValueError):
    """A value the model sent does not fit the parameter's type."""


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType)


def _unannotated(tp: Any) -> tuple[Any, str | None]:
    """``Annotated[X, "text"]`` → (X, "text"); anything else as it is."""
    if typing.get_origin(tp) is typing.Annotated:
        base, *meta = _args(tp)
        text = next((m for m in meta if isinstance(m, str)), None)
        return base, text
    return tp, None


def _literal_type(values: Sequence[Any]) -> str | None:
    kinds = {type(v) for v in values}
    for py, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
        if kinds == {py}:
            return name
    return None


def schema_for(tp: Any) -> dict[str, Any]:
    """The JSON Schema of annotation *tp* (``{}``: any JSON value)."""
    tp, text = _unannotated(tp)
    schema = _schema(tp)
    if text:
        schema = {**schema, "description": text}
    return schema


def _schema(tp: Any) -> dict[str, Any]:
    if tp is inspect.Parameter.empty or tp is Any or tp is object:
        return {}
    if tp is None or tp is _NONE:
        return {"type": "null"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if tp is _dt.datetime:
        return {"type": "string", "format": "date-time"}
    if tp is _dt.date:
        return {"type": "string", "format": "date"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        out: dict[str, Any] = {"enum": values}
        kind = _literal_type(values)
        return {"type": kind, **out} if kind else out
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        values = list(_args(tp))
        kind = _literal_type(values)
        return {"type": kind, "enum": values} if kind else {"enum": values}
    if _is_union(tp):
        members = [a for a in _args(tp) if a is not _NONE]
        nullable = len(members) < len(_args(tp))
        inner = [schema_for(m) for m in members]
        if len(inner) == 1:
            only = inner[0]
            if nullable and isinstance(only.get("type"), str):
                return {**only, "type": [only["type"], "null"]}
            return {"anyOf": [only, {"type": "null"}]} if nullable else only
        if nullable:
            inner.append({"type": "null"})
        return {"anyOf": inner}
    if tp in _SEQUENCES or origin in _SEQUENCES:
        items = [a for a in _args(tp) if a is not Ellipsis]
        out = {"type": "array"}
        if origin is tuple and items and Ellipsis not in _args(tp):
            out["minItems"] = out["maxItems"] = len(items)
        if len(set(items)) == 1:
            out["items"] = schema_for(items[0])
        elif items:
            out["items"] = {"anyOf": [schema_for(i) for i in dict.fromkeys(items)]}
        return out
    if tp in _MAPPINGS or origin in _MAPPINGS:
        out = {"type": "object"}
        if len(_args(tp)) == 2:
            out["additionalProperties"] = schema_for(_args(tp)[1])
        return out
    return {}  # a class JSON cannot describe: any value, checked by the function itself


# -- the way back: a model's value checked against the annotation ----------------------------


def _what(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def coerce(tp: Any, value: Any) -> Any:
    """*value* as annotation *tp* expects it, or raise :class:`ArgumentError`."""
    tp, _ = _unannotated(tp)
    if tp is inspect.Parameter.empty or tp is Any or tp is object:
        return value
    if tp is None or tp is _NONE:
        if value is None:
            return None
        raise ArgumentError(f"expected null, got {_what(value)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ArgumentError(f"expected true or false, got {_what(value)}")
    if tp is int:
        if is_int(value):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
            return int(value)
        raise ArgumentError(f"expected an integer, got {_what(value)}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ArgumentError(f"expected a number, got {_what(value)}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ArgumentError(f"expected a string, got {_what(value)}")
    if tp in (_dt.datetime, _dt.date):
        if isinstance(value, str):
            try:
                return tp.fromisoformat(value)
            except ValueError:
                pass
        raise ArgumentError(f"expected an ISO {tp.__name__} string, got {_what(value)}")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        for member in tp:
            if member.value == value and type(member.value) is type(value):
                return member
        for member in tp:
            if isinstance(value, str) and member.name == value:
                return member
        allowed = ", ".join(repr(m.value) for m in tp)
        raise ArgumentError(f"expected one of {allowed}, got {_what(value)}")
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        for option in _args(tp):
            if option == value and type(option) is type(value):
                return option
        allowed = ", ".join(repr(o) for o in _args(tp))
        raise ArgumentError(f"expected one of {allowed}, got {_what(value)}")
    if _is_union(tp):
        members = _args(tp)
        if value is None and _NONE in members:
            return None
        errors = []
        for member in (m for m in members if m is not _NONE):
            try:
                return coerce(member, value)
            except ArgumentError as exc:
                errors.append(str(exc))
        raise ArgumentError(errors[0] if len(errors) == 1 else f"no type of the union fits {_what(value)}")
    if tp in _SEQUENCES or origin in _SEQUENCES:
        if not isinstance(value, list):
            raise ArgumentError(f"expected a list, got {_what(value)}")
        items = _args(tp)
        if origin is tuple and items and Ellipsis not in items:
            if len(value) != len(items):
                raise ArgumentError(f"expected a list of {len(items)} items, got {len(value)}")
            return tuple(coerce(t, v) for t, v in zip(items, value, strict=True))
        item_tp = items[0] if items else Any
        out = [_item(item_tp, i, v) for i, v in enumerate(value)]
        if tp in (tuple, set, frozenset) or origin in (tuple, set, frozenset):
            kind = origin if origin in (tuple, set, frozenset) else tp
            return kind(out)
        return out
    if tp in _MAPPINGS or origin in _MAPPINGS:
        if not isinstance(value, dict):
            raise ArgumentError(f"expected an object, got {_what(value)}")
        if len(_args(tp)) == 2:
            return {k: coerce(_args(tp)[1], v) for k, v in value.items()}
        return dict(value)
    return value


def _item(tp: Any, index: int, value: Any) -> Any:
    try:
        return coerce(tp, value)
    except ArgumentError as exc:
        raise ArgumentError(f"item {index}: {exc}") from None


# -- docstrings --------------------------------------------------------------------------------

_GOOGLE = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments):\s*$")
_NUMPY_HEADER = re.compile(r"^(Parameters|Other Parameters)\s*$")
_SECTION = re.compile(
    r"^(Returns?|Yields?|Raises?|Examples?|Notes?|See Also|Attributes|Warnings?|References|Todo):?\s*$"
)
_SPHINX = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ITEM = re.compile(r"^(\w+)\s*(?::.*)?$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The description (text before the first section) and ``{parameter: description}``."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    params: dict[str, str] = {}
    summary: list[str] = []
    i = 0
    in_summary = True
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        sphinx = _SPHINX.match(stripped)
        if sphinx:
            in_summary = False
            text = [sphinx.group(2)]
            i += 1
            while i < len(lines) and lines[i][:1] in (" ", "\t") and not lines[i].strip().startswith(":"):
                text.append(lines[i].strip())
                i += 1
            params[sphinx.group(1)] = " ".join(t for t in text if t)
            continue
        if stripped.startswith(":"):
            in_summary = False
            i += 1
            continue
        if _GOOGLE.match(stripped) and not line.startswith((" ", "\t")):
            in_summary = False
            i = _google_block(lines, i + 1, params)
            continue
        is_numpy = i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip() or "x")
        if _NUMPY_HEADER.match(stripped) and is_numpy:
            in_summary = False
            i = _numpy_block(lines, i + 2, params)
            continue
        if _SECTION.match(stripped) or is_numpy:
            in_summary = False
        if in_summary:
            summary.append(line)
        i += 1
    return "\n".join(summary).strip(), params


def _google_block(lines: list[str], i: int, params: dict[str, str]) -> int:
    indent: int | None = None
    name: str | None = None
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        width = len(line) - len(line.lstrip())
        if width == 0:
            break
        if indent is None:
            indent = width
        item = _GOOGLE_ITEM.match(line.strip()) if width == indent else None
        if item:
            name = item.group(1).lstrip("*")
            params[name] = item.group(2).strip()
        elif name is not None:
            params[name] = (params[name] + " " + line.strip()).strip()
        i += 1
    return i


def _numpy_block(lines: list[str], i: int, params: dict[str, str]) -> int:
    name: str | None = None
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if not line.startswith((" ", "\t")):
            if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip() or "x"):
                break
            item = _NUMPY_ITEM.match(line.strip())
            if item is None:
                break
            name = item.group(1)
            params[name] = ""
        elif name is not None:
            params[name] = (params[name] + " " + line.strip()).strip()
        i += 1
    return i
