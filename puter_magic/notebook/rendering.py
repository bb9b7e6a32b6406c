"""What a user sees: replies and notes as display objects (warnings: :mod:`.advice`).

Each object has ``_repr_mimebundle_`` with ``text/plain`` (terminal IPython, logs) and
rich forms for notebooks. Nothing here imports IPython: frontends call the repr methods,
and the magics hand these objects to ``display``. Model text only reaches HTML through
:mod:`.markup`; everything else is escaped here.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ..api.humanize import plural
from ..api.usage import total_tokens
from .bounds import MAX_DISPLAY_CHARS, cut_text, left_out_note

__all__ = ["Note", "PartialReply", "ReplyView", "footer_html", "footer_text", "split_bundle"]

Bundle = dict[str, str]


def split_bundle(obj: Any) -> tuple[Bundle, dict[str, Any]]:
    """*obj*'s MIME bundle and its output metadata (``_repr_mimebundle_`` may return both)."""
    got = obj._repr_mimebundle_()
    if isinstance(got, tuple):
        return got[0], dict(got[1])
    return got, {}


MUTED = "color: var(--jp-ui-font-color2, #6b7280); font-size: 0.85em"
BOX = (
    "border-left: 4px solid {border}; background: {background}; padding: 8px 12px; "
    "margin: 4px 0; border-radius: 4px; color: var(--jp-content-font-color1, inherit); "
    "font-family: var(--jp-ui-font-family, system-ui, sans-serif); line-height: 1.45"
)
WARN_STYLE = BOX.format(border="var(--jp-warn-color0, #b45309)", background="rgba(245, 158, 11, 0.12)")
NOTE_STYLE = BOX.format(border="var(--jp-info-color0, #0369a1)", background="rgba(14, 165, 233, 0.10)")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def footer_html(lines: list[str]) -> str:
    """Quiet lines under an output (the footer, notes), one muted line each."""
    return "".join(
        f'<div class="puter-footer" style="{MUTED}; margin-top: 6px">{_esc(n)}</div>' for n in lines
    )


def footer_text(
    model: str | None,
    usage: dict[str, Any] | None,
    elapsed: float | None,
    extra: list[str] | None = None,
) -> str:
    """``sandbox-tutor · 1,234 tokens · 0.3¢ · 2.1 s``

    A usage with no token counts (Puter's streamed usage line from some providers is only
    ``{"usd_cents": null}``) says "tokens not reported" rather than leaving them out.
    """
    parts = []
    if model:
        parts.append(model)
    tokens = total_tokens(usage or {})
    parts.append(plural(tokens, "token") if tokens is not None else "tokens not reported")
    cents = (usage or {}).get("usd_cents")
    if isinstance(cents, (int, float)) and not isinstance(cents, bool) and cents > 0:
        parts.append(f"{cents:.3g}¢")
    if elapsed is not None:
        parts.append(f"{elapsed:.1f} s")
    parts.extend(extra or [])
    return " · ".join(parts)


