"""What a user sees: replies, notes, footers, bounds, tables, reply images and cited sources,
as display objects with a ``text/plain`` twin.

Each object has ``_repr_mimebundle_`` with ``text/plain`` (terminal IPython, logs) and rich
forms for notebooks. Nothing here imports IPython at load: frontends call the repr methods, and
the flows hand these objects to the cell's output. Model text only reaches HTML through
:mod:`.markup`; everything else is escaped here, and every URL a reply names is checked before
it is shown (the kernel never fetches one).

Bounded displays: however long a reply is, what is displayed stays small. A notebook is a file
people email and commit, so a 10 MB reply must not put 10 MB into it three times over. What is
displayed is the first ``max_display_chars`` characters, cut at a sensible place (a paragraph
end, else a line end, else a space, found near the bound), with a code fence the cut leaves open
closed again, and a note that says how much was left out and where the whole text is. What is
*kept* (``--out``, the conversation, ``%puter_history --json``) is never cut.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..api.humanize import plural
from ..api.usage import UsageMeter, total_tokens

if TYPE_CHECKING:
    from ..api.chat import Source

__all__ = [
    "MAX_DISPLAY_CHARS",
    "MAX_SOURCES",
    "BoundedData",
    "Cut",
    "Note",
    "PartialReply",
    "ReplyView",
    "ShownImage",
    "UsageTable",
    "VoicesTable",
    "close_fence",
    "cut_point",
    "cut_text",
    "footer_html",
    "footer_text",
    "html_table",
    "image_parts",
    "inspect_image",
    "left_out_note",
    "source_parts",
    "split_bundle",
    "text_table",
]

MAX_DISPLAY_CHARS = 100_000  # characters of a reply an output shows (the max_display_chars setting)

# -- replies and notes -------------------------------------------------------------------------

Bundle = dict[str, str]


def split_bundle(obj: Any) -> tuple[Bundle, dict[str, Any]]:
    """*obj*'s MIME bundle and its output metadata (``_repr_mimebundle_`` may return both)."""
    got = obj._repr_mimebundle_()
    if isinstance(got, tuple):
        return got[0], dict(got[1])
    return got, {}


MUTED = "color: var(--jp-ui-font-color2, #6b7280); font-size: 0.85em"
# The class of an element whose text is not math: JupyterLab typesets every HTML output and
# ipywidgets' HTML with MathJax, which reads "in $0.30 / out $1.20" as a formula (MathJax 3's
# class for that, and MathJax 2's, which classic frontends use).
NOT_MATH = "mathjax_ignore tex2jax_ignore"
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
    style = f"{MUTED}; margin-top: 6px"
    return "".join(f'<div class="puter-footer {NOT_MATH}" style="{style}">{_esc(n)}</div>' for n in lines)


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
            pics_plain, pics_html, pics_md = image_parts(self.images)
            plain += "\n\n" + pics_plain
        if self.sources:
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
            "text/html": f'<div class="puter-note {NOT_MATH}" style="{NOTE_STYLE}">{body}</div>',
        }

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


# -- bounds: what is displayed of a long text --------------------------------------------------

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


# -- tables ------------------------------------------------------------------------------------

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


# -- images in a reply -------------------------------------------------------------------------

MAX_INLINE_BYTES = 8 * 1024 * 1024  # a larger data: URL is named, not put into the notebook
RASTER = {  # the types a data: URL may name, and the type its bytes must then be
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
}
# An https URL is put in an attribute and in Markdown as it is, so only plain URL characters pass.
_SAFE_IMAGE_URL = re.compile(r"^https://[A-Za-z0-9._~:/?#\[\]@!$&*+,;=%-]+$")
_DATA_URL = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*),(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ShownImage:
    """One reply image: the line that names it, and the URL to show (None: refused)."""

    label: str
    src: str | None = None


def inspect_image(index: int, item: dict[str, Any]) -> ShownImage:
    """What to show for the *index*-th image entry of a reply."""
    from ..api.chat import image_url
    from ..api.humanize import human_size
    from ..api.media import image_size, sniff_image

    name = f"image {index}"
    url = image_url(item)
    if url is None:
        return ShownImage(f"{name} not shown: it has no URL")
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    if scheme == "https":
        if not _SAFE_IMAGE_URL.match(url) or not urlsplit(url).hostname:
            return ShownImage(f"{name} not shown: its URL is malformed")
        return ShownImage(f"{name}: {url}", url)
    if scheme != "data":
        what = f"a {scheme} URL" if re.fullmatch(r"[a-z][a-z0-9+.-]{0,19}", scheme) else "a URL"
        return ShownImage(f"{name} not shown: {what} (only https and data:image URLs are shown)")
    match = _DATA_URL.match(url)
    if match is None:
        return ShownImage(f"{name} not shown: a malformed data: URL")
    mime, params, payload = match.group(1).strip().lower(), match.group(2).lower(), match.group(3)
    canonical = RASTER.get(mime)
    if canonical is None:
        return ShownImage(f"{name} not shown: data:{mime or 'text/plain'} is not an image type shown here")
    if ";base64" not in params:
        return ShownImage(f"{name} not shown: a {mime} data: URL that is not base64")
    if len(payload) * 3 // 4 > MAX_INLINE_BYTES:
        return ShownImage(f"{name}: {mime}, {human_size(len(payload) * 3 // 4)}: too large to show inline")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return ShownImage(f"{name} not shown: its base64 data is broken")
    if sniff_image(data[:32]) != canonical:
        kind = {"image/jpeg": "JPEG", "image/webp": "WebP"}.get(canonical, canonical[6:].upper())
        return ShownImage(f"{name} not shown: the data is not a {kind} image")
    pixels = image_size(data)
    dims = f" {pixels[0]}×{pixels[1]}" if pixels else ""
    return ShownImage(f"{name}: {canonical}{dims}, {human_size(len(data))}", url)


def image_parts(images: list[dict[str, Any]]) -> tuple[str, str, str]:
    """``(text/plain, text/html, text/markdown)`` fragments that show *images* under a reply."""
    shown = [inspect_image(i, item) for i, item in enumerate(images, 1)]
    plain = "\n".join(f"[{s.label}]" for s in shown)
    html_parts, md_parts = [], []
    for i, s in enumerate(shown, 1):
        label = html.escape(s.label)
        if s.src is None:
            html_parts.append(f'<div class="puter-image-refused" style="{MUTED}">⚠ {label}</div>')
            md_parts.append(f'<span style="{MUTED}">⚠ {label}</span>')
            continue
        src = html.escape(s.src, quote=True)
        html_parts.append(
            f'<div class="puter-image" style="margin: 8px 0">'
            f'<img src="{src}" alt="image {i} from the reply" referrerpolicy="no-referrer" '
            f'loading="lazy" style="max-width: 100%; height: auto; display: block">'
            f'<div style="{MUTED}; margin-top: 2px">{label}</div></div>'
        )
        md_parts.append(f'![image {i}]({s.src})\n\n<span style="{MUTED}">{label}</span>')
    return plain, "".join(html_parts), "\n\n".join(md_parts)


# -- the pages a web-search reply cites --------------------------------------------------------

MAX_SOURCES = 20
_SAFE_LINK = re.compile(r"^https?://[A-Za-z0-9._~:/?#\[\]@!&*+,;=%-]+$", re.IGNORECASE)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~$])")


