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

One thing, read best whole (about 300 lines): every input kind, and its limit, in one place.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from .humanize import human_size
from .mediatypes import IMAGE_TYPES, sniff, sniff_audio, sniff_image, type_from_name
from .protocol import BinaryResult

__all__ = [
    "IMAGE_LIMIT",
    "OCR_LIMIT",
    "SPEECH_LIMIT",
    "TTS_TEXT_LIMIT",
    "Limit",
    "MediaInput",
    "MediaInputError",
    "PuterPath",
    "attach_images",
    "data_url",
    "image_parts",
    "load_input",
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


def is_image(data: bytes) -> bool:
    return sniff_image(data[:32]) is not None
