"""What is sent: a cell's text made into the prompt.

- ``{name}`` in a prompt becomes the value of that notebook variable (one pass; see
  :func:`interpolate` for the rules that let ordinary braces through);
- ``--context x,df`` adds compact descriptions of the named values (:func:`with_context`);
- ``%puter_explain`` sends the trimmed traceback of the last error and the cell that raised
  it (:func:`explain_prompt`).

Only what the user names, or what raised, is described, each capped in size, so a prompt never
carries a whole dataset. Pure: no IPython.
"""

from __future__ import annotations

import inspect
import linecache
import os
import re
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence, Set
from typing import Any

from .markup import segments

__all__ = [
    "describe_error_for_learner",
    "describe_value",
    "describe_values",
    "explain_prompt",
    "interpolate",
    "with_context",
]

# -- {name} filling ---------------------------------------------------------------------------------

_CANDIDATE = re.compile(
    r"(?<![\w\\$^_}{])\{(?:(?P<hist>In|Out)\[(?P<index>-?\d+)\]|(?P<name>[A-Za-z_]\w*))\}(?!\})"
)

_FSTRING = re.compile(r"""(?<![\w])(?:[rR]?[fF]|[fF][rR])("|')(?:\\.|(?!\1)[^\n])*\1""")


def _lookup(match: re.Match[str], namespace: Mapping[str, Any]) -> str | None:
    if match.group("name"):
        name = match.group("name")
        if name in namespace:
            return str(namespace[name])
        return None
    store = namespace.get(match.group("hist"))
    index = int(match.group("index"))
    try:
        value = store[index] if store is not None else None  # In is a list, Out a dict
    except (IndexError, KeyError, TypeError):
        return None
    return None if value is None else str(value)


def interpolate(
    text: str, namespace: Mapping[str, Any], missing: list[str] | None = None
) -> tuple[str, list[str]]:
    """Return the text with known ``{name}`` replaced, and the names that were used; the
    candidates that named nothing (sent as written) are added to *missing* when given."""
    used: list[str] = []

    def replace(match: re.Match[str]) -> str:
        value = _lookup(match, namespace)
        if value is None:
            if missing is not None and match.group(0)[1:-1] not in missing:
                missing.append(match.group(0)[1:-1])
            return match.group(0)
        used.append(match.group(0)[1:-1])
        return value

    out = []
    for kind, part in segments(text):
        if kind != "text":
            out.append(part)
            continue
        pos = 0
        for literal in _FSTRING.finditer(part):
            out.append(_CANDIDATE.sub(replace, part[pos : literal.start()]))
            out.append(literal.group(0))
            pos = literal.end()
        out.append(_CANDIDATE.sub(replace, part[pos:]))
    return "".join(out), used


# -- descriptions of values and of the last error ---------------------------------------------------

PER_VALUE = 1500
TOTAL = 6000


def _cap(text: str, limit: int) -> str:
    return (
        text
        if len(text) <= limit
        else text[: limit - 20] + f"\n… ({len(text) - limit + 20:,} more characters)"
    )


def _safe_repr(value: Any, limit: int = 300) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return _cap(text, limit)


def describe_value(name: str, value: Any, limit: int = PER_VALUE) -> str:
    """``name: type`` and a few facts: shape/dtypes/rows for tables, length/sample for sequences."""
    kind = type(value)
    label = f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__
    lines = [f"{name}: {label}"]
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "head") and hasattr(value, "dtypes"):
        lines.append(f"shape: {tuple(shape)}")
        try:
            dtypes = value.dtypes
            lines.append(
                "dtypes: " + ", ".join(f"{k}={v}" for k, v in dict(dtypes).items())
                if hasattr(dtypes, "items")
                else f"dtype: {dtypes}"
            )
            lines.append("first rows:\n" + value.head(5).to_string())
        except Exception:
            lines.append(_safe_repr(value))
    elif shape is not None and hasattr(value, "dtype"):
        lines.append(f"shape: {tuple(shape)}, dtype: {value.dtype}")
        lines.append("values: " + _safe_repr(value, 400))
    elif inspect.isfunction(value) or inspect.ismethod(value) or inspect.isclass(value):
        try:
            lines.append("source:\n" + inspect.getsource(value))
        except (OSError, TypeError):
            lines.append(
                f"signature: {name}{inspect.signature(value)}" if callable(value) else _safe_repr(value)
            )
    elif isinstance(value, (str, bytes)):
        lines.append(f"length: {len(value):,}")
        lines.append("value: " + _safe_repr(value, 600))
    elif isinstance(value, Mapping):
        items = list(value.items())[:8]
        lines.append(f"length: {len(value):,}")
        lines.append(
            "sample: {"
            + ", ".join(f"{_safe_repr(k, 60)}: {_safe_repr(v, 100)}" for k, v in items)
            + (", …" if len(value) > 8 else "")
            + "}"
        )
    elif isinstance(value, (Sequence, Set)):
        sample = list(value)[:5] if isinstance(value, Set) else list(value[:5])
        lines.append(f"length: {len(value):,}")
        lines.append(
            "first items: "
            + ", ".join(_safe_repr(v, 120) for v in sample)
            + (", …" if len(value) > 5 else "")
        )
    else:
        lines.append("value: " + _safe_repr(value, 600))
    return _cap("\n".join(lines), limit)


