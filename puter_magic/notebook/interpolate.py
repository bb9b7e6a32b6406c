"""``{name}`` in a prompt becomes the value of that notebook variable (pure; one pass).

Rules, chosen so that ordinary text with braces passes through untouched:

- only ``{identifier}``, ``{In[n]}`` and ``{Out[n]}`` are candidates, with no spaces;
- a candidate is replaced only if the name exists (and for In/Out, the index does);
- nothing inside Markdown code (fenced blocks or inline spans) or math is touched, so
  code samples, f-strings and JavaScript shown as code stay as written;
- a brace right after a letter, digit, ``\\``, ``$``, ``^``, ``_`` or ``}`` is left
  alone, so LaTeX such as ``\\frac{a}{b}`` or ``x^{n}`` survives even where ``a`` is a
  variable;
- nothing inside an f-string literal (``f"...{x}..."``) is touched;
- ``{{name}}`` is left as it is (it is a template, not a request to interpolate);
- one pass: a value that itself contains ``{other}`` is not expanded again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .markup import segments

__all__ = ["interpolate"]

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