def _md(text: str) -> str:
    """Text made literal in Markdown: its special characters escaped."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(1), text)


_ENCODED = str.maketrans({"(": "%28", ")": "%29", "'": "%27"})  # valid in a URL, not in our links
MAX_URL_TEXT = 200  # characters of a URL that cannot be linked, given as text in text/plain


def _linkable(url: str) -> bool:
    return len(url) <= 2000 and bool(_SAFE_LINK.match(url)) and bool(urlsplit(url).hostname)


def _link_target(url: str) -> str:
    """*url* as a link's target: ( ) and ' percent-encoded (the same address to a server;
    they would end a Markdown link or an HTML attribute's quoting)."""
    return url.translate(_ENCODED)


def _title(source: Source) -> str:
    title = " ".join((source.title or "").split())
    return (title[:117] + "…") if len(title) > 120 else title


def source_parts(sources: list[Source]) -> tuple[str, str, str]:
    """(text/plain, text/html, text/markdown) of the sources list; empty strings for none."""
    if not sources:
        return "", "", ""
    shown = sources[:MAX_SOURCES]
    more = len(sources) - len(shown)
    plain_lines, html_items, md_lines = ["Sources:"], [], ["**Sources**", ""]
    for number, source in enumerate(shown, 1):
        title = _title(source)
        url = source.url
        target = _link_target(url)
        if _linkable(target):
            label = title or url
            plain_lines.append(f"[{number}] {title + ' ' if title else ''}{url}")
            href = html.escape(target, quote=True)
            html_items.append(
                f'<li><a href="{href}" target="_blank" rel="noopener noreferrer">{html.escape(label)}</a>'
                + (
                    f' <span style="{MUTED}">{html.escape(urlsplit(url).hostname or "")}</span>'
                    if title
                    else ""
                )
                + "</li>"
            )
            md_lines.append(f"{number}. [{_md(label)}](<{target}>)")
        else:
            scheme = url.split(":", 1)[0][:20] if ":" in url else "unknown"
            web = scheme.lower() in ("http", "https")
            if web:
                note = "not linked: the URL is malformed"
            elif re.fullmatch(r"[A-Za-z][\w+.-]*", scheme):
                note = f"not linked: a {scheme} URL"
            else:
                note = "not linked"
            # A web address is worth reading in a terminal (as text, bounded); another scheme's is not.
            as_text = " ".join(url.split())
            as_text = (as_text[: MAX_URL_TEXT - 1] + "…") if len(as_text) > MAX_URL_TEXT else as_text
            words = [f"[{number}]", title, as_text if web else "", f"({note})"]
            plain_lines.append(" ".join(w for w in words if w))
            html_items.append(
                f'<li>{html.escape(title or "(untitled)")} <span style="{MUTED}">({note})</span></li>'
            )
            md_lines.append(f"{number}. {_md(title or '(untitled)')} ({note})")
    if more:
        plain_lines.append(f"… and {more} more")
        html_items.append(f"<li>… and {more} more</li>")
        md_lines.append(f"… and {more} more")
    html_text = (
        f'<div class="puter-sources" style="margin-top: 6px"><div style="{MUTED}">Sources</div>'
        f'<ol style="margin: 2px 0 0 0">{"".join(html_items)}</ol></div>'
    )
    return "\n".join(plain_lines), html_text, "\n".join(md_lines)
