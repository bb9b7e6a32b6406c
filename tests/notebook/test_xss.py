"""Hostile replies: raw HTML from a model never becomes live markup in any representation."""

from __future__ import annotations

import re

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puter_magic.notebook.markup import safe_markdown, to_html
from puter_magic.notebook.views import ReplyView

from ..htmlcheck import live_markup

PAYLOADS = [
    "<script>window.pwned=1</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="window.pwned=1">',
    "<img src=x oNeRrOr=alert(1)>",
    '<svg onload="alert(1)"><circle r=5/></svg>',
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    "[ref][x]\n\n[x]: javascript:alert(1)",
    "<javascript:alert(1)>",
    '<a href="javascript:alert(1)">link</a>',
    '<a href="vbscript:msgbox(1)">link</a>',
    "<style>body { display: none }</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<form action="https://evil.example"><input name=p></form>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<details open ontoggle="alert(1)">x</details>',
    "<math><mtext><img src=x onerror=alert(1)></mtext></math>",
    "$<img src=x onerror=alert(1)>$ and $$<script>alert(1)</script>$$",
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<!--><img src=x onerror=alert(1)>-->",
    '<a href="#" onclick="alert(1)">click</a>',
    "```\n</code></pre><img src=x onerror=alert(1)>\n```",
    "`</code><script>alert(1)</script>`",
    '<table><tr><td background="javascript:alert(1)">x</td></tr></table>',
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_representation_has_no_live_markup(payload: str) -> None:
    for text in (payload, f"Intro **bold**\n\n{payload}\n\n| a | b |\n|---|---|\n| {payload} | x |"):
        assert live_markup(to_html(text)) == [], text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_representation_has_no_live_markup(payload: str) -> None:
    """A frontend renders our text/markdown with raw HTML passed through: nothing may be live."""
    rendered = markdown.markdown(safe_markdown(payload), extensions=["fenced_code", "tables"])
    assert live_markup(rendered) == [], rendered


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_bundle_of_a_reply_is_safe(payload: str) -> None:
    for raw in (False, True):
        bundle = ReplyView(payload, "m", {}, 0.1, raw=raw)._repr_mimebundle_()
        assert live_markup(bundle["text/html"]) == []
        if "text/markdown" in bundle:
            assert live_markup(markdown.markdown(bundle["text/markdown"])) == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_check_catches_the_payload_when_nothing_is_made_safe(payload: str) -> None:
    """Every payload is live when a reply is rendered naively (the Markdown straight to
    HTML), so the tests above would fail if our sanitizing stopped working."""
    # CommonMark renderers (JupyterLab's among them) turn <scheme:...> into a link.
    autolinked = re.sub(r"<([a-zA-Z][\w+.-]{1,31}:[^<>\s]*)>", r'<a href="\1">\1</a>', payload)
    naive = markdown.markdown(autolinked, extensions=["fenced_code", "tables"])
    naive_raw = f"<pre>{payload}</pre>"  # what --raw would show without escaping
    assert live_markup(naive) or live_markup(naive_raw), payload


def test_safe_content_survives() -> None:
    text = (
        "# Title\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = '<b>'\n```\n\n"
        "[docs](https://docs.python.org) ![logo](https://example.com/logo.png) `a<b` and $a_1 < b_2$"
    )
    out = to_html(text)
    for needle in (
        "<h1>Title</h1>",
        "<li>one</li>",
        "<table>",
        "<td>1</td>",
        'href="https://docs.python.org"',
        'src="https://example.com/logo.png"',
        "<code>a&lt;b</code>",
        "$a_1 &lt; b_2$",
        "&lt;b&gt;",
    ):
        assert needle in out, needle
    assert "<em>" not in out  # underscores in math stayed underscores
    md = safe_markdown(text)
    assert "$a_1 \\lt  b_2$" in md and "```python\nx = '<b>'\n```" in md and "`a<b`" in md


LINES = [
    "Plain words here.",
    "Another plain line",
    "- a list item",
    "1. numbered",
    "  indented more",
    "# Heading",
    "Setext",
    "======",
    "---",
    "> quoted",
    "| a | b |",
    "|---|---|",
    "```",
    "~~~",
    "code <b>",
    "$x_1$",
    "text with `code`",
    "two trailing  ",
    "A [link](https://x.y)",
    "*emph* word",
    "",
    "",
    "",
]


@settings(max_examples=400)
@given(st.lists(st.sampled_from(LINES), max_size=25))
def test_fast_paragraphs_render_exactly_like_markdown(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert to_html(text, fast_paragraphs=True) == to_html(text, fast_paragraphs=False)
