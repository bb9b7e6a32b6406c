"""What image, speech, video, transcription and OCR calls return, whatever form the reply took;
the media a reply points to fetched without the token.

Puter answers a media call in one of three forms (``puter-protocol.md`` §7): a JSON ``result``
that is a URL string (``https://...`` or ``data:...``), a ``result`` object ``{url,
content_type}`` (where ``content_type`` may be just ``"audio"``), or raw bytes with a non-JSON
Content-Type. :func:`image_result` and :func:`audio_result` accept all three. The bytes behind a
URL are fetched when first needed (``data``, ``save``, a rich display) by a
:class:`MediaFetcher`, and are checked to be what they claim: an "image" that is an HTML page
is an error, not a broken picture. The rich displays here are plain mime bundles (an
``image/*`` bundle, an ``<audio controls>`` player) built without IPython; the notebook adds
footers around them.

A reply's URL may point anywhere (Puter's sample files, a provider's CDN, a hostile server), so
:class:`MediaFetcher` fetches it with its own plain ``requests`` session that has never seen the
token (no ``Authorization`` header, no cookies, ``trust_env`` off so no ``.netrc`` credentials):

- https only; plain http only to a loopback host, and only when the client itself talks to a
  loopback origin (the sandbox, a self-hosted Puter, tests);
- redirects followed by hand, each hop checked by the same rule, at most three;
- ``(connect, read)`` timeouts and a total deadline; at most ``max_bytes`` read (a bigger
  Content-Length is refused before reading).

:func:`transcript` and :func:`ocr_result` accept every reply shape recorded or documented for
speech-to-text and OCR: a transcription object or a bare string (``response_format:
"text"``); Textract's ``blocks`` or Mistral's ``pages``, ``blocks`` and ``text``.
"""

from __future__ import annotations

import base64
import binascii
import html
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import BaseAdapter

from .._version import __version__
from .errors import Hint, MalformedResponse, PuterConnectionError, PuterError, PuterTimeout
from .humanize import human_size
from .media import (
    audio_duration,
    image_size,
    sniff,
    sniff_audio,
    sniff_image,
    sniff_video,
    type_from_name,
    video_duration,
)
from .origin import is_loopback_host
from .protocol import BinaryResult, media_type, opt_number
from .transport import Timeout, translate

__all__ = [
    "MAX_MEDIA_BYTES",
    "AudioResult",
    "ImageResult",
    "MediaFetcher",
    "MediaResult",
    "OCRResult",
    "Transcript",
    "VideoResult",
    "audio_result",
    "check_media_url",
    "image_result",
    "ocr_result",
    "save_atomic",
    "transcript",
    "video_result",
]


# -- fetching a reply's media, never with the token ----------------------------------------------

MAX_MEDIA_BYTES = 40 * 1024 * 1024
MAX_REDIRECTS = 3
READ_SIZE = 65536


