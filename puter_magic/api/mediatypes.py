"""What a run of bytes is, from its first bytes (pure; no I/O).

Media replies are untrusted and their labels lie (a ``data:image/png`` URL that holds an HTML
page, an ``image/png`` download that is a login page, a bare ``content_type: "audio"``), so the
client decides what bytes are by looking at them. Only the header is read: the size of an image,
the length of a WAV file.
"""

from __future__ import annotations

import struct

__all__ = [
    "AUDIO_TYPES",
    "IMAGE_TYPES",
    "audio_duration",
    "extension_for",
    "image_size",
    "sniff",
    "sniff_audio",
    "sniff_image",
    "sniff_video",
    "type_from_name",
    "video_duration",
]

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")
AUDIO_TYPES = (
    "audio/wav",
    "audio/mpeg",
    "audio/ogg",
    "audio/flac",
    "audio/mp4",
    "audio/webm",
    "audio/aac",
)

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "audio/wav": ".wav",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/mp4": ".m4a",
    "audio/webm": ".webm",
    "audio/aac": ".aac",
    "audio/opus": ".opus",
    "application/pdf": ".pdf",
    "video/mp4": ".mp4",
}
_BY_EXTENSION = {ext: mime for mime, ext in _EXTENSIONS.items()}
_BY_EXTENSION.update({".jpeg": "image/jpeg", ".wave": "audio/wav", ".oga": "audio/ogg", ".mp4": "audio/mp4"})


def sniff_image(head: bytes) -> str | None:
    """The image type of bytes starting with *head*, or None if they are no image we know."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:2] == b"BM" and len(head) >= 26:
        return "image/bmp"
    return None


def sniff_audio(head: bytes) -> str | None:
    """The audio type of bytes starting with *head*, or None if they are no audio we know."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:3] == b"ID3" or (
        len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06
    ):
        return "audio/mpeg"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"
    return None


def sniff_video(head: bytes) -> str | None:
    """The video type of bytes starting with *head* (MP4 and QuickTime, WebM), or None."""
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith((b"M4A", b"M4B")):
            return None  # an audio-only MP4
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return None


def video_duration(data: bytes) -> float | None:
    """Seconds of an MP4 from its ``moov/mvhd`` header (None where it is not found)."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"moov":
            inner = data[pos + 8 : pos + size]
            at = inner.find(b"mvhd")
            if at < 4:
                return None
            body = inner[at + 4 :]
            if body[:1] == b"\x01" and len(body) >= 32:  # version 1: 64-bit times
                scale, length = struct.unpack(">IQ", body[20:32])
            elif len(body) >= 20:
                scale, length = struct.unpack(">II", body[12:20])
            else:
                return None
            return float(length) / scale if scale else None
        if size < 8:
            return None
        pos += size
    return None


def sniff(head: bytes) -> str | None:
    """Image, audio or PDF; ``text/html`` and ``application/json`` for what an error page looks like."""
    kind = sniff_image(head) or sniff_audio(head)
    if kind:
        return kind
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    start = head.lstrip()[:15].lower()
    if start[:1] == b"<":  # an HTML or XML page: what a login wall or an error page sends
        return "text/html"
    if start[:1] in (b"{", b"["):
        return "application/json"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, GIF, WebP, BMP or JPEG header; None if it cannot be read."""
    kind = sniff_image(data[:32])
    try:
        if kind == "image/png" and data[12:16] == b"IHDR":
            w, h = struct.unpack(">II", data[16:24])
            return int(w), int(h)
        if kind == "image/gif":
            w, h = struct.unpack("<HH", data[6:10])
            return int(w), int(h)
        if kind == "image/bmp":
            w, h = struct.unpack("<ii", data[18:26])
            return int(w), abs(int(h))
        if kind == "image/webp":
            return _webp_size(data)
        if kind == "image/jpeg":
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return int(w) & 0x3FFF, int(h) & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    end = min(len(data), 1 << 20)  # the frame header comes early; never scan a whole file
    while pos + 9 < end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(w), int(h)
        pos += 2 + length
    return None


def audio_duration(data: bytes) -> float | None:
    """Seconds of a PCM WAV file (from its header), or None for other audio."""
    if sniff_audio(data[:12]) != "audio/wav":
        return None
    pos = 12
    byte_rate = 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"fmt " and size >= 16:
            byte_rate = struct.unpack("<I", data[pos + 16 : pos + 20])[0]
        elif chunk == b"data":
            if not byte_rate:
                return None
            size = min(size, len(data) - pos - 8)
            return float(size) / float(byte_rate)
        pos += 8 + size + (size & 1)
    return None


def extension_for(content_type: str) -> str:
    """``.png`` for ``image/png``; ``.bin`` when unknown."""
    return _EXTENSIONS.get(content_type.split(";", 1)[0].strip().lower(), ".bin")


def type_from_name(name: str) -> str | None:
    """The media type a file name or URL path suggests by its extension."""
    base = name.split("?", 1)[0].split("#", 1)[0].lower()
    dot = base.rfind(".")
    return _BY_EXTENSION.get(base[dot:]) if dot >= 0 else None
