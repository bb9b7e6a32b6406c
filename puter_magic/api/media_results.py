"""What image, speech and video calls return, whatever form the reply took.

Puter answers a media call in one of three forms (``puter-protocol.md`` §7): a JSON ``result``
that is a URL string (``https://...`` or ``data:...``), a ``result`` object ``{url,
content_type}`` (where ``content_type`` may be just ``"audio"``), or raw bytes with a non-JSON
Content-Type. :func:`image_result` and :func:`audio_result` accept all three. The bytes behind a
URL are fetched when first needed (``data``, ``save``, a rich display) by a
:class:`~puter_magic.api.fetch.MediaFetcher`, which never sends the token, and are checked to be
what they claim: an "image" that is an HTML page is an error, not a broken picture.

Transcripts and OCR text are in :mod:`.media_text`. The rich displays here are plain mime
bundles (an ``image/*`` bundle, an ``<audio controls>`` player) built without IPython; the
notebook adds footers around them.
"""

from __future__ import annotations

import base64
import binascii
import html
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from .errors import MalformedResponse, PuterError
from .fetch import MAX_MEDIA_BYTES, MediaFetcher
from .humanize import human_size
from .mediatypes import (
    audio_duration,
    image_size,
    sniff,
    sniff_audio,
    sniff_image,
    sniff_video,
    type_from_name,
    video_duration,
)
from .protocol import BinaryResult, media_type

__all__ = [
    "AudioResult",
    "ImageResult",
    "MediaResult",
    "VideoResult",
    "audio_result",
    "image_result",
    "save_atomic",
    "video_result",
]

DISPLAY_LIMIT = 10 * 1024 * 1024  # bytes shown inline; a bigger file is named, not embedded
_LOOKS = {"text/html": "an HTML page", "application/json": "JSON"}


def save_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write *data* to *path* through a temporary file renamed into place: a failure leaves
    no half-written file, and an existing file is replaced whole or not at all."""
    target = Path(path).expanduser()
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    return target


@dataclass(eq=False, repr=False)
class MediaResult:
    """Bytes Puter made, or a URL to them. ``data`` fetches a URL once, without the token."""

    content_type: str | None = None
    url: str | None = None  # an https URL when the reply gave one (never a data: URL)
    _data: bytes | None = field(default=None, repr=False)
    _fetcher: MediaFetcher | None = field(default=None, repr=False)

    kind = "media"

    @property
    def data(self) -> bytes:
        """The bytes (fetched from ``url`` on first use; checked to be what they claim)."""
        if self._data is None:
            if self.url is None:
                raise MalformedResponse(f"the {self.kind} reply holds neither bytes nor a URL")
            body, declared = (self._fetcher or MediaFetcher()).fetch(self.url)
            self._accept(body, declared or self.content_type, f"the {self.kind} at {self.url[:80]}")
            self._data = body
        return self._data

    def _accept(self, data: bytes, label: str | None, where: str) -> None:
        raise NotImplementedError

    @property
    def size(self) -> int | None:
        return None if self._data is None else len(self._data)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the bytes to *path* (atomically; nothing is written if they cannot be had)."""
        return save_atomic(path, self.data)

    def summary(self) -> str:
        """One line for a terminal: type and size, then the URL it came from."""
        head = self.content_type or self.kind
        if self._data is not None:
            head += f", {human_size(len(self._data))}"
        return head + (f"\n{self.url}" if self.url else "")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary()!r})"

    def _loaded(self) -> tuple[bytes | None, str | None]:
        """The bytes for a display, or why they cannot be shown."""
        try:
            data = self.data
        except PuterError as err:
            return None, f"not shown: {err.message}"
        if len(data) > DISPLAY_LIMIT:
            return None, f"too large to show inline ({human_size(len(data))}); use .save(path)"
        return data, None


