"""Where nh3 cannot be loaded (Pyodide without its CDN), a reply is never rendered from
unsanitized HTML: it is shown escaped, as plain text, with a note that says why. The
sanitizer itself is tested with the real nh3 in tests/notebook/test_xss.py."""

from __future__ import annotations

import sys

import pytest

from puter_magic.notebook.markup import NO_SANITIZER, to_html
from puter_magic.notebook.views import ReplyView

HOSTILE = '**bold** <img src=x onerror="alert(1)"> <script>alert(2)</script> [x](javascript:alert(3))'


@pytest.fixture
def no_nh3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nh3", None)  # import nh3 raises ImportError


def test_without_nh3_the_reply_is_escaped_not_rendered(no_nh3: None) -> None:
    out = to_html(HOSTILE)
    assert "<script" not in out and "<img" not in out and "<strong>" not in out and "href" not in out
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in out and "**bold**" in out
    assert NO_SANITIZER in out


def test_a_reply_view_without_nh3_has_no_live_markup_from_the_reply(no_nh3: None) -> None:
    bundle = ReplyView(HOSTILE, model="m", usage={}, elapsed=0.1)._repr_mimebundle_()
    for kind in ("text/html", "text/markdown"):
        assert "<script" not in bundle[kind] and "<img src=x" not in bundle[kind], kind
    assert "nh3 is not installed" in bundle["text/html"]


def test_with_nh3_it_is_rendered() -> None:
    out = to_html(HOSTILE)
    assert "<strong>bold</strong>" in out and "<script" not in out and NO_SANITIZER not in out
