"""Bounded displays: however long a reply is, what is displayed stays small.

A notebook is a file people email and commit, so a 10 MB reply must not put 10 MB into
it three times over (text/plain, text/markdown, text/html). What is displayed is the
first ``MAX_DISPLAY_CHARS`` characters, cut at a sensible place (a paragraph end, else a
line end, else a space, found near the bound), with a code fence the cut leaves open
closed again, and a note that says how much was left out and where the whole text is.
Only the displayed part ever reaches the Markdown pipeline, so showing a huge reply
costs as little as showing a long one. What is *kept* (``--out``, the conversation,
``%puter_history --json``) is never cut. Pure; no IPython.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..api.humanize import plural
from .settings import MAX_DISPLAY_CHARS

__all__ = ["MAX_DISPLAY_CHARS", "BoundedData", "Cut", "close_fence", "cut_point", "cut_text", "left_out_note"]

LOOKBACK = 0.1  # how far before the bound (a share of it) a nicer place to cut is looked for

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*$", re.MULTILINE)


@dataclass(frozen=True)
class Cut:
    """The part of a text to display, and how much of it was left out."""

    shown: str
    left_out: int
    total: int

    @property
    def cut(self) -> bool:
        return self.left_out > 0


def cut_point(text: str, limit: int) -> int:
    """Where to cut *text* so that at most *limit* characters show (``len(text)`` if it fits).

    Prefers the end of a paragraph, then of a line, then a space, within the last tenth
    before the bound; otherwise the bound itself, moved back off combining marks so a
    character is never split from its accents. ``limit <= 0`` means no bound.
    """
    if limit <= 0 or len(text) <= limit:
        return len(text)
    floor = limit - max(1, int(limit * LOOKBACK))
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, floor, limit)
        if at >= 0:
            return at + 1  # a line keeps its end; a blank line after it is dropped
    end = limit
    while end > floor and unicodedata.combining(text[end]):
        end -= 1
    return end


def _open_fence(head: str) -> str | None:
    """The marker of a code fence *head* opens and does not close (as Markdown reads it)."""
    if "```" not in head and "~~~" not in head:
        return None
    opened: str | None = None
    for match in _FENCE.finditer(head):
        marker = match.group(1)
        if opened is None:
            opened = marker
        elif re.fullmatch(
            r"[ \t]*" + re.escape(opened[0]) + "{" + str(len(opened)) + r",}[ \t]*", match.group(0)
        ):
            opened = None
    return opened


def close_fence(text: str) -> str:
    """*text* with a code fence it leaves open closed (a reply half streamed)."""
    fence = _open_fence(text)
    return text if fence is None else text + ("" if text.endswith("\n") else "\n") + fence + "\n"


def cut_text(text: str, limit: int = MAX_DISPLAY_CHARS) -> Cut:
    """The displayable part of *text*: all of it if it fits, else a cut with fences closed."""
    end = cut_point(text, limit)
    if end >= len(text):
        return Cut(text, 0, len(text))
    head = text[:end]
    fence = _open_fence(head)
    if fence is not None:
        head += ("" if head.endswith("\n") else "\n") + fence + "\n"
    return Cut(head, len(text) - end, len(text))


def left_out_note(cut: Cut, where: str = "") -> str:
    """``… 9,900,000 more characters not shown (10,000,000 in all); <where>``"""
    note = f"… {plural(cut.left_out, 'more character')} not shown ({cut.total:,} in all)"
    return f"{note}; {where}" if where else note


class BoundedData(dict[str, Any]):
    """A dict (JSON-ready data, kept whole) whose display as a cell's result is bounded."""

    limit: int = MAX_DISPLAY_CHARS
    where: str = ""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        if cycle:
            printer.text("{...}")
            return
        from IPython.lib.pretty import pretty

        cut = cut_text(pretty(dict(self)), self.limit)  # type: ignore[no-untyped-call]
        printer.text(cut.shown)
        if cut.cut:
            printer.text("\n" + left_out_note(cut, self.where))