def _label_check(data: bytes, label: str | None, found: str | None, kind: str, where: str) -> None:
    if found is None:
        looks = _LOOKS.get(sniff(data[:64]) or "", "not a format we know")
        said = f"labelled {label} but " if label else ""
        raise MalformedResponse(
            f"{where} is {said}not {kind} ({looks})",
            hint="the server sent something other than what it announced: run the cell again, or pick "
            "another model",
        )


@dataclass(eq=False, repr=False)
class ImageResult(MediaResult):
    """An image from ``txt2img``: ``data``, ``content_type``, ``url``, ``save(path)``."""

    prompt: str | None = None
    model: str | None = None
    kind = "image"

    def _accept(self, data: bytes, label: str | None, where: str) -> None:
        found = sniff_image(data[:32])
        _label_check(data, label, found, "an image", where)
        self.content_type = found

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height) in pixels, from the image's header."""
        return None if self._data is None else image_size(self._data)

    def summary(self) -> str:
        dims = self.dimensions
        head = self.content_type or "image"
        if dims:
            head += f" {dims[0]}×{dims[1]}"
        if self._data is not None:
            head += f", {human_size(len(self._data))}"
        return head + (f"\n{self.url}" if self.url else "")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data, why = self._loaded()
        if data is None or self.content_type is None:
            return {"text/plain": f"{self.summary()}\n({why})"}
        return {self.content_type: base64.b64encode(data).decode("ascii"), "text/plain": self.summary()}


@dataclass(eq=False, repr=False)
class AudioResult(MediaResult):
    """Speech from ``txt2speech``: ``data``, ``content_type``, ``url``, ``save(path)``."""

    text: str | None = None
    kind = "audio"

    def _accept(self, data: bytes, label: str | None, where: str) -> None:
        found = sniff_audio(data[:16])
        label = media_type(label) or None
        if found is None and label and label.startswith("audio/") and sniff(data[:64]) is None:
            found = label  # raw PCM, Opus in other wrappers...: no signature to check
        _label_check(data, label, found, "audio", where)
        self.content_type = found

    @property
    def duration(self) -> float | None:
        """Seconds, where the format says (WAV)."""
        return None if self._data is None else audio_duration(self._data)

    def summary(self) -> str:
        head = self.content_type or "audio"
        seconds = self.duration
        if seconds is not None:
            head += f" {seconds:.1f} s"
        if self._data is not None:
            head += f", {human_size(len(self._data))}"
        return head + (f"\n{self.url}" if self.url else "")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data, why = self._loaded()
        if data is None:
            return {"text/plain": f"{self.summary()}\n({why})"}
        source = f"data:{self.content_type};base64," + base64.b64encode(data).decode("ascii")
        player = f'<audio controls preload="metadata" src="{html.escape(source)}"></audio>'
        return {"text/html": player, "text/plain": self.summary()}


@dataclass(eq=False, repr=False)
class VideoResult(MediaResult):
    """A video from ``txt2vid``: ``data``, ``content_type``, ``url``, ``save(path)``."""

    prompt: str | None = None
    model: str | None = None
    kind = "video"

    def _accept(self, data: bytes, label: str | None, where: str) -> None:
        found = sniff_video(data[:16])
        _label_check(data, label, found, "a video", where)
        self.content_type = found

    @property
    def duration(self) -> float | None:
        """Seconds, where the file's header says (MP4)."""
        return None if self._data is None else video_duration(self._data[: 4 * 1024 * 1024])

    def summary(self) -> str:
        head = self.content_type or "video"
        seconds = self.duration
        if seconds is not None:
            head += f" {seconds:.1f} s"
        if self._data is not None:
            head += f", {human_size(len(self._data))}"
        return head + (f"\n{self.url}" if self.url else "")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data, why = self._loaded()
        if data is None:
            return {"text/plain": f"{self.summary()}\n({why})"}
        source = f"data:{self.content_type};base64," + base64.b64encode(data).decode("ascii")
        player = (
            f'<video controls preload="metadata" style="max-width: 100%" src="{html.escape(source)}"></video>'
        )
        return {"text/html": player, "text/plain": self.summary()}


