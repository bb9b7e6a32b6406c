"""Media inputs: whatever a user has (a path, bytes, a file object, a URL, a PIL image, a
matplotlib figure, a Puter path) turned into what Puter's drivers accept, checked first.

Puter's ``/drivers/call`` takes no multipart and no raw bytes: a local file goes in as a
``data:`` URL, a remote one as an https URL the server fetches, a file in the user's Puter
storage as a path (see ``puter-protocol.md`` §7 "File inputs"). Every limit is checked
before anything is read in full or sent, and every refusal names the limit:

- speech-to-text: 25 MB (the server's 26,214,400 bytes);
- OCR: 10 MB (puter.js refuses bigger data URLs before sending);
- images in a chat message: 36 MB in all (base64 adds a third; the JSON body stops at 50 MB).

PIL and matplotlib are never imported: an object is used as one when it behaves like one.

What a run of bytes is, is decided by looking at its first bytes (:func:`sniff`), here for
inputs and in :mod:`.media_results` for replies: media labels lie (a ``data:image/png`` URL
that holds an HTML page, an ``image/png`` download that is a login page, a bare
``content_type: "audio"``). Only a header is read: the size of an image, the length of a
WAV file.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from .chat import Messages, normalize_messages
from .humanize import human_size
from .protocol import BinaryResult

__all__ = [
    "AUDIO_TYPES",
    "IMAGE_LIMIT",
    "IMAGE_TYPES",
    "OCR_LIMIT",
    "SPEECH_LIMIT",
    "TTS_TEXT_LIMIT",
    "VOICE_LIMIT",
    "Limit",
    "MediaInput",
    "MediaInputError",
    "PuterPath",
    "attach_images",
    "audio_duration",
    "data_url",
    "extension_for",
    "image_parts",
    "image_size",
    "load_input",
    "ratio_arg",
    "sniff",
    "sniff_audio",
    "sniff_image",
    "sniff_video",
    "type_from_name",
    "video_duration",
    "with_images",
]

MB = 1024 * 1024


class MediaInputError(ValueError):
    """An input refused before anything was sent: missing, unreadable, of the wrong kind or too big."""


@dataclass(frozen=True)
class Limit:
    size: int  # bytes
    label: str  # how people say it: "25 MB"
    what: str  # "speech-to-text"


SPEECH_LIMIT = Limit(25 * MB, "25 MB", "speech-to-text")
VOICE_LIMIT = Limit(25 * MB, "25 MB", "the voice changer")  # speech-to-speech's own, the same size
OCR_LIMIT = Limit(10 * MB, "10 MB", "OCR")
IMAGE_LIMIT = Limit(36 * MB, "36 MB", "the images of one chat message (Puter's request limit is 50 MB)")
TTS_TEXT_LIMIT = 3000  # characters; puter.js refuses more before sending

_KINDS = {
    "image": ("an image", "PNG, JPEG, GIF or WebP"),
    "document": ("an image or a PDF", "PNG, JPEG, GIF, WebP or PDF"),
    "audio": ("audio", "WAV, MP3, OGG, FLAC, M4A or WebM"),
}


@dataclass(frozen=True)
class PuterPath:
    """A file in the user's Puter storage, e.g. ``PuterPath("~/Desktop/scan.png")``.

    The string form ``"puter:~/Desktop/scan.png"`` means the same wherever an input is taken.
    """

    path: str

    def __str__(self) -> str:
        return f"puter:{self.path}"


@dataclass(frozen=True)
class MediaInput:
    """One input, ready for ``args``: a data URL, an https URL, or a Puter path."""

    value: Any  # str, or a {"path"|"uid"|"uuid": ...} object
    kind: str  # "data", "url" or "puter"
    content_type: str | None
    size: int | None  # bytes, where known before sending
    name: str  # what to call it in messages: a file name, "bytes", a URL, a Puter path

    def describe(self) -> str:
        bits = [self.name]
        if self.content_type:
            bits.append(self.content_type)
        if self.size is not None:
            bits.append(human_size(self.size))
        return ", ".join(bits)


def data_url(data: bytes, content_type: str) -> str:
    """``data:<type>;base64,...``: one base64 pass, no intermediate copies kept."""
    return f"data:{content_type};base64," + base64.b64encode(data).decode("ascii")


def _check_size(size: int, name: str, limit: Limit | None) -> None:
    if limit is not None and size > limit.size:
        raise MediaInputError(
            f"{name} is {human_size(size)}, over Puter's {limit.label} limit for {limit.what} "
            f"({limit.size:,} bytes); nothing was sent"
        )


def _check_kind(head: bytes, name: str, accept: str, hint: str | None) -> str:
    """The media type of bytes starting with *head*, if it is of the accepted kind."""
    found = sniff(head)
    if accept == "image" and found in IMAGE_TYPES:
        return found
    if accept == "document" and (found in IMAGE_TYPES or found == "application/pdf"):
        return found
    if accept == "audio":
        audio = sniff_audio(head)
        if audio:
            return audio
        if found is None and hint and hint.startswith("audio/"):
            return hint  # raw formats (PCM, AMR...) have no signature: trust the name
    if accept == "any":
        return found or hint or "application/octet-stream"
    article, formats = _KINDS[accept]
    looks = {"text/html": "an HTML or XML page", "application/json": "JSON"}.get(found or "", found)
    seems = f"it looks like {looks}" if looks else "its first bytes are not a format we know"
    raise MediaInputError(f"{name} is not {article} Puter can read ({formats}): {seems}")


def _from_bytes(
    data: bytes, name: str, accept: str, limit: Limit | None, hint: str | None = None
) -> MediaInput:
    _check_size(len(data), name, limit)
    if not data:
        raise MediaInputError(f"{name} is empty")
    content_type = _check_kind(data[:64], name, accept, hint)
    return MediaInput(data_url(data, content_type), "data", content_type, len(data), name)


def _from_data_url(url: str, accept: str, limit: Limit | None) -> MediaInput:
    header, comma, payload = url.partition(",")
    if not comma:
        raise MediaInputError("a data: URL needs a comma before its data")
    label = header[5:].split(";", 1)[0].strip().lower() or None
    name = f"the data: URL ({label or 'no type'})"
    if header.endswith(";base64"):
        padding = len(payload) - len(payload.rstrip("="))
        size = len(payload) * 3 // 4 - padding
        try:
            head = base64.b64decode(payload[:88], validate=True)
        except (binascii.Error, ValueError):
            raise MediaInputError(f"{name} is not valid base64") from None
    else:
        head = unquote_to_bytes(payload[:256])
        size = len(unquote_to_bytes(payload)) if limit is not None else len(payload)
    _check_size(size, name, limit)
    content_type = _check_kind(head[:64], name, accept, label)
    return MediaInput(url, "data", content_type, size, name)


def _from_url(url: str) -> MediaInput:
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise MediaInputError(
            f"a media URL must be https:// (got {url[:80]!r}); download it and give the file instead"
        )
    return MediaInput(url, "url", type_from_name(parts.path), None, url)


def _from_path(path: Path, accept: str, limit: Limit | None) -> MediaInput:
    name = path.name or str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MediaInputError(f"no such file: {path}") from None
    except OSError as exc:
        raise MediaInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise MediaInputError(f"{path} is a folder, not a file")
    _check_size(size, name, limit)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _from_bytes(data, name, accept, limit, type_from_name(name))


def _from_file_object(handle: Any, accept: str, limit: Limit | None) -> MediaInput:
    name = os.path.basename(str(getattr(handle, "name", "") or "")) or "the file object"
    data = handle.read(limit.size + 1 if limit is not None else -1)
    if isinstance(data, str):
        raise MediaInputError(f"{name} was opened as text: open it with 'rb'")
    if not isinstance(data, (bytes, bytearray)):
        raise MediaInputError(f"{name}.read() gave {type(data).__name__}, not bytes")
    if limit is not None and len(data) > limit.size:
        raise MediaInputError(
            f"{name} is over Puter's {limit.label} limit for {limit.what} ({limit.size:,} bytes); "
            "nothing was sent"
        )
    return _from_bytes(bytes(data), name, accept, limit, type_from_name(name))


def _rendered(source: Any) -> bytes | None:
    """PNG bytes of a PIL image or a matplotlib figure (or axes), duck-typed; else None."""
    figure = source if hasattr(source, "savefig") else getattr(source, "figure", None)
    if figure is not None and hasattr(figure, "savefig"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()
    if all(hasattr(source, a) for a in ("save", "mode", "size")) and not isinstance(source, (str, bytes)):
        buffer = io.BytesIO()
        source.save(buffer, format="PNG")
        return buffer.getvalue()
    return None


def load_input(source: Any, *, accept: str = "any", limit: Limit | None = None) -> MediaInput:
    """Turn *source* into a :class:`MediaInput`, or raise :class:`MediaInputError` saying why not.

    *accept* is ``"image"``, ``"document"`` (image or PDF), ``"audio"`` or ``"any"``; bytes are
    checked to be that by their first bytes, whatever their name or label says.
    """
    if isinstance(source, PuterPath):
        return MediaInput(source.path, "puter", type_from_name(source.path), None, str(source))
    if isinstance(source, Mapping) and any(k in source for k in ("path", "uid", "uuid")):
        return MediaInput(dict(source), "puter", None, None, f"puter:{next(iter(source.values()))}")
    if isinstance(source, BinaryResult):
        return _from_bytes(
            source.content, f"the {source.content_type} reply", accept, limit, source.content_type
        )
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(source), "the bytes", accept, limit)
    if isinstance(source, str):
        text = source.strip()
        if text.startswith("data:"):
            return _from_data_url(text, accept, limit)
        if text.startswith("puter:"):
            return load_input(PuterPath(text[6:]), accept=accept, limit=limit)
        if "://" in text[:12]:
            return _from_url(text)
        return _from_path(Path(text).expanduser(), accept, limit)
    if isinstance(source, os.PathLike):
        return _from_path(Path(os.fspath(source)).expanduser(), accept, limit)
    content_type, data = getattr(source, "content_type", None), None
    if isinstance(content_type, str) and hasattr(type(source), "data"):
        data = source.data  # an ImageResult or AudioResult of ours (fetched if it is a URL)
    elif callable(getattr(source, "read", None)):
        return _from_file_object(source, accept, limit)
    else:
        data = _rendered(source)
    if isinstance(data, bytes):
        return _from_bytes(data, f"the {type(source).__name__}", accept, limit, content_type)
    article = _KINDS.get(accept, ("media", ""))[0]
    kind = type(source).__name__
    kind = ("an " if kind[:1].lower() in "aeiou" else "a ") + kind
    raise MediaInputError(
        f"cannot send {kind} as {article}: give a file path, bytes, a file object, an https:// or "
        "data: URL, a Puter path, a PIL image or a matplotlib figure"
    )


def image_parts(images: Iterable[Any]) -> list[dict[str, Any]]:
    """Chat content parts for *images* (``image_url`` parts; a Puter path becomes a ``file``
    part), refused before sending if one is no image or all of them are over the limit."""
    parts: list[dict[str, Any]] = []
    total = 0
    for image in images:
        item = load_input(image, accept="image", limit=IMAGE_LIMIT)
        total += item.size or 0
        _check_size(total, "the images together", IMAGE_LIMIT)
        if item.kind == "puter":
            path = item.value.get("path") if isinstance(item.value, dict) else item.value
            parts.append({"type": "file", "puter_path": path})
        else:
            parts.append({"type": "image_url", "image_url": {"url": item.value}})
    return parts


def attach_images(messages: list[dict[str, Any]], parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """*messages* with *parts* added to the last user message's content (the list form)."""
    if not parts:
        return messages
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role", "user") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}] if content else []
        elif isinstance(content, dict):
            content = [content]
        elif not isinstance(content, list):
            content = []
        messages[index] = {**message, "content": [*content, *parts]}
        return messages
    return [*messages, {"role": "user", "content": list(parts)}]


def with_images(messages: Messages, images: Sequence[Any]) -> list[dict[str, Any]]:
    """*messages* with *images* added to the last user message as content parts."""
    return attach_images(normalize_messages(messages), image_parts(images))


def ratio_arg(ratio: Any) -> dict[str, int]:
    """``{"w": 16, "h": 9}`` from ``"16:9"``, ``(16, 9)`` or such a dict."""
    if isinstance(ratio, Mapping):
        w, h = ratio.get("w"), ratio.get("h")
    elif isinstance(ratio, str):
        w, _, h = ratio.replace("x", ":").replace("/", ":").partition(":")
    elif isinstance(ratio, (tuple, list)) and len(ratio) == 2:
        w, h = ratio
    else:
        w = h = None
    try:
        width, height = int(str(w)), int(str(h))
    except ValueError:
        width = height = 0
    if width <= 0 or height <= 0:
        raise MediaInputError(f"a ratio is W:H with two whole numbers, e.g. 16:9 (got {ratio!r})")
    return {"w": width, "h": height}


# -- what a run of bytes is, from its first bytes ------------------------------------------------

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
