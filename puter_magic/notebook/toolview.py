"""What a cell with tools shows: one folded line per call above the answer.

``called describe(n=5) → 5 rows`` is a ``<details>`` whose summary is that line and whose
body holds the arguments and what was sent back to the model, both bounded. A refused,
failed, unknown or skipped call says so on its line. :class:`ToolsView` puts the lines
above any other display objects (the streaming reply, the final reply, a warning), in
every representation they share. Everything here is escaped: a call's name, arguments
and result are the model's and the function's, never markup.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from ..api.toolloop import BAD_ARGUMENTS, FAILED, OK, REFUSED, SKIPPED, UNKNOWN, ToolCall, ToolRun
from .rendering import MUTED

__all__ = ["CallLine", "ToolsView"]

DETAIL_CHARS = 2000  # of the arguments and of the result, in the unfolded part

LINE_STYLE = f"{MUTED}; margin: 2px 0"
PRE_STYLE = "white-space: pre-wrap; margin: 2px 0 6px 0; max-height: none"


def _esc(text: str) -> str:
    # Newlines as character references, so the block stays one line inside Markdown too
    # (a blank line would end an HTML block there).
    return html.escape(text, quote=True).replace("\n", "&#10;")


def _bounded(text: str, limit: int = DETAIL_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text):,} characters in all)"


@dataclass
class CallLine:
    """One call as the cell shows it: running, waiting for approval, or done."""

    call: ToolCall
    run: ToolRun | None = None
    waiting: bool = False  # asking the user
    interrupted: bool = False
    note: str = ""  # e.g. why a refusal happened

    def parts(self) -> tuple[str, str, str]:
        """(before, the call as code, after): ``called``, ``describe(n=5)``, ``→ 5 rows``."""
        label = self.call.label()
        run = self.run
        if run is None:
            if self.interrupted:
                return "interrupted while calling", label, ""
            if self.waiting:
                return "asks to call", label, "(approve or refuse below)"
            return "calling", label, "…"
        if run.status == OK:
            return "called", label, f"→ {run.summary()}"
        if run.status == FAILED:
            return "called", label, f"→ failed: {run.error or ''}"
        if run.status == REFUSED:
            return "did not call", label, f"(refused{': ' + self.note if self.note else ''})"
        if run.status == UNKNOWN:
            return "did not call", label, "(unknown tool: not one of --tools)"
        if run.status == BAD_ARGUMENTS:
            return "did not call", label, f"(bad arguments: {run.error or ''})"
        if run.status == SKIPPED:
            return "did not call", label, "(the step limit was reached)"
        return "called", label, run.status

    def plain(self) -> str:
        before, label, after = self.parts()
        line = f"{before} {label} {after}".rstrip()
        return line if len(line) <= 200 else line[:199] + "…"

    def html(self) -> str:
        before, label, after = self.parts()
        if len(after) > 160:
            after = after[:159] + "…"
        summary = f"{_esc(before)} <code>{_esc(label)}</code> {_esc(after)}".rstrip()
        if self.run is None:
            return f'<div class="puter-tool-call" style="{LINE_STYLE}">{summary}</div>'
        arguments = json.dumps(self.call.arguments, indent=2, ensure_ascii=False, default=str)
        body = f"<div>Arguments</div><pre style='{PRE_STYLE}'>{_esc(_bounded(arguments))}</pre>"
        if self.run.content:
            body += (
                f"<div>Sent back to the model</div><pre style='{PRE_STYLE}'>"
                f"{_esc(_bounded(self.run.content))}</pre>"
            )
        return (
            f'<details class="puter-tool-call" style="{LINE_STYLE}"><summary>{summary}</summary>'
            f'<div style="margin-left: 1.2em">{body}</div></details>'
        )


@dataclass
class ToolsView:
    """Call lines above other display objects (a reply while it streams, the final reply,
    a warning). ``text/html`` when every part has it; ``text/markdown`` when every part has
    Markdown or HTML (our lines are HTML blocks in it); ``text/plain`` always."""

    lines: list[CallLine] = field(default_factory=list)
    parts: list[Any] = field(default_factory=list)

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str] | tuple[dict[str, str], dict[str, Any]]:
        """The bundle, with the reply's output metadata when it carries some."""
        from .rendering import split_bundle

        split = [split_bundle(p) for p in self.parts]
        metadata = {k: v for _, md in split for k, v in md.items()}
        out = self.bundle([b for b, _ in split])
        return (out, metadata) if metadata else out

    def bundle(self, bundles: list[dict[str, str]] | None = None) -> dict[str, str]:
        if bundles is None:
            from .rendering import split_bundle

            bundles = [split_bundle(p)[0] for p in self.parts]
        plain = [line.plain() for line in self.lines] + [b.get("text/plain", "") for b in bundles]
        out = {"text/plain": "\n".join(t for t in plain if t)}
        calls = "".join(line.html() for line in self.lines)
        if all("text/html" in b for b in bundles):
            inner = "".join(b["text/html"] for b in bundles)
            out["text/html"] = f'<div class="puter-tools">{calls}{inner}</div>'
        if all("text/markdown" in b or "text/html" in b for b in bundles):
            pieces = [f'<div class="puter-tools">{calls}</div>'] if calls else []
            pieces += [b.get("text/markdown", b.get("text/html", "")) for b in bundles]
            out["text/markdown"] = "\n\n".join(pieces)
        return out

    def __repr__(self) -> str:
        return self.bundle()["text/plain"]