def _decode_data_url(url: str, kind: str) -> tuple[bytes, str | None]:
    header, comma, payload = url.partition(",")
    if not comma:
        raise MalformedResponse(f"the {kind} reply is a data: URL without data")
    label = header[5:].split(";", 1)[0].strip().lower() or None
    try:
        data = binascii.a2b_base64(payload) if header.endswith(";base64") else unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise MalformedResponse(f"the {kind} reply's data: URL is not valid base64") from None
    if len(data) > MAX_MEDIA_BYTES:
        raise MalformedResponse(f"the {kind} in the reply is over {human_size(MAX_MEDIA_BYTES)}")
    return data, label


def _media(
    result: Any, cls: type[MediaResult], fetcher: MediaFetcher, secrets: Iterable[str | None], **extra: Any
) -> MediaResult:
    kind = cls.kind
    url: str | None = None
    label: str | None = None
    data: bytes | None = None
    if isinstance(result, BinaryResult):
        data, label = result.content, result.content_type
        if len(data) > MAX_MEDIA_BYTES:
            raise MalformedResponse(f"the {kind} reply is over {human_size(MAX_MEDIA_BYTES)}")
    elif isinstance(result, str) and result.startswith("data:"):
        data, label = _decode_data_url(result, kind)
    elif isinstance(result, str) and result.strip():
        url = result.strip()
    elif isinstance(result, dict):
        found = next(
            (result[k] for k in ("asset_url", "url", "href") if isinstance(result.get(k), str)), None
        )
        label = result.get("content_type") if isinstance(result.get("content_type"), str) else None
        if found is None:
            raise MalformedResponse(f"the {kind} reply is an object without a url")
        if found.startswith("data:"):
            data, inner = _decode_data_url(found, kind)
            label = label or inner
        else:
            url = found
    else:
        raise MalformedResponse(f"the {kind} reply is a {type(result).__name__}, not {kind} or a URL")
    if url is not None and any(secret and secret in url for secret in secrets):
        # Fetching it would send the token to whatever host the reply names; showing it would
        # put the token in the notebook.
        raise MalformedResponse(
            f"the {kind} reply's URL holds your token, so it was neither fetched nor shown"
        )
    out = cls(_fetcher=fetcher, **extra)
    if data is not None:
        out._accept(data, label, f"the {kind} in the reply")
        out._data = data
    else:
        out.url = url
        guess = media_type(label) if label and "/" in label else None
        out.content_type = guess or type_from_name(url or "")
        if kind == "video" and out.content_type == "audio/mp4":  # a .mp4 name, read as a video
            out.content_type = "video/mp4"
    return out


def image_result(
    result: Any,
    fetcher: MediaFetcher,
    *,
    prompt: str | None = None,
    model: str | None = None,
    secrets: Iterable[str | None] = (),
) -> ImageResult:
    """An image from a reply of any form; *secrets* (the token) must not be in its URL."""
    out = _media(result, ImageResult, fetcher, secrets, prompt=prompt, model=model)
    assert isinstance(out, ImageResult)
    return out


def video_result(
    result: Any,
    fetcher: MediaFetcher,
    *,
    prompt: str | None = None,
    model: str | None = None,
    secrets: Iterable[str | None] = (),
) -> VideoResult:
    """A video from a reply of any form; *secrets* (the token) must not be in its URL."""
    out = _media(result, VideoResult, fetcher, secrets, prompt=prompt, model=model)
    assert isinstance(out, VideoResult)
    return out


def audio_result(
    result: Any, fetcher: MediaFetcher, *, text: str | None = None, secrets: Iterable[str | None] = ()
) -> AudioResult:
    """Audio from a reply of any form; *secrets* (the token) must not be in its URL."""
    out = _media(result, AudioResult, fetcher, secrets, text=text)
    assert isinstance(out, AudioResult)
    return out
