"""The pages a web-search reply cites, shown as links under the answer, made safe (pure).

A source's URL and title come from the model's reply, so they are untrusted: only an
``http(s)`` URL of plain URL characters becomes a link (opened in a new tab, without a
referrer); anything else (``javascript:``, ``data:``, a malformed URL) is named as text and
not linked. Titles are escaped everywhere and bounded; so is the list.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from ..api.chat import Source

__all__ = ["MAX_SOURCES", "source_parts"]

MAX_SOURCES = 20
MUTED = "color: var(--jp-ui-font-color2, #6b7280); font-size: 0.85em"
_SAFE_URL = re.compile(r"^https?://[A-Za-z0-9._~:/?#\[\]@!&*+,;=%-]+$", re.IGNORECASE)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~$])")


def _md(text: str) -> str:
    """Text made literal in Markdown: its special characters escaped."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(1), text)


def _linkable(url: str) -> bool:
    return len(url) <= 2000 and bool(_SAFE_URL.match(url)) and bool(urlsplit(url).hostname)


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
        if _linkable(url):
            label = title or url
            plain_lines.append(f"[{number}] {title + ' ' if title else ''}{url}")
            href = html.escape(url, quote=True)
            html_items.append(
                f'<li><a href="{href}" target="_blank" rel="noopener noreferrer">{html.escape(label)}</a>'
                + (
                    f' <span style="{MUTED}">{html.escape(urlsplit(url).hostname or "")}</span>'
                    if title
                    else ""
                )
                + "</li>"
            )
            md_lines.append(f"{number}. [{_md(label)}](<{url}>)")
        else:
            scheme = url.split(":", 1)[0][:20] if ":" in url else "unknown"
            if scheme.lower() in ("http", "https"):
                note = "not linked: the URL is malformed"
            elif re.fullmatch(r"[A-Za-z][\w+.-]*", scheme):
                note = f"not linked: a {scheme} URL"
            else:
                note = "not linked"
            plain_lines.append(f"[{number}] {title} ({note})".replace("  ", " "))
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