def describe_values(names: list[str], namespace: Mapping[str, Any]) -> str:
    parts = [describe_value(n, namespace[n]) for n in names]
    return _cap("\n\n".join(parts), TOTAL)


_CELL_FILE = re.compile(r"^(<ipython-input-\d+-[0-9a-f]+>|.*/ipykernel_\d+/\d+\.py|<cell-\d+>)$")
_FILE_LINE = re.compile(r'^(\s*)File "(.*)", line (\d+)', re.MULTILINE)

CellLabel = Callable[[str], "str | None"]


def _library_path(filename: str) -> str:
    """A path without the machine's folders: relative to the import root that holds it
    (``json/decoder.py``, ``pandas/core/frame.py``), else with the home folder as ``~``."""
    best = ""
    for root in sys.path:
        if root and os.path.isabs(root):
            root = os.path.join(os.path.normpath(root), "")
            if filename.startswith(root) and len(root) > len(best):
                best = root
    if best:
        return filename[len(best) :]
    home = os.path.expanduser("~")
    if home not in ("", "/") and filename.startswith(os.path.join(home, "")):
        return "~" + filename[len(home) :]
    return filename


def _relabel(text: str, cell_label: CellLabel | None) -> str:
    """``File "<cell file>", line 3`` as the notebook shows it (``Cell In[5], line 3``) and
    other files without local folders."""

    def replace(match: re.Match[str]) -> str:
        indent, filename, line = match.groups()
        if _CELL_FILE.match(filename):
            label = (cell_label(filename) if cell_label else None) or "a notebook cell"
            return f"{indent}{label}, line {line}"
        return f'{indent}File "{_library_path(filename)}", line {line}'

    return _FILE_LINE.sub(replace, text)


def describe_error_for_learner(
    exc: BaseException, max_frames: int = 6, cell_label: CellLabel | None = None
) -> tuple[str, str | None]:
    """The trimmed traceback (frames of notebook cells and the last few others) and the
    source of the cell that raised, if it can be found.

    Cells are named by *cell_label* (a cell's file name to its label, e.g. ``Cell In[5]`` as
    IPython shows it), never by the kernel's temporary file; other files lose their local
    folders. A syntax error in a cell keeps no frames (they are IPython's own).
    """
    frames = traceback.extract_tb(exc.__traceback__)
    cell_indexes = [i for i, f in enumerate(frames) if _CELL_FILE.match(f.filename)]
    keep = frames[cell_indexes[0] :] if cell_indexes else frames  # not IPython's own frames
    cell_files = [f.filename for f in frames if _CELL_FILE.match(f.filename)]
    syntax_file = str(exc.filename or "") if isinstance(exc, SyntaxError) else ""
    if _CELL_FILE.match(syntax_file) and not cell_indexes:
        keep = traceback.StackSummary.from_list([])  # compiling a cell: IPython's frames only
        cell_files.append(syntax_file)
    lines = ["Traceback (most recent call last, trimmed):\n"] if keep else []
    if len(keep) > max_frames:
        lines += [*traceback.format_list(keep[:2]), "  …\n"]
        keep = keep[-(max_frames - 2) :]
    lines += traceback.format_list(keep)
    lines += traceback.format_exception_only(type(exc), exc)
    cell_source = None
    if cell_files:
        source_lines = linecache.getlines(cell_files[-1])
        if source_lines:
            cell_source = "".join(source_lines)
    text = _relabel("".join(lines), cell_label)
    return _cap(text, 3000), (_cap(cell_source, 3000) if cell_source else None)


def explain_prompt(exc: BaseException, cell_label: CellLabel | None, *, hint_only: bool = False) -> str:
    """What ``%puter_explain`` sends for *exc*: a learner's request, the cell that raised it and
    the trimmed traceback, and nothing else. *hint_only* (tutor mode): a hint, not a fix."""
    trace, cell = describe_error_for_learner(exc, cell_label=cell_label)
    fix = "give me a hint toward fixing it" if hint_only else "suggest a fix"
    prompt = (
        "I am learning to program. This error happened in my notebook. Explain for a learner "
        f"what it means and why it happened, then {fix}.\n\n"
    )
    if cell:
        prompt += f"The cell that raised it:\n\n```python\n{cell.rstrip()}\n```\n\n"
    return prompt + f"The error:\n\n```text\n{trace.rstrip()}\n```"


def with_context(prompt: str, names_text: str, namespace: Mapping[str, Any]) -> str:
    """*prompt* followed by a short description of the variables named in *names_text*."""
    from IPython.core.error import UsageError

    names = [n.strip() for n in names_text.split(",") if n.strip()]
    missing = [n for n in names if n not in namespace]
    if missing:
        raise UsageError(f"--context: no variable named {', '.join(missing)}")
    described = describe_values(names, namespace)
    return f"{prompt.rstrip()}\n\nContext from my notebook:\n\n```text\n{described}\n```"
