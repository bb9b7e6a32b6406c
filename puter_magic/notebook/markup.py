"""Untrusted Markdown from a model, made safe for every representation we emit.

Jupyter renders outputs of a live kernel as trusted: raw HTML in ``text/html`` *and* in
``text/markdown`` runs there. So a reply is split into code, math and text segments, and:

- ``safe_markdown``: raw HTML outside code is escaped (``<`` becomes ``&lt;``), ``<`` and
  ``>`` inside math become ``\\lt``/``\\gt`` (still valid TeX), link targets other than http,
  https, mailto, anchors and relative paths are replaced. Code is left as it is (every
  renderer shows code as text).
- ``to_html``: the safe Markdown converted with ``markdown`` (math kept out of its way so
  underscores stay underscores), sanitized with nh3, code blocks highlighted by Pygments
  after sanitizing (its output escapes the code), and math put back escaped, for the
  frontend to typeset.

- ``plain_text``: the reply read as plain text on one line (a preview in a table): the
  Markdown's marks gone, math as written, nothing of it interpreted as markup.

The segmenting and the renderings depend on each other's placeholders, so they are one
module.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Iterator
from typing import Any

__all__ = ["plain_text", "safe_markdown", "segments", "to_html"]

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*$", re.MULTILINE)
_MATH_START = re.compile(r"\$\$|\\\[|\\\(|\$|`+")


def segments(text: str) -> Iterator[tuple[str, str]]:
    """Split Markdown into ("text" | "fence" | "code" | "math", source) pieces, in order.

    Fenced blocks run to their closing fence (or the end); inline code spans match
    backtick runs of equal length; math is ``$$..$$``, ``\\[..\\]``, ``\\(..\\)`` and
    ``$..$`` (not ``$`` followed by a space or a closing ``$`` followed by a digit, so
    prices stay text). ``\\$`` is a literal dollar.
    """
    pos = 0
    has_fences = "```" in text or "~~~" in text
    while pos < len(text):
        fence = _FENCE.search(text, pos) if has_fences else None
        end = fence.start() if fence else len(text)
        yield from _inline_segments(text[pos:end])
        if not fence:
            return
        marker = fence.group(1)
        close = re.compile(
            r"^[ \t]*" + re.escape(marker[0]) + "{" + str(len(marker)) + r",}[ \t]*$", re.MULTILINE
        )
        after = fence.end()
        closing = close.search(text, after)
        stop = closing.end() if closing else len(text)
        yield "fence", text[fence.start() : stop]
        pos = stop


def _inline_segments(text: str) -> Iterator[tuple[str, str]]:
    if "$" not in text and "`" not in text and "\\" not in text:
        if text:
            yield "text", text
        return
    pos = 0
    start = 0
    while True:
        match = _MATH_START.search(text, pos)
        if match is None:
            break
        i = match.start()
        escaped = i > 0 and text[i - 1] == "\\" and not (i > 1 and text[i - 2] == "\\")
        if escaped and match.group().startswith(("$", "`")):
            pos = i + 1  # an escaped $ or backtick is literal
            continue
        token = match.group()
        end = -1
        kind = "math"
        if token.startswith("`"):
            kind = "code"
            closer = re.compile(r"(?<!`)" + token + r"(?!`)")
            found = closer.search(text, match.end())
            end = found.end() if found else -1
            if end < 0:
                pos = match.end()
                continue
        elif token == "$$":
            end = text.find("$$", match.end())
            end = end + 2 if end >= 0 else -1
        elif token == "\\[":
            end = text.find("\\]", match.end())
            end = end + 2 if end >= 0 else -1
        elif token == "\\(":
            end = text.find("\\)", match.end())
            end = end + 2 if end >= 0 else -1
        else:  # single $
            nxt = text[match.end() : match.end() + 1]
            if not nxt or nxt.isspace():
                pos = match.end()
                continue
            # "$5 and $10": a $ before a digit is money unless the math closes within
            # the same word ("$2x$").
            money = nxt.isdigit()
            j = match.end()
            while True:
                j = text.find("$", j)
                if j < 0:
                    end = -1
                    break
                if text[j - 1] == "\\":
                    j += 1
                    continue
                if text[j - 1].isspace() or text[j + 1 : j + 2].isdigit():
                    j += 1
                    continue
                end = j + 1
                break
            if end > 0 and "\n\n" in text[match.end() : end]:
                end = -1
            if end > 0 and money and re.search(r"\s", text[match.end() : end]):
                end = -1
        if end < 0:
            pos = match.end()
            continue
        if i > start:
            yield "text", text[start:i]
        yield kind, text[i:end]
        start = pos = end
    if start < len(text):
        yield "text", text[start:]


_SAFE_SCHEME = re.compile(r"^(https?:|mailto:|#|/|\./|\.\./|[^:/?#\s]+(?:[/?#]|$))", re.IGNORECASE)
_INLINE_LINK = re.compile(r"(\]\(\s*<?)([^()\s>]*(?:\([^()\s]*\)[^()\s>]*)*)")
_REF_LINK = re.compile(r"^([ \t]*\[[^\]\n]+\]:[ \t]*<?)(\S+)", re.MULTILINE)


def _safe_url(url: str) -> str:
    probe = re.sub(r"[\x00-\x20]", "", html.unescape(url))
    return url if (not probe or _SAFE_SCHEME.match(probe)) else "#unsafe-link-removed"


def _text_part(text: str) -> str:
    text = text.replace("<", "&lt;")
    if "](" in text:
        text = _INLINE_LINK.sub(lambda m: m.group(1) + _safe_url(m.group(2)), text)
    if "]:" in text:
        text = _REF_LINK.sub(lambda m: m.group(1) + _safe_url(m.group(2)), text)
    return text


def _math_part(text: str) -> str:
    return text.replace("<", r"\lt ").replace(">", r"\gt ")


def safe_markdown(text: str) -> str:
    """The reply as Markdown that no renderer can turn into live HTML."""
    out = []
    for kind, part in segments(text):
        if kind == "text":
            out.append(_text_part(part))
        elif kind == "math":
            out.append(_math_part(part))
        else:
            out.append(part)
    return "".join(out)


_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
_PLACEHOLDER = re.compile(r"PUTERMATH([0-9a-f]{8})X(\d+)X")
_CODE_BLOCK = re.compile(r'<pre><code(?: class="language-([\w+#.-]+)")?>(.*?)</code></pre>', re.DOTALL)


#: The box around a code block: the notebook's own code-cell colours where the frontend has
#: them (JupyterLab's light and dark themes, the HTML export), a light box elsewhere. Long
#: lines scroll inside it instead of wrapping.
CODE_BOX = (
    "background: var(--jp-cell-editor-background, #f6f8fa); "
    "color: var(--jp-content-font-color1, #1f2328); "
    "border: 1px solid var(--jp-cell-editor-border-color, #d0d7de); border-radius: 6px; "
    "padding: 8px 12px; margin: 8px 0; overflow-x: auto; white-space: pre; line-height: 1.45"
)

#: The code inside the box: no background, border or wrapping of its own (frontends give
#: ``code`` some).
CODE_TEXT = (
    "white-space: pre; word-break: normal; overflow-wrap: normal; background: none; border: 0; padding: 0"
)

#: Highlighting colours, token type → JupyterLab's editor colour variable (each theme,
#: dark included, sets them to colours that read on its own code background) and a
#: fallback that reads on the light box above.
_TOKEN_COLOURS: dict[str, tuple[str, str]] = {
    "Keyword": ("keyword", "#cf222e"),
    "Name.Builtin": ("builtin", "#8250df"),
    "Name.Function": ("def", "#6639ba"),
    "Name.Class": ("def", "#6639ba"),
    "Name.Decorator": ("meta", "#953800"),
    "Name.Tag": ("tag", "#116329"),
    "Name.Attribute": ("attribute", "#0550ae"),
    "Name.Variable": ("variable-2", "#953800"),
    "Name.Namespace": ("variable-3", "#24292f"),
    "Literal.String": ("string", "#0a3069"),
    "Literal.Number": ("number", "#0550ae"),
    "Literal": ("atom", "#0550ae"),
    "Operator.Word": ("keyword", "#cf222e"),
    "Operator": ("operator", "#0550ae"),
    "Comment": ("comment", "#6e7781"),
    "Generic.Heading": ("header", "#0550ae"),
    "Generic.Subheading": ("header", "#0550ae"),
    "Generic.Deleted": ("error", "#82071e"),
    "Generic.Inserted": ("string", "#116329"),
    "Error": ("error", "#cf222e"),
}


def _token_style(ttype: Any) -> str | None:
    while ttype is not None:
        found = _TOKEN_COLOURS.get(str(ttype).removeprefix("Token."))
        if found is not None:
            variable, fallback = found
            italic = "; font-style: italic" if variable == "comment" else ""
            return f"color: var(--jp-mirror-editor-{variable}-color, {fallback}){italic}"
        ttype = ttype.parent
    return None


def _coloured(code: str, lexer: Any) -> str:
    """*code* as HTML spans coloured by token type (inline styles: no CSS needed); a run of
    tokens of one colour is one span."""
    out: list[str] = []
    run: list[str] = []
    run_style: str | None = None

    def flush() -> None:
        if run:
            text = html.escape("".join(run), quote=False)
            out.append(f'<span style="{run_style}">{text}</span>' if run_style else text)
            run.clear()

    for ttype, value in lexer.get_tokens(code):
        style = _token_style(ttype) if value.strip() else run_style  # spaces join any run
        if style != run_style:
            flush()
            run_style = style
        run.append(value)
    flush()
    return "".join(out).rstrip("\n")


#: Code highlighted in one reply, at most (characters): past it, code blocks are boxed but
#: plain, so that a reply of a great deal of code stays a bounded output.
HIGHLIGHT_BUDGET = 30_000


def _highlight(html_text: str) -> str:
    """Every code block in a box (:data:`CODE_BOX`), highlighted by Pygments when it names
    a language Pygments knows (within :data:`HIGHLIGHT_BUDGET`)."""
    if "<pre><code" not in html_text:
        return html_text
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    budget = [HIGHLIGHT_BUDGET]

    def one(match: re.Match[str]) -> str:
        lang, body = match.group(1), match.group(2)
        code = body
        if lang and len(body) <= budget[0]:
            try:
                code = _coloured(html.unescape(body), get_lexer_by_name(lang))
                budget[0] -= len(body)
            except ClassNotFound:
                pass
        cls = f' class="language-{lang}"' if lang else ""
        inner = f'<code{cls} style="{CODE_TEXT}">{code}</code>'
        return f'<pre class="puter-code" style="{CODE_BOX}">{inner}</pre>'

    return _CODE_BLOCK.sub(one, html_text)


_SIMPLE_BLOCK = re.compile(r"(?:(?<=\n\n)|\A)([A-Za-z][^\n]*(?:\n[A-Za-z][^\n]*)*)(?=\n\n|\n?\Z)")
_NOT_SIMPLE = re.compile(r"[*_`\[\]<>#|&\\~$=+{}]|  \n|  $")
_PARAGRAPH_RUN = re.compile(r"PUTERPARA([0-9a-f]{8})X\d+X(?:\n\nPUTERPARA\1X\d+X)*")
_PARAGRAPH = re.compile(r"<p>PUTERPARA([0-9a-f]{8})X(\d+)X</p>")


def _plain_paragraphs(source: str, fences: list[tuple[int, int]], nonce: str) -> tuple[str, list[str]]:
    """Swap paragraphs of plain prose (most of a long reply) for placeholders.

    Markdown would only wrap them in ``<p>`` after trying every inline pattern on them,
    which is most of its time on a long reply; they are put back escaped afterwards.
    A paragraph counts only if it is set off by blank lines, outside code, every line
    starts with a letter, and it holds no character Markdown gives a meaning to.
    """
    kept: list[str] = []

    def swap(match: re.Match[str]) -> str:
        start, end = match.span(1)
        block = match.group(1)
        if _NOT_SIMPLE.search(block) or any(a < end and start < b for a, b in fences):
            return match.group(0)
        kept.append(block)
        return f"PUTERPARA{nonce}X{len(kept) - 1}X"

    marked = _SIMPLE_BLOCK.sub(swap, source)
    # Runs of such paragraphs become one placeholder, so Markdown sees one paragraph.
    runs: list[str] = []

    def join(match: re.Match[str]) -> str:
        if match.group(1) != nonce:
            return match.group(0)
        numbers = [int(n) for n in re.findall(r"X(\d+)X", match.group(0))]
        runs.append("</p>\n<p>".join(html.escape(kept[n], quote=False) for n in numbers))
        return f"PUTERPARA{nonce}X{len(runs) - 1}X"

    return _PARAGRAPH_RUN.sub(join, marked), runs


NO_SANITIZER = "shown as plain text: the HTML sanitizer nh3 is not installed here (pip install nh3)"


def _escaped(text: str) -> str:
    """*text* as HTML that shows it letter for letter (no Markdown, no markup of its own)."""
    return (
        f'<pre class="puter-plain" style="white-space: pre-wrap; font-family: inherit">'
        f"{html.escape(text, quote=False)}</pre>"
        f'<div style="color: var(--jp-ui-font-color2, #6b7280); font-size: 0.85em">{NO_SANITIZER}</div>'
    )


def to_html(text: str, *, highlight: bool = True, fast_paragraphs: bool = True) -> str:
    """The reply as sanitized HTML with math left for the frontend to typeset.

    Without nh3 (a browser's Python that could not load it) nothing is converted: the
    reply is shown escaped, as plain text, with a note saying why."""
    try:
        import nh3
    except ImportError:
        return _escaped(text)
    import markdown

    nonce = secrets.token_hex(4)
    maths: list[str] = []
    parts = []
    fences: list[tuple[int, int]] = []
    offset = 0
    for kind, part in segments(text):
        if kind == "math":
            piece = f"PUTERMATH{nonce}X{len(maths)}X"
            maths.append(part)
        elif kind == "text":
            piece = _text_part(part)
        else:
            piece = part
            fences.append((offset, offset + len(piece)))
        parts.append(piece)
        offset += len(piece)
    source = "".join(parts)
    plain: list[str] = []
    if fast_paragraphs:
        source, plain = _plain_paragraphs(source, fences, nonce)
    converted = markdown.markdown(
        source,
        extensions=["fenced_code", "tables", "sane_lists"],
        extension_configs={"tables": {"use_align_attribute": True}},
        output_format="html",
    )
    clean: str = nh3.clean(
        converted,
        tags=_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "template", "noscript"},
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    if highlight:
        clean = _highlight(clean)
    if plain:

        def paragraph(match: re.Match[str]) -> str:
            if match.group(1) != nonce:
                return match.group(0)
            return "<p>" + plain[int(match.group(2))] + "</p>"

        clean = _PARAGRAPH.sub(paragraph, clean)

    def put_back(match: re.Match[str]) -> str:
        if match.group(1) != nonce:  # the reply's own text that merely looks like ours
            return match.group(0)
        return html.escape(maths[int(match.group(2))], quote=False)

    return _PLACEHOLDER.sub(put_back, clean) if maths else clean


# Elements whose end is a break between words when a reply is read as one line of text.
_BLOCKS = frozenset(
    {"p", "br", "li", "tr", "td", "th", "pre", "blockquote", "div", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
)
# How much of a reply a preview reads: a preview shows a line of it, so the rest is not converted.
PREVIEW_SOURCE = 4_000


def plain_text(text: str) -> str:
    """*text* (a reply's Markdown) as plain text on one line, for a preview: ``**Tutor**, turn
    1: you asked > Label…`` reads ``Tutor, turn 1: you asked Label…``. Emphasis, headings,
    quotes, list marks, links (their words stay) and code fences are gone; math stays as
    written; raw HTML in the reply is read as text (and script or style content dropped).
    The result is text, to be escaped wherever it is shown. Reads only the first
    :data:`PREVIEW_SOURCE` characters."""
    from html.parser import HTMLParser

    import markdown

    nonce = secrets.token_hex(4)
    maths: list[str] = []
    parts = []
    for kind, part in segments(text[:PREVIEW_SOURCE]):
        if kind == "math":
            parts.append(f"PUTERMATH{nonce}X{len(maths)}X")
            maths.append(part)
        else:
            parts.append(part)
    converted = markdown.markdown("".join(parts), extensions=["fenced_code", "tables", "sane_lists"])
    words: list[str] = []

    class Reader(HTMLParser):
        skipping = 0

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag in ("script", "style"):
                self.skipping += 1
            elif tag in _BLOCKS:
                words.append(" ")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style"):
                self.skipping = max(0, self.skipping - 1)
            elif tag in _BLOCKS:
                words.append(" ")

        def handle_data(self, data: str) -> None:
            if not self.skipping:
                words.append(data)

    reader = Reader(convert_charrefs=True)
    reader.feed(converted)
    reader.close()
    line = " ".join("".join(words).split())
    if maths:
        line = _PLACEHOLDER.sub(lambda m: maths[int(m.group(2))] if m.group(1) == nonce else m.group(0), line)
    return line