def check_media_url(url: str, *, allow_loopback_http: bool) -> str:
    """*url* if it may be fetched; else MalformedResponse saying why not."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme == "https" and host:
        return url
    if scheme == "http" and host and allow_loopback_http and is_loopback_host(host):
        return url
    shown = url if len(url) <= 80 else url[:77] + "..."
    raise MalformedResponse(
        f"the reply's media URL is not https, so it was not fetched: {shown}",
        hint=Hint.MEDIA_URL_NOT_FETCHED,
    )


class MediaFetcher:
    """Fetches reply URLs without credentials (see the module's docstring)."""

    def __init__(
        self,
        *,
        allow_loopback_http: bool = False,
        timeout: Timeout = (10.0, 60.0),
        total_timeout: float = 180.0,
        max_bytes: int = MAX_MEDIA_BYTES,
        adapters: Mapping[str, BaseAdapter] | None = None,
    ) -> None:
        self.allow_loopback_http = allow_loopback_http
        self.adapters = dict(adapters or {})  # URL prefix -> what answers it (a server in this process)
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"MediaFetcher(max_bytes={self.max_bytes}, loopback_http={self.allow_loopback_http})"

    def fetch(self, url: str) -> tuple[bytes, str | None]:
        """The body at *url* and the Content-Type it was sent with."""
        deadline = time.monotonic() + self.total_timeout
        with requests.Session() as session:
            session.trust_env = False
            for prefix, adapter in self.adapters.items():
                session.mount(prefix, adapter)
            for _ in range(MAX_REDIRECTS + 1):
                check_media_url(url, allow_loopback_http=self.allow_loopback_http)
                host = urlsplit(url).netloc
                try:
                    resp = session.get(
                        url,
                        headers={
                            "User-Agent": f"puter-magic/{__version__}",
                            "Accept": "image/*, audio/*, */*",
                        },
                        timeout=self.timeout,
                        stream=True,
                        allow_redirects=False,
                    )
                except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                    raise translate(exc, host, ()) from exc
                with resp:
                    if resp.is_redirect and resp.headers.get("Location"):
                        url = urljoin(url, resp.headers["Location"])
                        continue
                    if resp.status_code >= 400:
                        raise PuterConnectionError(
                            f"could not download the media from {host}: HTTP {resp.status_code}",
                            hint=Hint.MEDIA_UNUSABLE,
                        )
                    return self._read(resp, host, deadline), resp.headers.get("Content-Type")
        raise PuterConnectionError(
            f"the media URL redirected more than {MAX_REDIRECTS} times", hint=Hint.MEDIA_UNUSABLE
        )

    def _read(self, resp: requests.Response, host: str, deadline: float) -> bytes:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise MalformedResponse(
                f"the media at {host} is {human_size(int(declared))}, over the "
                f"{human_size(self.max_bytes)} this client downloads; nothing was kept",
                hint=Hint.MEDIA_UNUSABLE,
            )
        parts: list[bytes] = []
        size = 0
        try:
            for piece in resp.raw.stream(READ_SIZE, decode_content=True):
                size += len(piece)
                if size > self.max_bytes:
                    raise MalformedResponse(
                        f"the media at {host} is over the {human_size(self.max_bytes)} this client "
                        "downloads; nothing was kept",
                        hint=Hint.MEDIA_UNUSABLE,
                    )
                if time.monotonic() > deadline:
                    raise PuterTimeout(f"downloading the media from {host} took too long")
                parts.append(piece)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise translate(exc, host, ()) from exc
        return b"".join(parts)


# -- images, audio and video ------------------------------------------------------------------------

DISPLAY_LIMIT = 10 * 1024 * 1024  # bytes shown inline; a bigger file is named, not embedded
MAX_URL_SHOWN = 200  # characters of a reply URL in a summary (a footer, text/plain)
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
        """One line for a terminal: type, measure and size, then the URL it came from."""
        head = (self.content_type or self.kind) + self._measure()
        if self._data is not None:
            head += f", {human_size(len(self._data))}"
        return head + self._from()

    def _from(self) -> str:
        """The summary's second line: the URL it came from, bounded (all of it is ``url``)."""
        if not self.url:
            return ""
        url = self.url
        return "\n" + (url if len(url) <= MAX_URL_SHOWN else url[: MAX_URL_SHOWN - 1] + "…")

    def _measure(self) -> str:
        """What the summary says after the type (an image's size, a recording's length), if anything."""
        return ""

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
            hint=Hint.MEDIA_MISLABELLED,
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

    def _measure(self) -> str:
        dims = self.dimensions
        return f" {dims[0]}×{dims[1]}" if dims else ""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data, why = self._loaded()
        if data is None or self.content_type is None:
            return {"text/plain": f"{self.summary()}\n({why})"}
        return {self.content_type: base64.b64encode(data).decode("ascii"), "text/plain": self.summary()}


@dataclass(eq=False, repr=False)
class _Played(MediaResult):
    """Audio or video: its length in the summary, a player (``<audio>``/``<video>``) to show it."""

    _player: ClassVar[str]  # the player's HTML, {} where its escaped data: URL goes

    @property
    def duration(self) -> float | None:
        raise NotImplementedError

    def _measure(self) -> str:
        seconds = self.duration
        return "" if seconds is None else f" {seconds:.1f} s"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data, why = self._loaded()
        if data is None:
            return {"text/plain": f"{self.summary()}\n({why})"}
        source = f"data:{self.content_type};base64," + base64.b64encode(data).decode("ascii")
        return {"text/html": self._player.format(html.escape(source)), "text/plain": self.summary()}


@dataclass(eq=False, repr=False)
class AudioResult(_Played):
    """Speech from ``txt2speech``: ``data``, ``content_type``, ``url``, ``save(path)``."""

    text: str | None = None
    kind = "audio"
    _player = '<audio controls preload="metadata" src="{}"></audio>'

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


@dataclass(eq=False, repr=False)
class VideoResult(_Played):
    """A video from ``txt2vid``: ``data``, ``content_type``, ``url``, ``save(path)``."""

    prompt: str | None = None
    model: str | None = None
    kind = "video"
    _player = '<video controls preload="metadata" style="max-width: 100%" src="{}"></video>'

    def _accept(self, data: bytes, label: str | None, where: str) -> None:
        found = sniff_video(data[:16])
        _label_check(data, label, found, "a video", where)
        self.content_type = found

    @property
    def duration(self) -> float | None:
        """Seconds, where the file's header says (MP4)."""
        return None if self._data is None else video_duration(self._data[: 4 * 1024 * 1024])


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


# -- transcripts and OCR -------------------------------------------------------------------------


@dataclass
class Transcript:
    """What ``speech2txt`` heard: ``text``, and ``segments``/``words`` where the server gave them."""

    text: str
    language: str | None = None
    duration: float | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    words: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    raw: Any = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.text


@dataclass
class OCRResult:
    """What ``img2txt`` read: ``text`` (one line per block), the server's ``blocks`` and ``pages``."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    raw: Any = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.text


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def transcript(result: Any) -> Transcript:
    """A ``transcribe``/``translate`` result: a string (``response_format: text``) or an object."""
    if isinstance(result, str):
        return Transcript(result, raw=result)
    if not isinstance(result, dict) or not isinstance(result.get("text"), str):
        raise MalformedResponse("the transcription reply has no text")
    language = result.get("language")
    model = result.get("model")
    return Transcript(
        result["text"],
        language=language if isinstance(language, str) else None,
        duration=opt_number(result.get("duration_seconds", result.get("duration"))),
        segments=_dicts(result.get("segments")),
        words=_dicts(result.get("words")),
        model=model if isinstance(model, str) else None,
        raw=result,
    )


def ocr_result(result: Any) -> OCRResult:
    """A ``recognize`` result, Textract's (``blocks``) or Mistral's (``pages``, ``blocks``, ``text``).

    The text is built as puter.js builds it: the ``text`` of blocks whose type starts with
    ``text/``, one per line; without such blocks, the pages' Markdown.
    """
    if isinstance(result, str):
        return OCRResult(result, raw=result)
    if not isinstance(result, dict):
        raise MalformedResponse(f"the OCR reply is a {type(result).__name__}, not an object")
    blocks = _dicts(result.get("blocks"))
    pages = _dicts(result.get("pages"))
    lines = [
        b["text"]
        for b in blocks
        if str(b.get("type", "")).startswith("text/") and isinstance(b.get("text"), str)
    ]
    if lines:
        text = "\n".join(lines)
    elif pages:
        text = "\n\n".join(p["markdown"] for p in pages if isinstance(p.get("markdown"), str))
    elif isinstance(result.get("text"), str):
        text = result["text"]
    elif "blocks" in result or "pages" in result:
        text = ""
    else:
        raise MalformedResponse("the OCR reply has neither blocks nor pages")
    model = result.get("model")
    return OCRResult(text, blocks, pages, model if isinstance(model, str) else None, raw=result)
