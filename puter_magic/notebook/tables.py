"""Tables that read in a terminal and in a notebook: the usage meter, and the text table
every table here uses."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from ..api.usage import UsageMeter

__all__ = ["UsageTable", "VoicesTable", "html_table", "text_table"]

Row = Sequence[str]


def text_table(head: Row, rows: Sequence[Row]) -> list[str]:
    """The lines of a plain-text table: columns padded to their widest cell, a rule under
    the head, no trailing spaces."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def html_table(head: Row, rows: Sequence[Row], css_class: str) -> str:
    """An HTML table of text cells (every cell escaped)."""
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    heads = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f'<table class="{css_class}"><thead><tr>{heads}</tr></thead><tbody>{cells}</tbody></table>'


class UsageTable:
    """%puter_usage: tokens and cost per model, and the total."""

    HEAD = ("model", "requests", "input tokens", "output tokens", "cost")

    def __init__(self, meter: UsageMeter) -> None:
        self.meter = meter

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        rows = self.meter.rows()
        if not rows:
            return {
                "text/plain": "No Puter usage yet in this notebook.",
                "text/html": "<div class='puter-usage'>No Puter usage yet in this notebook.</div>",
            }
        summary = f"In all: {self.meter.summary()}."
        plain = "\n".join(text_table(self.HEAD, rows)) + f"\n\n{summary}"
        table = html_table(self.HEAD, rows, "puter-usage") + f"<div>{html.escape(summary)}</div>"
        return {"text/plain": plain, "text/html": table}

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


def _language(entry: dict[str, Any]) -> str:
    lang = entry.get("language")
    if isinstance(lang, dict):
        name, code = lang.get("name"), lang.get("code")
        return f"{name} ({code})" if name and code else str(name or code or "")
    return str(lang or "")


def _cell(value: Any, limit: int = 60) -> str:
    text = " ".join(str(value if value is not None else "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class VoicesTable:
    """``%puter_speak --voices``: the voices a provider offers, then its engines."""

    VOICE_HEAD = ("voice", "name", "language", "provider", "models")
    ENGINE_HEAD = ("engine", "name", "provider", "price per 1M characters")
    MAX_ROWS = 500

    def __init__(
        self, voices: list[dict[str, Any]], engines: list[dict[str, Any]], provider: str | None
    ) -> None:
        self.voices, self.engines, self.provider = voices, engines, provider

    def _rows(self) -> tuple[list[Row], list[Row]]:
        voices: list[Row] = [
            (
                _cell(v.get("id")),
                _cell(v.get("name")),
                _cell(_language(v)),
                _cell(v.get("provider")),
                _cell(", ".join(map(str, v.get("supported_models") or [])), 80),
            )
            for v in self.voices[: self.MAX_ROWS]
        ]
        engines: list[Row] = [
            (
                _cell(e.get("id")),
                _cell(e.get("name")),
                _cell(e.get("provider")),
                _cell(e.get("pricing_per_million_chars", "")),
            )
            for e in self.engines[: self.MAX_ROWS]
        ]
        return voices, engines

    def _summary(self) -> str:
        whose = f"provider {self.provider}" if self.provider else "the server's providers"
        if not self.voices and not self.engines:
            return f"No voices from {whose}: text-to-speech may have no provider configured here."
        more = len(self.voices) - self.MAX_ROWS
        tail = f" (the first {self.MAX_ROWS} shown)" if more > 0 else ""
        return (
            f"{len(self.voices)} voice{'s' if len(self.voices) != 1 else ''} and {len(self.engines)} "
            f"engine{'s' if len(self.engines) != 1 else ''} from {whose}{tail}; "
            "use one with %%puter_speak --voice ID (and --provider P)."
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        voices, engines = self._rows()
        summary = self._summary()
        plain, rich = [summary], [f"<div>{html.escape(summary)}</div>"]
        if voices:
            plain += ["", *text_table(self.VOICE_HEAD, voices)]
            rich.append(html_table(self.VOICE_HEAD, voices, "puter-voices"))
        if engines:
            plain += ["", *text_table(self.ENGINE_HEAD, engines)]
            rich.append(html_table(self.ENGINE_HEAD, engines, "puter-engines"))
        return {"text/plain": "\n".join(plain), "text/html": "".join(rich)}

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]
