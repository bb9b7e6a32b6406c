"""The prompts of ``%%puter --each NAME``: the cell is a template asked once per item.

- a list or tuple: ``{item}`` is the item; ``--out`` gets a list (:class:`Replies`);
- a pandas Series: ``{item}`` is the value; ``--out`` gets a Series with the same index;
- a pandas DataFrame: one prompt per row, ``{column}`` by name; ``--out`` gets a Series
  with the DataFrame's index.

Filling in, in this order: first ``{name}`` of notebook variables, with the usual rules
(:mod:`.interpolate`; a name that is also an item field is left for the second pass),
then the item's fields, in one pass and everywhere in the template, code blocks included
(a template over items means them). A value is never scanned again, so data cannot pull
in a notebook variable. Missing values (None, NaN) become empty text. pandas is used only
when the input is pandas (it is then imported already).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from ..api.errors import PuterError

__all__ = ["Prompts", "Replies", "build_prompts", "results_for"]


class Replies(list[str | None]):
    """The replies of a batch over a list: one text per item, None where it failed or was
    not asked. ``errors`` maps an item's position to its
    :class:`~puter_magic.api.errors.PuterError`."""

    errors: dict[int, PuterError]

    def __init__(self, texts: list[str | None], errors: dict[int, PuterError]) -> None:
        super().__init__(texts)
        self.errors = errors


@dataclass
class Prompts:
    """The prompts built from a template and an input, and how to shape the results."""

    kind: str  # "list", "series" or "frame"
    texts: list[str]
    items: list[str]  # a short form of each item, for the preview
    index: Any = None  # the pandas index for "series" and "frame"

    def __len__(self) -> int:
        return len(self.texts)


class _Without(Mapping[str, Any]):
    """A namespace without some names (the item fields, filled in the second pass)."""

    def __init__(self, namespace: Mapping[str, Any], hidden: set[str]) -> None:
        self._namespace = namespace
        self._hidden = hidden

    def __getitem__(self, key: str) -> Any:
        if key in self._hidden:
            raise KeyError(key)
        return self._namespace[key]

    def __contains__(self, key: object) -> bool:
        return key not in self._hidden and key in self._namespace

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._namespace if k not in self._hidden)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _pandas() -> Any:
    return sys.modules.get("pandas")


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    pd = _pandas()
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return ""
    return str(value)


def _rows(value: Any, name: str) -> tuple[str, list[str], list[dict[str, str]], Any]:
    """(kind, field names, one dict of fields per item, index) of the input."""
    pd = _pandas()
    if isinstance(value, (list, tuple)):
        return "list", ["item"], [{"item": _text(v)} for v in value], None
    if pd is not None and isinstance(value, pd.Series):
        return "series", ["item"], [{"item": _text(v)} for v in value.tolist()], value.index
    if pd is not None and isinstance(value, pd.DataFrame):
        columns = [str(c) for c in value.columns]
        if len(set(columns)) != len(columns):
            raise UsageError(f"--each {name}: the DataFrame has columns with the same name")
        rows = [
            {c: _text(v) for c, v in zip(columns, row)}  # noqa: B905 (a row has one value per column)
            for row in value.itertuples(index=False, name=None)
        ]
        return "frame", columns, rows, value.index
    kind = type(value).__name__
    raise UsageError(f"--each {name}: needs a list, a tuple, a pandas Series or a DataFrame, not a {kind}")


def build_prompts(
    template: str, value: Any, name: str, namespace: Mapping[str, Any], *, interpolate_vars: bool = True
) -> Prompts:
    """One prompt per item of *value* from *template* (see the module's doc)."""
    kind, fields, rows, index = _rows(value, name)
    if interpolate_vars:
        from .interpolate import interpolate

        template, _ = interpolate(template, _Without(namespace, set(fields)))
    pattern = re.compile(
        r"(?<!\{)\{(" + "|".join(re.escape(f) for f in sorted(fields, key=len, reverse=True)) + r")\}(?!\})"
    )
    if not pattern.search(template):
        shown = ", ".join("{" + f + "}" for f in fields[:6]) + (", …" if len(fields) > 6 else "")
        raise UsageError(
            f"--each {name}: the cell never uses an item; write {shown} where each item's value goes"
        )
    texts = [pattern.sub(lambda m, row=row: row[m.group(1)], template) for row in rows]  # type: ignore[misc]
    items = [
        row["item"] if kind != "frame" else ", ".join(f"{k}={v}" for k, v in row.items()) for row in rows
    ]
    return Prompts(kind, texts, items, index)


def results_for(prompts: Prompts, texts: list[str | None], errors: dict[int, PuterError]) -> Any:
    """What ``--out`` stores: a :class:`Replies` list, or a pandas Series on the input's index
    (``attrs["errors"]`` maps an index label to its error)."""
    if prompts.kind == "list":
        return Replies(texts, errors)
    pd = _pandas()
    series = pd.Series(texts, index=prompts.index, dtype=object, name="reply")
    series.attrs["errors"] = {prompts.index[i]: err for i, err in errors.items()}
    return series
