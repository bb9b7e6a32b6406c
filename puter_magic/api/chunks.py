"""Typed chunks of a streamed reply, the NDJSON parser that makes them, and ChunkStream.

A streamed ``complete`` answers ``application/x-ndjson``: one JSON object a line, no end
marker (EOF ends it), a final ``usage`` line, and on failure an ``error`` line. Unknown
line types are passed through as :class:`UnknownChunk` so that new server features do
not break old clients.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import MalformedResponse, StreamError, redact
from .protocol import usage_limited

if TYPE_CHECKING:
    import requests

__all__ = [
    "Chunk",
    "ChunkStream",
    "ErrorChunk",
    "ImageChunk",
    "ReasoningChunk",
    "ResultChunk",
    "TextChunk",
    "ToolUseChunk",
    "UnknownChunk",
    "UsageChunk",
    "iter_lines",
    "parse_chunk",
    "parse_ndjson",
]


@dataclass(slots=True)
class Chunk:
    """Base of every chunk; ``type`` names the NDJSON line type."""

    type: ClassVar[str] = ""


@dataclass(slots=True)
class TextChunk(Chunk):
    type: ClassVar[str] = "text"
    text: str
    #: Citations riding on the line (web search): ``url_citation`` annotations, as sent.
    annotations: list[Any] | None = None


@dataclass(slots=True)
class ReasoningChunk(Chunk):
    type: ClassVar[str] = "reasoning"
    text: str


@dataclass(slots=True)
class ToolUseChunk(Chunk):
    type: ClassVar[str] = "tool_use"
    id: str | None
    name: str | None
    input: Any


@dataclass(slots=True)
class ImageChunk(Chunk):
    """An image from an image-capable model: ``{"type": "image", "image": {type, image_url: {url}}}``."""

    type: ClassVar[str] = "image"
    image: dict[str, Any]

    def __repr__(self) -> str:  # a data: URL may be megabytes long
        inner = self.image.get("image_url")
        url = inner.get("url") if isinstance(inner, dict) else inner
        text = url if isinstance(url, str) else ""
        return f"ImageChunk(url={text[:40] + '…' if len(text) > 40 else text!r})"


@dataclass(slots=True)
class UsageChunk(Chunk):
    type: ClassVar[str] = "usage"
    usage: dict[str, Any]


@dataclass(slots=True)
class ErrorChunk(Chunk):
    type: ClassVar[str] = "error"
    message: str
    code: str | None = None

    def to_exception(self, secrets: Iterable[str | None] = ()) -> StreamError:
        text = self.message.strip() or "the stream reported an error"
        return StreamError(redact(text, secrets)[:500], status=200, code=self.code)


@dataclass(slots=True)
class ResultChunk(Chunk):
    """The whole result of a method that does not stream (``list``, ``models``...).

    Asked to stream, such a method answers plain JSON; the stream then holds this one chunk,
    whose ``result`` is what :meth:`PuterClient.call` would have returned.
    """

    type: ClassVar[str] = "result"
    result: Any

    def __repr__(self) -> str:  # a result may be a whole catalogue: a bounded preview
        import reprlib

        return f"ResultChunk(result={reprlib.repr(self.result)})"


@dataclass(slots=True)
class UnknownChunk(Chunk):
    """A line of a type this version does not know (``extra_content``, ``compaction``...)."""

    kind: str
    data: dict[str, Any] = field(repr=False)

    @property
    def type(self) -> str:  # type: ignore[override]
        return self.kind


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def parse_chunk(obj: Any) -> Chunk:
    """One decoded NDJSON object as a typed chunk."""
    if not isinstance(obj, dict):
        raise MalformedResponse(f"stream line is a {type(obj).__name__}, not an object")
    kind = obj.get("type")
    if kind == "text":
        annotations = obj.get("annotations")
        return TextChunk(_str(obj.get("text")), annotations if isinstance(annotations, list) else None)
    if kind == "usage":
        usage = obj.get("usage")
        return UsageChunk(usage if isinstance(usage, dict) else {})
    if kind == "reasoning":
        return ReasoningChunk(_str(obj.get("reasoning", obj.get("text"))))
    if kind == "tool_use":
        name = obj.get("name")
        ident = obj.get("id")
        return ToolUseChunk(
            ident if isinstance(ident, str) else None,
            name if isinstance(name, str) else None,
            obj.get("input"),
        )
    if kind == "result":  # our own marker for a JSON answer to a stream request (see ResultChunk)
        return ResultChunk(obj.get("result"))
    if kind == "image" and isinstance(obj.get("image"), dict):
        return ImageChunk(obj["image"])
    if kind == "error":
        code = obj.get("code")
        message = obj.get("message", obj.get("error"))
        if isinstance(message, dict):
            code = code or message.get("code")
            message = message.get("message")
        return ErrorChunk(_str(message), code if isinstance(code, str) else None)
    return UnknownChunk(_str(kind), obj)


MAX_LINE = 16 * 1024 * 1024


def iter_lines(pieces: Iterable[bytes], max_line: int = MAX_LINE) -> Iterator[bytes]:
    """Split a byte stream into lines (without ``\\n``/``\\r\\n``), dropping blank ones.

    Works on pieces of any size as they arrive, so a line is yielded as soon as its
    newline is read; a last line with no newline is yielded at EOF. A line longer than
    *max_line* bytes raises MalformedResponse (a server that never ends its line).
    """
    pending = b""
    for piece in pieces:
        if not piece:
            continue
        if pending:
            piece = pending + piece
        lines = piece.split(b"\n")
        pending = lines.pop()
        if len(pending) > max_line:
            raise MalformedResponse(f"a stream line is longer than {max_line:,} bytes")
        for line in lines:
            if line.strip():
                yield line
    if pending.strip():
        yield pending


def parse_ndjson(
    lines: Iterable[bytes], *, strict: bool = True, on_limited: Callable[[], None] | None = None
) -> Iterator[Chunk]:
    """Chunks from NDJSON lines. A line that is not JSON raises :class:`MalformedResponse`
    (or is skipped when ``strict`` is False: servers never send one, proxies might).
    *on_limited* is called for a line that says the allowance is used up (:func:`usage_limited`)."""
    loads = json.loads
    for line in lines:
        try:
            obj = loads(line)
        except (ValueError, RecursionError):
            if strict:
                raise MalformedResponse(
                    "a stream line is not valid JSON: " + line[:80].decode("utf-8", "replace")
                ) from None
            continue
        # Fast path for the line type that makes up almost every stream.
        if type(obj) is dict and len(obj) == 2 and obj.get("type") == "text" and type(obj.get("text")) is str:
            yield TextChunk(obj["text"])
        else:
            if on_limited is not None and usage_limited(obj):
                on_limited()
            yield parse_chunk(obj)


class ChunkStream:
    """An open streamed reply: iterate it for typed chunks.

    Closing it (``close()``, leaving a ``with`` block, or dropping it) closes the
    connection, which frees the server's concurrency slot. It is never replayed.
    """

    def __init__(
        self,
        chunks: Generator[Chunk, None, None],
        content_type: str,
        *,
        response: requests.Response | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.response = response
        self.content_type = content_type
        self._chunks = chunks
        self._on_close = on_close
        self.closed = False

    def __iter__(self) -> ChunkStream:
        return self

    def __next__(self) -> Chunk:
        return next(self._chunks)

    def close(self) -> None:
        """Stop reading and close the connection."""
        if self.closed:
            return
        self.closed = True
        if self.response is not None:
            # Wake a read blocked in another thread (an interrupt), then close.
            with contextlib.suppress(AttributeError, ValueError, RuntimeError, OSError):
                self.response.raw.shutdown()
        with contextlib.suppress(ValueError):  # "generator already executing"
            self._chunks.close()
        if self.response is not None:
            self.response.close()
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> ChunkStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<ChunkStream {self.content_type or 'unknown'} {state}>"
