"""Where a driver call goes: the :class:`Wire` interface, :class:`Network`, which sends over
HTTP, and :class:`TapeWire`, a recording layered over the network. PuterClient sends every
request through one Wire.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from .chat import ChatReply, chat_reply
from .chunks import Chunk, ChunkStream, iter_lines, parse_ndjson
from .errors import MalformedResponse, PuterError
from .protocol import (
    CHAT_INTERFACE,
    NDJSON_TYPE,
    BinaryResult,
    is_json_type,
    is_web_page,
    media_type,
    result_from_json,
    website_error,
)

if TYPE_CHECKING:
    import requests

    from .tape import Tape
    from .transport import Transport

__all__ = ["LineTap", "Network", "TapeWire", "Wire", "http_chunks"]

CALL_PATH = "/drivers/call"
LineTap = Callable[[float, bytes], None]


class Wire(Protocol):
    """What the client sends through: a driver call answered whole or as a stream, and a GET."""

    def result(self, body: dict[str, Any]) -> Any:
        """The ``result`` of a driver call (a :class:`BinaryResult` for a non-JSON reply)."""

    def stream(self, body: dict[str, Any], tap: LineTap | None = None) -> ChunkStream:
        """A driver call answered as a stream; *tap* sees each NDJSON line as it arrives."""

    def get(self, path: str) -> Any:
        """A GET of an API route that answers JSON without an envelope (``/whoami``)."""


class Network:
    """The Wire that talks HTTP through one :class:`~puter_magic.api.transport.Transport`."""

    def __init__(
        self,
        transport: Transport,
        *,
        require_token: Callable[[], None],
        deadline: Callable[[], float | None],
    ) -> None:
        self.transport = transport
        self._require_token = require_token
        self._deadline = deadline
        #: Set when a reply said the account's allowance is used up (``metadata.usage_limited``).
        self.limited = threading.Event()

    def secrets(self) -> tuple[str | None, ...]:
        return self.transport.secrets()

    def result(self, body: dict[str, Any]) -> Any:
        self._require_token()
        deadline = self._deadline()
        resp = self.transport.request("POST", CALL_PATH, body)
        content_type = resp.headers.get("Content-Type")
        data = self.transport.read_body(resp, deadline=deadline)
        if is_json_type(content_type) or (not content_type and data.lstrip()[:1] in (b"{", b"[")):
            return result_from_json(
                data, status=resp.status_code, secrets=self.secrets(), on_limited=self.limited.set
            )
        if is_web_page(content_type):  # no driver answers HTML: this is a website
            raise website_error(self.transport.origin.url, self.transport.origin.api_url(), resp.status_code)
        return BinaryResult(data, media_type(content_type) or "application/octet-stream")

    def stream(self, body: dict[str, Any], tap: LineTap | None = None) -> ChunkStream:
        self._require_token()
        requested = time.monotonic()  # lines are timed from here, the wait to start included
        resp = self.transport.request("POST", CALL_PATH, body, accept=f"{NDJSON_TYPE}, application/json")
        content_type = media_type(resp.headers.get("Content-Type"))
        chat = body.get("interface") == CHAT_INTERFACE and body.get("method") == "complete"
        chunks = http_chunks(
            resp,
            self.transport,
            self._deadline(),
            tap,
            chat=chat,
            started=requested,
            on_limited=self.limited.set,
        )
        return ChunkStream(chunks, content_type, response=resp)

    def get(self, path: str) -> Any:
        self._require_token()
        resp = self.transport.request("GET", path)
        data = self.transport.read_body(resp, deadline=self._deadline())
        if is_web_page(resp.headers.get("Content-Type"), data):
            raise website_error(self.transport.origin.url, self.transport.origin.api_url(), resp.status_code)
        return result_from_json(data, status=resp.status_code, secrets=self.secrets(), envelope=False)


def http_chunks(
    response: requests.Response,
    transport: Transport,
    deadline: float | None,
    tap: LineTap | None = None,
    *,
    chat: bool = True,
    started: float | None = None,
    on_limited: Callable[[], None] | None = None,
) -> Generator[Chunk, None, None]:
    """Chunks of an HTTP reply to a stream request; *tap* sees each NDJSON line as it arrives,
    with its time since *started* (when the request was sent: so the wait for the reply to
    start is in the first line's time), or since the first read if not given.

    A plain JSON answer becomes the chunks of a chat reply when *chat* and it reads as one,
    else one :class:`ResultChunk` (a method that does not stream).
    """
    content_type = media_type(response.headers.get("Content-Type"))
    if content_type in (NDJSON_TYPE, ""):
        lines: Iterator[bytes] = iter_lines(transport.iter_pieces(response, deadline))
        if tap is not None:
            lines = _tapped(lines, tap, started)
        count = 0
        for chunk in parse_ndjson(lines, on_limited=on_limited):
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
    # that buffers, an older-generation HTTP 200 error, or a method that does not stream).
    body = transport.read_body(response, deadline=deadline)
    result = result_from_json(body, secrets=transport.secrets(), on_limited=on_limited)
    reply: ChatReply | None = None
    if chat:
        with contextlib.suppress(MalformedResponse):
            reply = chat_reply(result)
    objects: list[dict[str, Any]] = []
    if reply is None:
        objects.append({"type": "result", "result": result})
    else:
        if reply.reasoning:
            objects.append({"type": "reasoning", "reasoning": reply.reasoning})
        if reply.text:
            objects.append({"type": "text", "text": reply.text})
        objects.extend({"type": "image", "image": image} for image in reply.images)
        objects.append({"type": "usage", "usage": reply.usage})
    encoded = [json.dumps(o).encode() for o in objects]
    yield from parse_ndjson(_tapped(iter(encoded), tap, started) if tap else iter(encoded))


def _tapped(lines: Iterator[bytes], tap: LineTap, started: float | None = None) -> Iterator[bytes]:
    if started is None:
        started = time.monotonic()
    for line in lines:
        tap(time.monotonic() - started, line)
        yield line


class TapeWire:
    """A :class:`~puter_magic.api.wire.Wire` that records to, or replays from, a :class:`Tape`.

    Replaying, a request the tape holds is answered from it; one it does not hold raises
    :class:`ReplayMiss`, or goes to *inner* with ``fallthrough``. Recording, every request
    goes to *inner* and its reply is written: a result, a binary body, a server's error,
    or a stream that ran to its end (timeouts and network failures are not written).
    """

    def __init__(self, tape: Tape, inner: Wire, secrets: Callable[[], tuple[str | None, ...]]) -> None:
        self.tape = tape
        self.inner = inner
        self._secrets = secrets

    def _recorded(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The tape's entry for *body* when replaying (None: ask *inner*)."""
        if self.tape.mode != "replay":
            return None
        entry = self.tape.lookup(body)
        if entry is None and not self.tape.fallthrough:
            raise self.tape.miss(body)
        return entry

    def _record_errors(self, body: dict[str, Any], ask: Callable[[], Any]) -> Any:
        try:
            return ask()
        except PuterError as err:
            if self.tape.mode == "record":
                self.tape.record_error(body, err, self._secrets())
            raise

    def result(self, body: dict[str, Any]) -> Any:
        entry = self._recorded(body)
        if entry is not None:
            return self.tape.replay_result(entry)
        result = self._record_errors(body, lambda: self.inner.result(body))
        if self.tape.mode == "record":
            if isinstance(result, BinaryResult):
                self.tape.record_binary(body, result.content, result.content_type, self._secrets())
            else:
                self.tape.record_result(body, result, self._secrets())
        return result

    def get(self, path: str) -> Any:
        body = {"interface": "http", "method": f"GET {path}"}
        entry = self._recorded(body)
        if entry is not None:
            return self.tape.replay_result(entry)
        result = self._record_errors(body, lambda: self.inner.get(path))
        if self.tape.mode == "record":
            self.tape.record_result(body, result, self._secrets())
        return result

    def stream(self, body: dict[str, Any], tap: LineTap | None = None) -> ChunkStream:
        entry = self._recorded(body)
        if entry is not None:
            stop = threading.Event()
            return ChunkStream(self.tape.replay_chunks(entry, stop), NDJSON_TYPE, on_close=stop.set)
        if self.tape.mode != "record":
            return self.inner.stream(body, tap)
        lines: list[tuple[float, bytes]] = []

        def keep(offset: float, line: bytes) -> None:
            lines.append((offset, line))
            if tap is not None:
                tap(offset, line)

        opened: ChunkStream = self._record_errors(body, lambda: self.inner.stream(body, keep))

        def recorded() -> Generator[Chunk, None, None]:
            yield from opened
            self.tape.record_stream(body, lines, self._secrets())  # only a stream that ran to its end

        return ChunkStream(recorded(), opened.content_type, on_close=opened.close)