@dataclass
class ReplyView:
    """A finished (or interrupted) reply: Markdown rendered safely, and a quiet footer."""

    text: str
    model: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    elapsed: float | None = None
    notes: list[str] = field(default_factory=list)
    reasoning: str = ""
    interrupted: bool = False
    raw: bool = False
    show_footer: bool = True
    images: list[dict[str, Any]] = field(default_factory=list)  # message.images / image chunks
    limit: int = MAX_DISPLAY_CHARS  # the most characters of the text displayed
    where: str = ""  # where the whole text is, for the note when the display is cut
    sources: list[Any] = field(default_factory=list)  # pages a web-search reply cites (api.chat.Source)
    asked: list[str] = field(default_factory=list)  # what the cell asked for: "effort high", "web search"
    badges: list[str] = field(default_factory=list)  # at the footer's end, e.g. "tutor"
    metadata: dict[str, Any] = field(default_factory=dict)  # the output's metadata (provenance)

    def footer(self) -> str:
        extra = [*self.asked, *self.badges]  # "(interrupted)" already follows the text
        return footer_text(self.model, self.usage, self.elapsed, extra) if self.show_footer else ""

    def tail_lines(self) -> list[str]:
        """The quiet lines under the text: what was left out, the footer, the notes."""
        cut = cut_text(self.text, self.limit)
        left_out = left_out_note(cut, self.where) if cut.cut else ""
        return [n for n in [left_out, self.footer(), *self.notes] if n]

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> Bundle | tuple[Bundle, dict[str, Any]]:
        """The bundle, with the output metadata when there is some (it is saved in the .ipynb)."""
        return (self.bundle(), self.metadata) if self.metadata else self.bundle()

    def bundle(self) -> Bundle:
        from . import markup

        shown = cut_text(self.text, self.limit).shown
        lines = self.tail_lines()
        plain = shown.rstrip()
        if self.interrupted:
            plain += " … (interrupted)"
        pics_plain = pics_html = pics_md = ""
        if self.images:
            from .reply_images import image_parts

            pics_plain, pics_html, pics_md = image_parts(self.images)
            plain += "\n\n" + pics_plain
        if self.sources:
            from .sources import source_parts

            cited_plain, cited_html, cited_md = source_parts(self.sources)
            plain += "\n\n" + cited_plain
            pics_html += cited_html
            pics_md = f"{pics_md}\n\n{cited_md}" if pics_md else cited_md
        tail = "\n".join(lines)
        bundle: Bundle = {"text/plain": plain + (f"\n\n{tail}" if tail else "")}
        foot_html = footer_html(lines)
        mark = f' <span style="{MUTED}">(interrupted)</span>' if self.interrupted else ""
        thinking = ""
        if self.reasoning:
            reasoning = cut_text(self.reasoning, self.limit)
            more = f"\n{left_out_note(reasoning)}" if reasoning.cut else ""
            thinking = (
                f'<details class="puter-reasoning" style="{MUTED}; margin-bottom: 6px">'
                f"<summary>Reasoning</summary><div style='white-space: pre-wrap'>"
                f"{_esc(reasoning.shown + more)}</div></details>"
            )
        if self.raw:
            body = f'<pre style="white-space: pre-wrap">{_esc(shown)}</pre>'
            bundle["text/html"] = (
                f'<div class="puter-reply">{thinking}{body}{pics_html}{mark}{foot_html}</div>'
            )
            return bundle
        md_tail = "".join(f'\n\n<span style="{MUTED}">{_esc(n)}</span>' for n in lines)
        interrupted_md = f'\n\n<span style="{MUTED}">(interrupted)</span>' if self.interrupted else ""
        pics_md = f"\n\n{pics_md}" if pics_md else ""
        bundle["text/markdown"] = markup.safe_markdown(shown) + pics_md + interrupted_md + md_tail
        bundle["text/html"] = (
            f'<div class="puter-reply">{thinking}{markup.to_html(shown)}{pics_html}{mark}{foot_html}</div>'
        )
        return bundle

    def __repr__(self) -> str:
        return self.bundle()["text/plain"] if self.raw else f"ReplyView({self.text[:60]!r}…)"


@dataclass
class PartialReply:
    """A reply while it streams: cheap to build, so updates stay linear in the text."""

    text: str = ""
    elapsed: float = 0.0
    reasoning_chars: int = 0
    limit: int = MAX_DISPLAY_CHARS  # the most characters of the text displayed

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        from . import markup

        if not self.text:
            label = f"thinking… {self.elapsed:.1f} s"
            if self.reasoning_chars:
                label = f"reasoning… {self.elapsed:.1f} s"
            return {
                "text/plain": label,
                "text/html": f'<div class="puter-thinking" style="{MUTED}">{_esc(label)}</div>',
            }
        # While streaming, text/plain is an excerpt (frontends show the Markdown; terminals
        # print the text themselves); the final rendering carries all of it.
        tail = self.text if len(self.text) <= 2000 else "…" + self.text[-2000:]
        cut = cut_text(self.text, self.limit)
        if not cut.cut:
            return {"text/plain": tail, "text/markdown": markup.safe_markdown(self.text) + " ▍"}
        # Past the bound the display stops growing: the first part stays, and a line
        # counts what is still arriving.
        so_far = (
            f"… receiving: {cut.total:,} characters so far; the first {cut.total - cut.left_out:,} "
            "are shown here"
        )
        return {
            "text/plain": tail,
            "text/markdown": markup.safe_markdown(cut.shown) + f'\n\n<span style="{MUTED}">{so_far} ▍</span>',
        }


@dataclass
class Note:
    """A short styled note (signed in, thread reset...)."""

    title: str
    message: str = ""
    code: str | None = None  # a command to show as code
    link: str | None = None  # a URL to show as a link

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        plain = self.title + (f" {self.message}" if self.message else "")
        if self.code:
            plain += f" ({self.code})"
        if self.link:
            plain += f"\n{self.link}"
        body = f"<strong>{_esc(self.title)}</strong>"
        if self.message:
            body += f" {_esc(self.message)}"
        if self.code:
            body += f" <code>{_esc(self.code)}</code>"
        if self.link:
            link = _esc(self.link)
            body += f'<div><a href="{link}" target="_blank" rel="noopener">{link}</a></div>'
        return {
            "text/plain": plain,
            "text/html": f'<div class="puter-note" style="{NOTE_STYLE}">{body}</div>',
        }

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]
