"""A stand-in for nh3 in the JupyterLite TEST site only (never shipped, never on a real site).

The real nh3 in Pyodide is a compiled wheel that only Pyodide's CDN serves, which tests
cannot reach. This ``clean`` is stricter than nh3's: it keeps the allowed tags with no
attribute at all (no links, no images, no classes), drops the contents of the
``clean_content_tags``, drops comments and declarations, and escapes all text. So what the
browser test sees rendered has been through a sanitizer at least as strict as the real one;
the real sanitizer's own tests run in CPython with the real nh3 (tests/notebook/test_xss.py).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any

__version__ = "0.3.4+standin"
STAND_IN = True  # a test may check it is this module, not nh3


class _Strict(HTMLParser):
    def __init__(self, tags: set[str], dropped: set[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.tags, self.dropped = tags, dropped
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.dropped:
            self.skipping += 1
        elif not self.skipping and tag in self.tags:
            self.out.append(f"<{tag}>")

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if not self.skipping and tag in self.tags and tag not in self.dropped:
            self.out.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.dropped:
            self.skipping = max(0, self.skipping - 1)
        elif not self.skipping and tag in self.tags:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(html.escape(data, quote=False))


def clean(
    html_text: str,
    tags: Iterable[str] | None = None,
    clean_content_tags: Iterable[str] | None = None,
    attributes: Any = None,
    url_schemes: Any = None,
    link_rel: Any = None,
    **ignored: Any,
) -> str:
    """*html_text* with only *tags* kept, none of their attributes, and all text escaped."""
    allowed = {t.lower() for t in (tags or ("p", "b", "i", "em", "strong", "code", "pre"))}
    allowed -= {"img", "a"}  # useless without attributes, and a stand-in keeps no URL at all
    parser = _Strict(allowed, {t.lower() for t in (clean_content_tags or ("script", "style"))})
    parser.feed(html_text)
    parser.close()
    return "".join(parser.out)
