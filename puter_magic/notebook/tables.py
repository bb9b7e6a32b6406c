"""Tables that read in a terminal and in a notebook: the usage meter, and the text table
every table here uses."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from ..api.usage import UsageMeter

__all__ = ["UsageTable", "html_table", "text_table"]

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
