"""Open streamed replies: ChunkStream (typed chunks from any source) and ChatStream."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

from .errors import MalformedResponse, StreamError
from .protocol import (
    NDJSON_TYPE,
    ChatReply,
    chat_reply,
    is_json_type,
    is_web_page,
    media_type,
    result_from_json,
    website_error,
)
from .stream import (
    Chunk,
    ErrorChunk,
    ReasoningChunk,
    TextChunk,
    ToolUseChunk,
    UnknownChunk,
    UsageChunk,
    iter_lines,
    parse_ndjson,
)

if TYPE_CHECKING:
    import requests

    from .transport import Transport

__all__ = ["ChatStream", "ChunkStream", "http_chunks"]

LineTap = Callable[[float, bytes], None]


def http_chunks(
    response: requests.Response, transport: Transport, deadline: float | None, tap: LineTap | None = None
) -> Generator[Chunk, None, None]:
    """Chunks of an HTTP reply to a stream request; *tap* sees each NDJSON line as it arrives."""
    content_type = media_type(response.headers.get("Content-Type"))
    if content_type in (NDJSON_TYPE, ""):
        lines: Iterator[bytes] = iter_lines(transport.iter_pieces(response, deadline))
        if tap is not None:
            lines = _tapped(lines, tap)
        count = 0
        for chunk in parse_ndjson(lines):
            count += 1
            yield chunk
        if count == 0:  # Puter always ends a stream with a usage line
            raise MalformedResponse("the stream ended without sending anything", status=200)
        return
    if not is_json_type(content_type):
        response.close()
        if is_web_page(content_type):
            raise website_error(transport.origin.url, transport.origin.api_url())
        raise MalformedResponse(
            f"expected a stream (application/x-ndjson) but got {content_type}", status=200
        )
    # The server answered a stream request with plain JSON (an older server, a gateway
    # that buffers, or an older-generation HTTP 200 error): read it whole.
    body = transport.read_body(response, deadline=deadline)
    result = result_from_json(body, secrets=transport.secrets())
    try:
        reply = chat_reply(result)
    except MalformedResponse:
        yield UnknownChunk("result", {"type": "result", "result": result})
        return
    objects: list[dict[str, Any]] = []
    if reply.reasoning:
        objects.append({"type": "reasoning", "reasoning": reply.reasoning})
    if reply.text:
        objects.append({"type": "text", "text": reply.text})
    objects.append({"type": "usage", "usage": reply.usage})
    import json

    encoded = [json.dumps(o).encode() for o in objects]
    yield from parse_ndjson(_tapped(iter(encoded), tap) if tap else iter(encoded))


def _tapped(lines: Iterator[bytes], tap: LineTap) -> Iterator[bytes]:
    started = time.monotonic()
    for line in lines:
        tap(time.monotonic() - started, line)
        yield line


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


class ChatStream:
    """A streamed chat reply: iterate for chunks as they arrive; the reply builds up.

    ``text``, ``reasoning``, ``usage`` and ``tool_calls`` grow while you iterate. An
    ``error`` line raises :class:`~puter_magic.errors.StreamError` (the partial text stays
    in ``text``). Unknown chunk types are yielded as they are. ``reply()`` drains the rest
    and returns a :class:`ChatReply`.
    """

    def __init__(self, chunks: ChunkStream, model: str | None, secrets: tuple[str | None, ...]):
        self._chunks = chunks
        self.model = model
        self._secrets = secrets
        self._parts: list[str] = []
        self.reasoning = ""
        self.usage: dict[str, Any] = {}
        self.tool_calls: list[dict[str, Any]] = []
        self.done = False
        self.error: StreamError | None = None

    @property
    def text_length(self) -> int:
        """How many text pieces have arrived (cheap: no joining)."""
        return len(self._parts)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def __iter__(self) -> Iterator[Chunk]:
        for chunk in self._chunks:
            if type(chunk) is TextChunk:
                self._parts.append(chunk.text)
            elif isinstance(chunk, UsageChunk):
                self.usage = chunk.usage
            elif isinstance(chunk, ReasoningChunk):
                self.reasoning += chunk.text
            elif isinstance(chunk, ToolUseChunk):
                self.tool_calls.append({"id": chunk.id, "name": chunk.name, "input": chunk.input})
            elif isinstance(chunk, ErrorChunk):
                self.error = chunk.to_exception(self._secrets)
                self.close()
                raise self.error
            elif isinstance(chunk, UnknownChunk) and chunk.kind == "result":
                self.close()
                raise MalformedResponse("the server answered a chat with something that is not a chat reply")
            yield chunk
        self.done = True

    def reply(self) -> ChatReply:
        """Read to the end (if not already) and return the whole reply."""
        for _ in self:
            pass
        return ChatReply(
            text=self.text,
            model=self.model,
            usage=dict(self.usage),
            reasoning=self.reasoning,
            tool_calls=list(self.tool_calls),
        )

    def close(self) -> None:
        self._chunks.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ChatStream model={self.model!r} chars={len(self.text)} done={self.done}>"
