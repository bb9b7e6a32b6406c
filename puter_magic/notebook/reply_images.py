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
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..api.chat import image_url
from ..api.humanize import human_size
from ..api.media import image_size, sniff_image

__all__ = ["ShownImage", "image_parts", "inspect_image"]

MUTED = "color: var(--jp-ui-font-color2, #6b7280); font-size: 0.85em"
MAX_INLINE_BYTES = 8 * 1024 * 1024  # a larger data: URL is named, not put into the notebook
RASTER = {  # the types a data: URL may name, and the type its bytes must then be
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
}
# An https URL is put in an attribute and in Markdown as it is, so only plain URL characters pass.
_SAFE_URL = re.compile(r"^https://[A-Za-z0-9._~:/?#\[\]@!$&*+,;=%-]+$")
_DATA_URL = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*),(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ShownImage:
    """One reply image: the line that names it, and the URL to show (None: refused)."""

    label: str
    src: str | None = None


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
