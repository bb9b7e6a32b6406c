"""The prompts of ``%%puter --each NAME``: the cell is a template asked once per item.

- a list or tuple: ``{item}`` is the item; ``--out`` gets a list (:class:`Replies`);
- a pandas Series: ``{item}`` is the value; ``--out`` gets a Series with the same index;
- a pandas DataFrame: one prompt per row, ``{column}`` by name; ``--out`` gets a Series
  with the DataFrame's index;
- a glob of files (``--each "notes/*.md"``: a quoted argument that is not a variable's name):
  ``{item}`` is a file's text (at most :data:`MAX_FILE_CHARS`, and the prompt says when it was
  cut), ``{path}`` its path; an image file is attached to its question instead (for models that
  see); ``--out`` gets a dict from path to reply (:class:`FileReplies`), or a Series indexed
  by path when pandas is installed.

Filling in, in this order: first ``{name}`` of notebook variables, with the usual rules
(:mod:`.interpolate`; a name that is also an item field is left for the second pass),
then the item's fields, in one pass and everywhere in the template, code blocks included
(a template over items means them). A value is never scanned again, so data cannot pull
in a notebook variable. Missing values (None, NaN) become empty text. pandas is used only
when the input is pandas (it is then imported already).
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

from ..api.errors import PuterError

__all__ = [
    "MAX_FILE_CHARS",
    "FileReplies",
    "Prompts",
    "Replies",
    "build_prompts",
    "file_prompts",
    "results_for",
]

MAX_FILE_CHARS = 20_000  # of a file's text put in its prompt
MAX_FILES = 5_000


class FileReplies(dict[str, str | None]):
    """The replies of a batch over files: path to reply text (None where it failed or was not
    asked); ``errors`` maps a path to its :class:`~puter_magic.api.errors.PuterError`."""

    errors: dict[str, PuterError]

    def __init__(self, texts: dict[str, str | None], errors: dict[str, PuterError]) -> None:
        super().__init__(texts)
        self.errors = errors


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

    kind: str  # "list", "series", "frame" or "files"
    texts: list[str]
    items: list[str]  # a short form of each item, for the preview
    index: Any = None  # the pandas index for "series" and "frame"; the paths of "files" (a Series)
    images: list[str | None] | None = None  # "files": the image file attached to each prompt
    notes: list[str] | None = None  # said under the batch (files cut short...)

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


def _read_file(path: str) -> tuple[str, str | None, bool]:
    """(the text for ``{item}``, the path if it is an image to attach, whether it was cut)."""
    from ..api.media import sniff_image

    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
            if sniff_image(head[:32]):
                return "", path, False
            data = head + handle.read(MAX_FILE_CHARS * 4 + 4)
    except OSError as exc:
        raise UsageError(f"--each: could not read {path}: {exc.strerror or exc}") from None
    if b"\x00" in data[:8192]:
        raise UsageError(f"--each: {path} is neither text nor an image Puter's models can see")
    text = data.decode("utf-8", errors="replace")
    if len(text) <= MAX_FILE_CHARS:
        return text, None, False
    import os

    size = os.path.getsize(path)
    return (
        text[:MAX_FILE_CHARS] + f"\n[… the file goes on: it is {size:,} bytes; only its first "
        f"{MAX_FILE_CHARS:,} characters are here]",
        None,
        True,
    )


def file_prompts(
    template: str, pattern: str, namespace: Mapping[str, Any], *, interpolate_vars: bool = True
) -> Prompts:
    """One prompt per file matching the glob *pattern* (sorted): ``{item}`` its text (an image
    is attached instead), ``{path}`` its path. No match is a UsageError."""
    import glob
    import os

    paths = sorted(p for p in glob.glob(os.path.expanduser(pattern), recursive=True) if os.path.isfile(p))
    if not paths:
        raise UsageError(f"--each {pattern}: no variable of that name and no file matches it")
    if len(paths) > MAX_FILES:
        raise UsageError(f"--each {pattern}: {len(paths):,} files match; at most {MAX_FILES:,} in one cell")
    if interpolate_vars:
        from .interpolate import interpolate

        template, _ = interpolate(template, _Without(namespace, {"item", "path"}))
    fields = re.compile(r"(?<!\{)\{(item|path)\}(?!\})")
    if not fields.search(template):
        raise UsageError(
            f"--each {pattern}: the cell never uses a file; write {{item}} (its text) or {{path}}"
        )
    texts, images, cut = [], [], []
    for path in paths:
        text, image, was_cut = _read_file(path)
        values = {
            "item": text if image is None else f"(the attached image {os.path.basename(path)})",
            "path": path,
        }
        texts.append(fields.sub(lambda m, v=values: v[m.group(1)], template))  # type: ignore[misc]
        images.append(image)
        if was_cut:
            cut.append(path)
    notes = []
    if cut:
        shown = ", ".join(cut[:3]) + (f" and {len(cut) - 3} more" if len(cut) > 3 else "")
        files = f"{len(cut)} file{'s' if len(cut) != 1 else ''}"
        its = "its" if len(cut) == 1 else "their"
        notes.append(f"{files} cut to {its} first {MAX_FILE_CHARS:,} characters: {shown}.")
    attached = sum(1 for i in images if i)
    if attached:
        one = attached == 1
        notes.append(
            f"{attached} image file{'' if one else 's'} attached to {'its' if one else 'their'} "
            "question (for models that see)."
        )
    index = paths if importlib.util.find_spec("pandas") is not None else None
    return Prompts("files", texts, paths, index, images=images, notes=notes)


def results_for(prompts: Prompts, texts: list[str | None], errors: dict[int, PuterError]) -> Any:
    """What ``--out`` stores: a :class:`Replies` list, a :class:`FileReplies` dict, or a pandas
    Series on the input's index (``attrs["errors"]`` maps an index label to its error)."""
    if prompts.kind == "list":
        return Replies(texts, errors)
    if prompts.kind == "files" and prompts.index is None:
        return FileReplies(dict(zip(prompts.items, texts)), {prompts.items[i]: e for i, e in errors.items()})  # noqa: B905
    pd = _pandas()
    if pd is None:  # a glob's Series: pandas is installed, imported only now
        pd = importlib.import_module("pandas")
    series = pd.Series(texts, index=prompts.index, dtype=object, name="reply")
    series.attrs["errors"] = {prompts.index[i]: err for i, err in errors.items()}
    return series
