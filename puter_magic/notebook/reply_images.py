"""Images in a chat reply (``message.images``, ``image`` stream chunks), made safe to show (pure).

An image is shown when its URL is ``https:`` or a ``data:`` URL of a raster type (PNG, JPEG,
GIF, WebP) whose bytes are what the label says. The kernel never fetches a URL: the browser
loads an https image itself, without the Puter token and without a referrer. Anything else
(``javascript:``, ``data:text/html``, SVG, a malformed URL, bytes that are not the image their
type names) is named in one line and not shown. ``text/plain`` names each image by type,
pixel size and byte size, or by its URL; never a base64 dump.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import struct
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..api.chat import image_url

__all__ = ["ShownImage", "image_parts", "inspect_image"]

MUTED = "color: var(--jp-ui-font-color2, #6b7280); font-size: 0.85em"
MAX_INLINE_BYTES = 8 * 1024 * 1024  # a larger data: URL is named, not put into the notebook
RASTER = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WebP",
}
# An https URL is put in an attribute and in Markdown as it is, so only plain URL characters pass.
_SAFE_URL = re.compile(r"^https://[A-Za-z0-9._~:/?#\[\]@!$&*+,;=%-]+$")
_DATA_URL = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*),(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ShownImage:
    """One reply image: the line that names it, and the URL to show (None: refused)."""

    label: str
    src: str | None = None


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def _sniff(data: bytes) -> str | None:
    """The raster kind the bytes really are."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def _pixels(kind: str, data: bytes) -> tuple[int, int] | None:
    """Width and height from the image's header, where it is easy to read."""
    try:
        if kind == "PNG" and data[12:16] == b"IHDR":
            w, h = struct.unpack(">II", data[16:24])
            return int(w), int(h)
        if kind == "GIF":
            w, h = struct.unpack("<HH", data[6:10])
            return int(w), int(h)
        if kind == "JPEG":
            return _jpeg_size(data)
        if kind == "WebP" and data[12:16] == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
        if kind == "WebP" and data[12:16] == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return int(w) & 0x3FFF, int(h) & 0x3FFF
        if kind == "WebP" and data[12:16] == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    except struct.error:
        return None
    return None


def inspect_image(index: int, item: dict[str, Any]) -> ShownImage:
    """What to show for the *index*-th image entry of a reply."""
    name = f"image {index}"
    url = image_url(item)
    if url is None:
        return ShownImage(f"{name} not shown: it has no URL")
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    if scheme == "https":
        if not _SAFE_URL.match(url) or not urlsplit(url).hostname:
            return ShownImage(f"{name} not shown: its URL is malformed")
        return ShownImage(f"{name}: {url}", url)
    if scheme != "data":
        what = f"a {scheme} URL" if re.fullmatch(r"[a-z][a-z0-9+.-]{0,19}", scheme) else "a URL"
        return ShownImage(f"{name} not shown: {what} (only https and data:image URLs are shown)")
    match = _DATA_URL.match(url)
    if match is None:
        return ShownImage(f"{name} not shown: a malformed data: URL")
    mime, params, payload = match.group(1).strip().lower(), match.group(2).lower(), match.group(3)
    kind = RASTER.get(mime)
    if kind is None:
        return ShownImage(f"{name} not shown: data:{mime or 'text/plain'} is not an image type shown here")
    if ";base64" not in params:
        return ShownImage(f"{name} not shown: a {mime} data: URL that is not base64")
    if len(payload) * 3 // 4 > MAX_INLINE_BYTES:
        return ShownImage(f"{name}: {mime}, {_size(len(payload) * 3 // 4)}: too large to show inline")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return ShownImage(f"{name} not shown: its base64 data is broken")
    if _sniff(data) != kind:
        return ShownImage(f"{name} not shown: the data is not a {kind} image")
    pixels = _pixels(kind, data)
    dims = f" {pixels[0]}×{pixels[1]}" if pixels else ""
    canonical = "image/jpeg" if kind == "JPEG" else mime
    return ShownImage(f"{name}: {canonical}{dims}, {_size(len(data))}", url)


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
