"""Images in a chat reply are shown in the cell, safely: never fetched with the token, never
scaled up, named in text/plain, and refused when the URL is not an image."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.sandbox import Fault, Sandbox

from ..api.test_chat import png_bytes, png_url
from ..shell import magics_of, run


@pytest.fixture
def sandboxed(ip: InteractiveShell) -> Sandbox:
    run(ip, "%puter_login --sandbox")
    sandbox: Sandbox = magics_of(ip).session.sandbox
    return sandbox


def _reply_with_images(images: list[dict[str, Any]], text: str = "Here it is.") -> Fault:
    return Fault.raw(
        {
            "success": True,
            "result": {
                "message": {"role": "assistant", "content": text, "images": images},
                "finish_reason": "stop",
                "usage": {"prompt_tokens": 1, "completion_tokens": 3},
                "normalized": True,
            },
        }
    )


def _image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def _imgs(html: str) -> list[str]:
    return re.findall(r"<img\b[^>]*>", html)


def test_a_data_url_image_is_shown_inline_and_named(ip: InteractiveShell, sandboxed: Sandbox) -> None:
    url = png_url(3, 2)
    sandboxed.inject(_reply_with_images([_image(url)]))
    outputs, _ = run(ip, "%%puter --no-stream\nDraw a small grey box")
    reply = outputs[0]
    imgs = _imgs(reply["text/html"])
    assert len(imgs) == 1 and f'src="{url}"' in imgs[0]
    assert "max-width: 100%" in imgs[0] and "height: auto" in imgs[0]  # scaled down, never up
    assert "Here it is." in reply["text/html"]
    size = len(png_bytes(3, 2))
    assert f"image/png 3×2, {size} bytes" in reply["text/plain"]
    assert "base64" not in reply["text/plain"]  # never a dump
    assert f"![image 1]({url})" in reply["text/markdown"]


def test_an_https_image_is_shown_by_the_browser_not_fetched(
    ip: InteractiveShell, sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests

    sent: list[str] = []
    real_send = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        sent.append(str(request.url))
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    url = "https://images.example.org/cat.png?size=large&x=1"
    sandboxed.inject(_reply_with_images([_image(url)]))
    outputs, _ = run(ip, "%%puter --no-stream\nA cat")
    imgs = _imgs(outputs[0]["text/html"])
    assert len(imgs) == 1 and 'src="https://images.example.org/cat.png?size=large&amp;x=1"' in imgs[0]
    assert 'referrerpolicy="no-referrer"' in imgs[0]
    assert url in outputs[0]["text/plain"]
    assert sent == [sandboxed.origin + "/drivers/call"]  # the kernel fetched nothing else


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("javascript:alert(1)", "not shown"),
        ("data:text/html;base64," + base64.b64encode(b"<script>alert(1)</script>").decode(), "not shown"),
        ("data:image/svg+xml;base64," + base64.b64encode(b"<svg onload='alert(1)'/>").decode(), "not shown"),
        ("data:image/png;base64," + base64.b64encode(b"GIF89a not a png at all").decode(), "not a PNG image"),
        ('https://x.example/a.png" onerror="alert(1)', "not shown"),
    ],
)
def test_unsafe_or_mislabelled_images_are_refused(
    url: str, why: str, ip: InteractiveShell, sandboxed: Sandbox
) -> None:
    sandboxed.inject(_reply_with_images([_image(url)]))
    outputs, _ = run(ip, "%%puter --no-stream\nDraw")
    reply = outputs[0]
    assert _imgs(reply["text/html"]) == []
    assert "javascript:" not in reply["text/html"] and "onerror" not in reply["text/html"].replace(
        "&quot;", ""
    )
    assert "<script" not in reply["text/html"] and "onload=" not in reply["text/html"]
    assert "image 1" in reply["text/plain"] and why in reply["text/plain"]
    assert "](javascript" not in reply["text/markdown"] and "](data:text" not in reply["text/markdown"]


def test_a_streamed_image_chunk_is_shown(ip: InteractiveShell, sandboxed: Sandbox) -> None:
    url = png_url(4, 4)
    sandboxed.inject(
        Fault.stream(
            [
                {"type": "text", "text": "Four by four: "},
                {"type": "image", "image": _image(url)},
                {"type": "usage", "usage": {"usd_cents": None}},
            ]
        )
    )
    outputs, _ = run(ip, "%%puter\nDraw a 4x4 box")
    imgs = _imgs(outputs[0]["text/html"])
    assert len(imgs) == 1 and f'src="{url}"' in imgs[0]
    assert "image/png 4×4" in outputs[0]["text/plain"]


def test_a_terminal_names_the_image(ip: InteractiveShell, sandboxed: Sandbox) -> None:
    magics_of(ip).rich_output = False
    sandboxed.inject(_reply_with_images([_image(png_url(2, 2))]))
    outputs, _ = run(ip, "%%puter --no-stream\nDraw")
    printed = outputs[-1]["stdout"]
    assert "Here it is." in printed and "[image 1: image/png 2×2" in printed and "base64" not in printed
