"""What the media cells show besides the image or player itself: a quiet footer, text read
from speech or a picture, a driver call's JSON, a binary reply of another kind.

Every view is bounded (a notebook is a file people email) and has a ``text/plain`` that reads
well in a terminal. Images and players are the api's results themselves
(:class:`~puter_magic.api.media_results.ImageResult` shows as a native ``image/*`` output, which
frontends scale down to the cell's width and never up, and which survives a notebook reopened
untrusted; :class:`~puter_magic.api.media_results.AudioResult` as an ``<audio controls>`` player).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from ..api.humanize import human_size
from .rendering import MUTED, footer_html

__all__ = ["BinaryNote", "Footer", "JsonView", "TextView", "bounded_json"]

Bundle = dict[str, Any]
MAX_TEXT = 20_000  # characters of a transcript or OCR text shown (all of it is in --out)
MAX_STRING = 300  # characters of one JSON string shown
MAX_ITEMS = 100  # items of one JSON list or object shown
MAX_PLAIN_LINES = 200


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass
class Footer:
    """One muted line under a media output: ``sandbox-image · 0.2 s · saved to kite.png``."""

    parts: list[str]
    notes: list[str] = field(default_factory=list)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        lines = [" · ".join(p for p in self.parts if p), *self.notes]
        lines = [line for line in lines if line]
        return {"text/plain": "\n".join(lines), "text/html": footer_html(lines)}

    def __repr__(self) -> str:
        return str(self._repr_mimebundle_()["text/plain"])


@dataclass
class TextView:
    """Text heard in speech or read in a picture: paragraphs kept, a quiet footer naming the source."""

    text: str
    footer: Footer

    def _shown(self) -> tuple[str, str]:
        if len(self.text) <= MAX_TEXT:
            return self.text, ""
        rest = len(self.text) - MAX_TEXT
        return self.text[:MAX_TEXT], f"… {rest:,} more characters (the whole text is in --out VAR)"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        shown, cut = self._shown()
        foot = self.footer._repr_mimebundle_()
        empty = "(no text found)"
        plain = (shown or empty) + (f"\n{cut}" if cut else "") + f"\n\n{foot['text/plain']}"
        body = f'<div class="puter-text" style="white-space: pre-wrap">{_esc(shown) or _esc(empty)}</div>'
        if cut:
            body += f'<div style="{MUTED}">{_esc(cut)}</div>'
        return {"text/plain": plain, "text/html": f'<div class="puter-reply">{body}{foot["text/html"]}</div>'}

    def __repr__(self) -> str:
        return str(self._repr_mimebundle_()["text/plain"])


def bounded_json(value: Any, depth: int = 0) -> Any:
    """*value* with long strings, long lists and deep nesting cut, marked where they were."""
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING else value[:MAX_STRING] + f"… ({len(value):,} characters)"
    if depth >= 12 and isinstance(value, (dict, list)):
        return "…"
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k): bounded_json(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["…"] = f"{len(items) - MAX_ITEMS} more keys"
        return out
    if isinstance(value, (list, tuple)):
        shown = [bounded_json(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            shown.append(f"… {len(value) - MAX_ITEMS} more items")
        return shown
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


@dataclass
class JsonView:
    """A driver call's JSON result: the frontend's JSON viewer, and indented text for terminals."""

    value: Any

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        shown = bounded_json(self.value)
        lines = json.dumps(shown, indent=2, ensure_ascii=False).splitlines()
        if len(lines) > MAX_PLAIN_LINES:
            lines = [*lines[:MAX_PLAIN_LINES], f"… {len(lines) - MAX_PLAIN_LINES} more lines"]
        return {"application/json": shown, "text/plain": "\n".join(lines)}

    def __repr__(self) -> str:
        return str(self._repr_mimebundle_()["text/plain"])


@dataclass
class BinaryNote:
    """A binary reply that is neither an image nor audio: its type and size, and where it is."""

    content_type: str
    size: int
    where: str = ""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        text = f"{self.content_type}, {human_size(self.size)}" + (f" ({self.where})" if self.where else "")
        return {"text/plain": text, "text/html": f'<div style="{MUTED}">{_esc(text)}</div>'}
